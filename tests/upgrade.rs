//! Binary upgrade: `USR2` starts the binary on disk as a new master on the old one's
//! sockets, `WINCH` stops the old workers, `QUIT` ends the old master — under 16
//! keep-alive clients posting for 20 s, not one request fails and every 201 is a row.
//! A broken new binary leaves the old master serving; `HUP` after `WINCH` takes the
//! old master back.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use support::http::exchange_unix;
use support::load::{join_keepalive_clients, keepalive_client};
use support::server::WorkerEvent;
use support::{
    assert_created, form_request, pid_gone, poll_until, signal_pid, Server, Signal, TestDb,
};

/// Keep-alive clients posting during the whole run.
const CLIENTS: usize = 16;
/// The run's length, from the clients' start (the operations acceptance's 20 s).
const RUN: Duration = Duration::from_secs(20);
/// The rollback test's shorter run.
const SHORT_RUN: Duration = Duration::from_secs(6);
/// Longest wait for one step of the upgrade.
const STEP: Duration = Duration::from_secs(30);

#[test]
fn upgrade_loses_nothing_evloop() {
    upgrade_loses_nothing("evloop");
}

#[test]
fn upgrade_loses_nothing_threads() {
    upgrade_loses_nothing("threads");
}

#[test]
fn failed_upgrade_keeps_serving_evloop() {
    failed_upgrade_keeps_serving("evloop");
}

#[test]
fn failed_upgrade_keeps_serving_threads() {
    failed_upgrade_keeps_serving("threads");
}

/// USR2, WINCH, QUIT in the middle of the run: 0 failed, rows = 201s, the pid file
/// follows the masters, and the new master serves alone at the end.
fn upgrade_loses_nothing(mode: &str) {
    let db = TestDb::fresh();
    let binary = Binary::copy();
    let mut old = binary.start(&db, mode);
    let load = Load::start(old.port, &db, RUN);
    let old_workers = old.worker_pids();

    old.signal(Signal::SIGUSR2);
    let new = Successor::from_log(&old);
    wait_for_new_workers(&old, &old_workers, 2);
    assert_eq!(
        binary.pid_file_names(),
        Some(new.0),
        "the new master has the pid file"
    );
    assert_eq!(
        binary.read(&binary.pid_file_aside()),
        Some(old.pid()),
        "the old one's moved aside"
    );

    old.signal(Signal::SIGWINCH);
    for pid in old_workers.keys() {
        old.wait_for_line(
            |l| l.contains(&format!("pid {pid} exited with status 0")),
            STEP,
        );
    }
    load.wait_for_more_rows(&db, 200);
    old.signal(Signal::SIGQUIT);
    assert!(old.wait_exit(STEP).success(), "{:?}", old.lines());
    assert!(
        !binary.pid_file_aside().exists(),
        "removed by the old master"
    );
    load.wait_for_more_rows(&db, 200);
    // The old master left the Unix socket's file to the new one, which serves on it.
    let resp = exchange_unix(&binary.socket(), &form_request("after", "the old master"))
        .expect("the Unix socket still answers");
    assert_created(&resp, "after", "the old master");

    load.finish_plus(&db, 1);
    new.stop();
    assert!(
        binary.pid_file_names().is_none(),
        "removed by the new master"
    );
    assert!(!binary.socket().exists(), "removed by the new master");
}

/// The binary on disk is broken when USR2 comes: the new master exits at once, the old
/// one says so, keeps its workers and its pid file, and no request fails.
fn failed_upgrade_keeps_serving(mode: &str) {
    let db = TestDb::fresh();
    let binary = Binary::copy();
    let mut old = binary.start(&db, mode);
    let load = Load::start(old.port, &db, RUN);
    let workers = old.worker_pids();

    binary.replace_with_broken();
    old.signal(Signal::SIGUSR2);
    old.wait_for_line(
        |l| l.contains("upgrade failed: new master pid") && l.contains("exited with status 1"),
        STEP,
    );
    assert_eq!(binary.pid_file_names(), Some(old.pid()), "taken back");
    assert!(!binary.pid_file_aside().exists());
    load.wait_for_more_rows(&db, 200);

    load.finish(&db);
    assert_eq!(old.worker_pids(), workers, "the old workers never stopped");
    old.signal(Signal::SIGTERM);
    assert!(old.wait_exit(STEP).success());
}

/// After USR2 and WINCH, HUP takes the old master back (its workers start again) and
/// the new master can go; requests keep getting their 201s throughout.
#[test]
fn hup_after_winch_rolls_back() {
    let db = TestDb::fresh();
    let binary = Binary::copy();
    let mut old = binary.start(&db, "evloop");
    let load = Load::start(old.port, &db, SHORT_RUN);
    let first = old.worker_pids();

    old.signal(Signal::SIGUSR2);
    let new = Successor::from_log(&old);
    wait_for_new_workers(&old, &first, 2);
    old.signal(Signal::SIGWINCH);
    old.wait_for_line(|l| l.contains("(WINCH); this master stays"), STEP);
    old.signal(Signal::SIGHUP);
    old.wait_for_line(|l| l.contains("starting the workers again"), STEP);
    // Two fresh workers of the old master (its children, not the first ones).
    poll_until(STEP, "the old master's workers to start again", || {
        let events = old.worker_events();
        let fresh = events.iter().filter(|(_, pid, event)| {
            *event == WorkerEvent::Started
                && !first.contains_key(pid)
                && parent_of(*pid) == Some(old.pid())
        });
        fresh.count() >= 2
    });
    new.stop();
    load.wait_for_more_rows(&db, 200);
    load.finish(&db);
    old.signal(Signal::SIGTERM);
    assert!(old.wait_exit(STEP).success());
}

/// The prefork binary copied into a directory of the test's own, so that the test can
/// replace it on disk as an operator installing a new build would.
struct Binary {
    dir: PathBuf,
    path: PathBuf,
}

impl Binary {
    fn copy() -> Binary {
        let dir = support::scratch_dir("upgrade");
        let path = dir.join("prefork");
        std::fs::copy(env!("CARGO_BIN_EXE_prefork"), &path).expect("copy prefork");
        Binary { dir, path }
    }

    /// Starts this binary: 2 workers, `--pid` in its directory.
    fn start(&self, db: &TestDb, mode: &str) -> Server {
        let mut cmd = Command::new(&self.path);
        cmd.args(["--bind", "127.0.0.1:0", "--workers", "2", "--mode", mode])
            .arg("--bind")
            .arg(format!("unix:{}", self.socket().display()))
            .args(["--threads", "4", "--database-url", &db.url()])
            .arg("--pid")
            .arg(self.pid_file())
            .env_remove("DATABASE_URL");
        let mut server = Server::spawn(cmd);
        server.wait_ready(STEP);
        server
    }

    /// Installs a build that fails at once (a script in the binary's place, renamed
    /// over it as package managers do: the running master's own file stays intact).
    fn replace_with_broken(&self) {
        let staged = self.dir.join("prefork.new");
        std::fs::write(&staged, "#!/bin/sh\necho 'broken build' >&2\nexit 1\n").unwrap();
        let mut permissions = std::fs::metadata(&staged).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&staged, permissions).unwrap();
        std::fs::rename(&staged, &self.path).expect("install the broken build");
    }

    /// The Unix socket it also listens on.
    fn socket(&self) -> PathBuf {
        self.dir.join("prefork.sock")
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("prefork.pid")
    }

    fn pid_file_aside(&self) -> PathBuf {
        self.dir.join("prefork.pid.oldbin")
    }

    fn pid_file_names(&self) -> Option<i32> {
        self.read(&self.pid_file())
    }

    fn read(&self, path: &Path) -> Option<i32> {
        std::fs::read_to_string(path).ok()?.trim().parse().ok()
    }
}

/// The new master a USR2 started (not a child of the test): stopped, and waited for,
/// on drop if the test did not.
struct Successor(i32);

impl Successor {
    /// Its pid, from the old master's log.
    fn from_log(old: &Server) -> Successor {
        let line = old.wait_for_line(|l| l.contains("upgrade: new master pid"), STEP);
        let pid = line
            .split("new master pid ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|pid| pid.parse().ok())
            .unwrap_or_else(|| panic!("no pid in {line:?}"));
        Successor(pid)
    }

    /// SIGTERM, then waits until it is gone.
    fn stop(self) {
        signal_pid(self.0, Signal::SIGTERM);
        poll_until(STEP, "the new master to exit", || pid_gone(self.0));
        std::mem::forget(self);
    }
}

impl Drop for Successor {
    fn drop(&mut self) {
        // Its workers follow it (parent-death signal).
        signal_pid(self.0, Signal::SIGKILL);
    }
}

/// Waits until `count` workers not in `old` have started (the new master's: they
/// write to the same log).
fn wait_for_new_workers(server: &Server, old: &BTreeMap<i32, usize>, count: usize) {
    poll_until(STEP, "the new master's workers", || {
        let started = server
            .worker_events()
            .into_iter()
            .filter(|(_, pid, event)| *event == WorkerEvent::Started && !old.contains_key(pid));
        started.count() >= count
    });
}

/// The parent of a live process (`/proc/PID/stat`), `None` once it is gone.
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name in parentheses: state, then the parent's pid.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// [`CLIENTS`] keep-alive clients posting from the start of the run until its length
/// is over (half of them pausing between requests).
struct Load {
    stop: Arc<AtomicBool>,
    clients: Vec<JoinHandle<(i64, Vec<String>)>>,
    started: Instant,
    run: Duration,
}

impl Load {
    fn start(port: u16, db: &TestDb, run: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let clients = (0..CLIENTS)
            .map(|id| {
                let think = Duration::from_millis(if id % 2 == 0 { 0 } else { 20 });
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    keepalive_client(port, &format!("upgrade-{id}"), think, &stop)
                })
            })
            .collect();
        poll_until(STEP, "the clients to start", || db.count_rows() > 0);
        Load {
            stop,
            clients,
            started: Instant::now(),
            run,
        }
    }

    /// Polls until the table has `n` more rows than now: someone is serving.
    fn wait_for_more_rows(&self, db: &TestDb, n: i64) {
        let target = db.count_rows() + n;
        poll_until(STEP, &format!("{target} rows"), || {
            db.count_rows() >= target
        });
    }

    /// Lets the run reach its length, stops the clients, and checks: no failure, one
    /// row per 201.
    fn finish(self, db: &TestDb) {
        self.finish_plus(db, 0);
    }

    /// [`Load::finish`] when the test created `others` rows of its own besides.
    fn finish_plus(self, db: &TestDb, others: i64) {
        // The run's length is the schedule, not a wait for readiness.
        std::thread::sleep((self.started + self.run).saturating_duration_since(Instant::now()));
        self.stop.store(true, Ordering::SeqCst);
        let created = join_keepalive_clients(self.clients);
        assert!(created > 0);
        assert_eq!(db.count_rows(), created + others, "one row per 201");
    }
}

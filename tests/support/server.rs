//! The real `prefork` binary on port 0: spawn, read its log lines, signal it, stop it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::http;

/// How long a server may take to print its listening line and start every worker.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(30);

/// Lines prefork printed on stderr so far, shared with the reader thread.
#[derive(Default)]
struct Log {
    state: Mutex<LogState>,
    changed: Condvar,
}

impl Log {
    /// The lines so far. A test that panicked while holding the lock leaves them
    /// intact, so the lock's poison is ignored: the cleanup that follows (and its
    /// report of the log) must still work, or the test's cluster would leak.
    fn state(&self) -> std::sync::MutexGuard<'_, LogState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[derive(Default)]
struct LogState {
    lines: Vec<String>,
    /// Every writer of the pipe (master and workers) has closed it.
    eof: bool,
}

/// A worker lifecycle event parsed from a `prefork: worker {slot} pid {pid} …` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerEvent {
    /// `started`
    Started,
    /// `exited with status {code}`
    Exited(i32),
    /// `killed by signal {SIGNAME}`
    Killed(String),
    /// `timed out, killing`
    TimedOut,
}

/// Parses a worker lifecycle line into `(slot, pid, event)`.
pub fn parse_worker_line(line: &str) -> Option<(usize, i32, WorkerEvent)> {
    let rest = line.strip_prefix("prefork: worker ")?;
    let (slot, rest) = rest.split_once(" pid ")?;
    let (pid, what) = rest.split_once(' ')?;
    let event = if what == "started" {
        WorkerEvent::Started
    } else if let Some(code) = what.strip_prefix("exited with status ") {
        WorkerEvent::Exited(code.parse().ok()?)
    } else if let Some(sig) = what.strip_prefix("killed by signal ") {
        WorkerEvent::Killed(sig.to_string())
    } else if what == "timed out, killing" {
        WorkerEvent::TimedOut
    } else {
        return None;
    };
    Some((slot.parse().ok()?, pid.parse().ok()?, event))
}

/// Parses `prefork: listening on http://127.0.0.1:PORT (N workers, …)` (`1 worker`)
/// into `(port, N)`.
pub fn parse_listening_line(line: &str) -> Option<(u16, usize)> {
    let rest = line.strip_prefix("prefork: listening on http://")?;
    let (addr, rest) = rest.split_once(" (")?;
    let port = addr.rsplit_once(':')?.1.parse().ok()?;
    let workers = rest.split_once(" worker")?.0.parse().ok()?;
    Some((port, workers))
}

/// A running `prefork` master; stopped (SIGTERM, then SIGKILL) and cleaned up on drop.
pub struct Server {
    child: Child,
    log: Arc<Log>,
    /// The port from the listening line (0 until it is printed).
    pub port: u16,
    /// The worker count from the listening line.
    pub workers: usize,
    exit: Option<ExitStatus>,
}

impl Server {
    /// Starts prefork on 127.0.0.1:0 against `db_url` with `args`, and waits until every
    /// worker has started and `GET /health` answers.
    pub fn start(args: &[&str], db_url: &str) -> Server {
        let mut cmd = Server::command(args);
        cmd.args(["--database-url", db_url]);
        let mut server = Server::spawn(cmd);
        server.wait_ready(BOOT_TIMEOUT);
        server
    }

    /// `prefork --bind 127.0.0.1:0 ARGS`, with no `DATABASE_URL` inherited from the test's environment.
    pub fn command(args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_prefork"));
        cmd.args(["--bind", "127.0.0.1:0"])
            .args(args)
            .env_remove("DATABASE_URL");
        cmd
    }

    /// Spawns `cmd` with stderr collected line by line (and echoed to the test's stderr); does not wait.
    pub fn spawn(mut cmd: Command) -> Server {
        cmd.stdin(Stdio::null()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn prefork");
        let stderr = child.stderr.take().expect("stderr piped");
        let log = Arc::new(Log::default());
        let sink = Arc::clone(&log);
        let spawned = Instant::now();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                eprintln!("[prefork +{:.3}s] {line}", spawned.elapsed().as_secs_f64());
                sink.state().lines.push(line);
                sink.changed.notify_all();
            }
            sink.state().eof = true;
            sink.changed.notify_all();
        });
        Server {
            child,
            log,
            port: 0,
            workers: 0,
            exit: None,
        }
    }

    /// Waits for the listening line, every worker's `started` line and a 200 from `/health`.
    pub fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let line = self.wait_for_line(|l| parse_listening_line(l).is_some(), timeout);
        (self.port, self.workers) = parse_listening_line(&line).unwrap();
        let n = self.workers;
        self.wait_until(deadline, "every worker started", |s| s.live_slots() >= n);
        http::wait_healthy(self.port, deadline);
    }

    /// The master's pid.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// A snapshot of every log line so far.
    pub fn lines(&self) -> Vec<String> {
        self.log.state().lines.clone()
    }

    /// The first line matching `pred`, if any so far.
    pub fn find_line(&self, pred: impl Fn(&str) -> bool) -> Option<String> {
        self.log
            .state
            .lock()
            .unwrap()
            .lines
            .iter()
            .find(|l| pred(l))
            .cloned()
    }

    /// Waits (on the reader's condition variable, no sleeping) for a line matching `pred`.
    /// Panics with the log on timeout.
    pub fn wait_for_line(&self, pred: impl Fn(&str) -> bool, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let mut state = self.log.state();
        loop {
            if let Some(line) = state.lines.iter().find(|l| pred(l)) {
                return line.clone();
            }
            let now = Instant::now();
            if now >= deadline || state.eof {
                let log = state.lines.join("\n");
                panic!(
                    "no matching log line within {timeout:?} (eof: {}); log:\n{log}",
                    state.eof
                );
            }
            state = self
                .log
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap()
                .0;
        }
    }

    /// Waits until `cond(self)` holds, re-checking whenever a log line arrives.
    pub fn wait_until(&self, deadline: Instant, what: &str, cond: impl Fn(&Server) -> bool) {
        loop {
            if cond(self) {
                return;
            }
            let state = self.log.state();
            let now = Instant::now();
            assert!(
                now < deadline,
                "timed out waiting for {what}; log:\n{}",
                state.lines.join("\n")
            );
            // Short cap: `cond` may also depend on things other than the log (e.g. /proc).
            let wait = (deadline - now).min(Duration::from_millis(50));
            drop(self.log.changed.wait_timeout(state, wait).unwrap());
        }
    }

    /// Every worker event logged so far, in order: `(slot, pid, event)`.
    pub fn worker_events(&self) -> Vec<(usize, i32, WorkerEvent)> {
        self.lines()
            .iter()
            .filter_map(|l| parse_worker_line(l))
            .collect()
    }

    /// Workers started and not yet logged as exited or killed: pid → slot.
    pub fn worker_pids(&self) -> BTreeMap<i32, usize> {
        let mut live = BTreeMap::new();
        for (slot, pid, event) in self.worker_events() {
            match event {
                WorkerEvent::Started => {
                    live.insert(pid, slot);
                }
                WorkerEvent::Exited(_) | WorkerEvent::Killed(_) => {
                    live.remove(&pid);
                }
                WorkerEvent::TimedOut => {}
            }
        }
        live
    }

    /// Every worker pid ever logged as started.
    pub fn all_worker_pids(&self) -> Vec<i32> {
        let events = self.worker_events().into_iter();
        events
            .filter(|(_, _, e)| *e == WorkerEvent::Started)
            .map(|(_, pid, _)| pid)
            .collect()
    }

    /// Number of distinct slots that have a live worker.
    pub fn live_slots(&self) -> usize {
        let slots: std::collections::BTreeSet<usize> = self.worker_pids().into_values().collect();
        slots.len()
    }

    /// Sends `sig` to the master.
    pub fn signal(&self, sig: Signal) {
        signal_pid(self.pid(), sig);
    }

    /// Waits for the master to exit (polling `try_wait`, as there is no blocking wait with a deadline).
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        if let Some(status) = self.exit {
            return status;
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                self.exit = Some(status);
                // Let the reader catch up with the last lines. No EOF means some process
                // still holds the pipe: an orphan, which the caller's checks will report.
                self.wait_log_closed(Duration::from_secs(5));
                return status;
            }
            if Instant::now() >= deadline {
                panic!(
                    "master did not exit within {timeout:?}; log:\n{}",
                    self.lines().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until every writer of the log pipe (master and workers) has closed it.
    pub fn wait_log_closed(&self, timeout: Duration) -> bool {
        let state = self.log.state();
        let wait = self
            .log
            .changed
            .wait_timeout_while(state, timeout, |s| !s.eof);
        wait.unwrap().0.eof
    }

    /// Whether the master has exited (and reaps it if so).
    pub fn has_exited(&mut self) -> bool {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().expect("try_wait");
        }
        self.exit.is_some()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !self.has_exited() {
            signal_pid(self.pid(), Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while !self.has_exited() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if !self.has_exited() {
                signal_pid(self.pid(), Signal::SIGKILL);
                self.exit = self.child.wait().ok();
            }
        }
        // No orphan may outlive a test, whatever the master did.
        for pid in self.all_worker_pids() {
            if is_our_binary(pid) {
                signal_pid(pid, Signal::SIGKILL);
            }
        }
    }
}

/// Sends `sig` to `pid`, ignoring "no such process".
pub fn signal_pid(pid: i32, sig: Signal) {
    let _ = kill(Pid::from_raw(pid), sig);
}

/// The state letter of `/proc/PID/stat` (`R`, `S`, `Z`, …), or `None` if there is no such process.
pub fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: the state follows the last ')'.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// A process that exists and is not a zombie.
pub fn pid_alive(pid: i32) -> bool {
    !matches!(proc_state(pid), None | Some('Z') | Some('X'))
}

/// No `/proc/PID` at all: exited and reaped.
pub fn pid_gone(pid: i32) -> bool {
    !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// A live process running the prefork binary (guards against killing a recycled pid).
fn is_our_binary(pid: i32) -> bool {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe"));
    pid_alive(pid) && exe.is_ok_and(|p| p == std::path::Path::new(env!("CARGO_BIN_EXE_prefork")))
}

/// The uid a process runs as (`Uid:` line of /proc/PID/status, real uid).
pub fn uid_of(pid: i32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

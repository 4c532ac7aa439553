//! `bin/flamegraph` for real: perf and inferno on the debug binaries for two seconds of
//! load; the folded stacks it keeps hold the roots and frames the README's profiling
//! guide names. Needs `perf` and inferno (`bin/setup` installs both).

mod support;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{signal_pid, Signal, TestDb};

/// How long one `bin/flamegraph` run may take (2 s of load, start-up, perf script).
const RUN_LIMIT: Duration = Duration::from_secs(90);

/// evloop, two workers: one root per worker process (`prefork-PID`), plain sample
/// counts, and the event loop, parser, database and client-socket frames the guide names.
#[test]
fn evloop_folded_stacks_hold_the_frames_the_guide_names() {
    let run = flamegraph("evloop", &["--workers", "2", "--mode", "evloop"]);
    let roots = run.roots();
    let workers = run.worker_pids();
    assert_eq!(workers.len(), 2, "stderr:\n{}", run.stderr);
    for pid in workers {
        assert!(
            roots.contains(&format!("prefork-{pid}")),
            "{pid}: {roots:?}"
        );
    }
    assert!(roots.iter().all(|r| r.starts_with("prefork-")), "{roots:?}");
    run.assert_frames(EVLOOP_FRAMES);
    run.assert_plain_counts();
    run.remove();
}

/// threads mode: request threads `req-N-PID` and committers `commit-N-PID` (names within
/// the kernel's 15 bytes), with the database and client-socket frames the guide names.
#[test]
fn threads_folded_stacks_name_the_threads_the_guide_names() {
    let args = ["--workers", "1", "--mode", "threads", "--threads", "4"];
    let run = flamegraph("threads", &args);
    let roots = run.roots();
    assert!(roots.iter().any(|r| r.starts_with("req-")), "{roots:?}");
    assert!(roots.iter().any(|r| r.starts_with("commit-")), "{roots:?}");
    run.assert_frames(THREADS_FRAMES);
    run.assert_plain_counts();
    run.remove();
}

/// Frames the guide says an evloop worker's stacks contain.
const EVLOOP_FRAMES: &[&str] = &[
    "prefork::worker::evloop::run",
    "prefork::tasks::db::Db::insert_group",
    "httparse::",
    "mio::net::tcp::stream::TcpStream",
    "tokio_postgres::",
];

/// Frames the guide says a threads-mode worker's stacks contain.
const THREADS_FRAMES: &[&str] = &[
    "prefork::worker::threads::committer::run",
    "prefork::tasks::db::Db::insert_group",
    "httparse::",
    "tokio_postgres::",
];

/// One finished `bin/flamegraph` run.
struct Run {
    /// The folded-stacks file it kept beside the SVG.
    folded: PathBuf,
    /// Its lines: `ROOT;frame;…;frame COUNT`.
    lines: Vec<String>,
    /// What it printed on stderr (perf's own sample count among it).
    stderr: String,
}

impl Run {
    /// The distinct root frames (`THREADNAME-PID`).
    fn roots(&self) -> Vec<String> {
        let mut roots: Vec<String> = self
            .lines
            .iter()
            .filter_map(|l| l.split(';').next())
            .map(str::to_owned)
            .collect();
        roots.sort();
        roots.dedup();
        roots
    }

    /// Deletes the run's files (kept when an assertion fails, to look at).
    fn remove(self) {
        let dir = self.folded.parent().expect("output directory");
        std::fs::remove_dir_all(dir).expect("remove the flamegraph output");
    }

    /// The worker pids bin/flamegraph named (`flamegraph: pid N: worker S`).
    fn worker_pids(&self) -> Vec<u32> {
        let pids = self.stderr.lines().filter_map(|l| {
            let rest = l.strip_prefix("flamegraph: pid ")?;
            let (pid, role) = rest.split_once(": ")?;
            role.starts_with("worker ").then(|| pid.parse().ok())?
        });
        pids.collect()
    }

    /// Every one of `names` is (part of) a frame of some stack.
    fn assert_frames(&self, names: &[&str]) {
        for name in names {
            let found = self
                .lines
                .iter()
                .any(|l| l.split(';').skip(1).any(|f| f.contains(name)));
            assert!(found, "no `{name}` frame in {}", self.folded.display());
        }
    }

    /// The folded counts add up to at most the samples perf says it wrote (not to
    /// samples × period, as they would with perf script's `period` field).
    fn assert_plain_counts(&self) {
        let folded: u64 = self.lines.iter().map(|l| count_of(l)).sum();
        let recorded = perf_samples(&self.stderr);
        assert!(
            folded > 0 && folded <= recorded,
            "folded {folded} samples, perf recorded {recorded}; stderr:\n{}",
            self.stderr
        );
    }
}

/// The trailing count of a folded line.
fn count_of(line: &str) -> u64 {
    let count = line.rsplit(' ').next().unwrap_or("");
    count
        .parse()
        .unwrap_or_else(|_| panic!("folded line without a count: {line}"))
}

/// N of perf record's `[ perf record: Captured and wrote … (N samples) ]`.
fn perf_samples(stderr: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.contains("perf record: Captured and wrote"))
        .unwrap_or_else(|| panic!("no perf record summary in:\n{stderr}"));
    let inner = line.rsplit('(').next().unwrap_or("");
    let number = inner.split(' ').next().unwrap_or("");
    number
        .parse()
        .unwrap_or_else(|_| panic!("no sample count in {line:?}"))
}

/// Runs `bin/flamegraph --duration 2s` on the debug binaries and a private database.
fn flamegraph(name: &str, prefork_args: &[&str]) -> Run {
    require_tools();
    let db = TestDb::fresh();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(support::db::unique_name(name));
    std::fs::create_dir_all(&dir).expect("create the output directory");
    let out = dir.join(format!("{name}.svg"));
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_prefork")).parent().unwrap();
    assert_eq!(support::loadgen::binary().parent(), Some(bin_dir));
    let mut cmd = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("bin/flamegraph"));
    cmd.args(["--duration", "2s", "--bin-dir"])
        .arg(bin_dir)
        .arg("--database-url")
        .arg(db.url())
        .arg("--out")
        .arg(&out)
        .args(["--", "-c", "8", "-k", "-d", "2s", "--"])
        .args(prefork_args);
    let output = run_bounded(cmd);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "bin/flamegraph failed:\n{stderr}");
    assert!(out.exists(), "no SVG at {}", out.display());
    let folded = out.with_extension("folded");
    let text = std::fs::read_to_string(&folded)
        .unwrap_or_else(|e| panic!("{}: {e}\n{stderr}", folded.display()));
    let lines = text.lines().map(str::to_owned).collect();
    Run {
        folded,
        lines,
        stderr,
    }
}

/// Runs `cmd` in its own process group; kills the group and fails after [`RUN_LIMIT`].
fn run_bounded(mut cmd: Command) -> Output {
    cmd.process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child: Child = cmd.spawn().expect("run bin/flamegraph");
    let pid = child.id() as i32;
    let waiter = std::thread::spawn(move || child.wait_with_output());
    let deadline = Instant::now() + RUN_LIMIT;
    while !waiter.is_finished() {
        if Instant::now() > deadline {
            // bin/flamegraph's own trap stops prefork and PostgreSQL on TERM.
            signal_pid(-pid, Signal::SIGTERM);
            let output = waiter.join().unwrap().expect("wait for bin/flamegraph");
            panic!(
                "bin/flamegraph ran over {RUN_LIMIT:?}; stderr:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    waiter.join().unwrap().expect("wait for bin/flamegraph")
}

/// perf and inferno must be installed; says which is missing and how to get it.
fn require_tools() {
    // Where `cargo install` puts inferno, as bin/flamegraph looks there too.
    let cargo_home = std::env::var("CARGO_HOME").map(PathBuf::from);
    let cargo_bin = cargo_home
        .or_else(|_| std::env::var("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|d| d.join("bin"));
    let on_path = |tool: &str| {
        let in_path = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
        in_path || cargo_bin.as_ref().is_ok_and(|d| d.join(tool).is_file())
    };
    assert!(
        on_path("perf"),
        "perf is not installed: run bin/setup (apt-get install linux-perf)"
    );
    for tool in ["inferno-collapse-perf", "inferno-flamegraph"] {
        assert!(
            on_path(tool),
            "{tool} is not installed: run bin/setup (cargo install inferno --locked)"
        );
    }
}

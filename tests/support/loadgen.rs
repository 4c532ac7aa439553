//! The `loadgen` binary for end-to-end runs against the real prefork.
//!
//! loadgen is a workspace member, not a dependency of prefork, so cargo gives this package
//! no `CARGO_BIN_EXE_loadgen`: the binary is looked up next to prefork's (same target dir,
//! same profile), and built there with `cargo build -p loadgen` when it is missing or older
//! than its sources — once, under a lock file, as nextest runs each test in its own process.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

/// The longest one loadgen run may take before the test kills it and fails.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The loadgen crate's directory in the workspace.
fn crate_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("loadgen")
}

/// The path of an up-to-date loadgen binary beside prefork's, building it if needed.
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let bin = Path::new(env!("CARGO_BIN_EXE_prefork")).with_file_name("loadgen");
        if !is_fresh(&bin) {
            build_under_lock(&bin);
        }
        bin
    })
}

/// The binary exists and is newer than every source file of the crate.
fn is_fresh(bin: &Path) -> bool {
    let Ok(built) = bin.metadata().and_then(|m| m.modified()) else {
        return false;
    };
    let dir = crate_dir();
    let mut newest = SystemTime::UNIX_EPOCH;
    for path in [dir.join("Cargo.toml"), dir.join("src"), dir.join("data")] {
        newest = newest.max(newest_mtime(&path));
    }
    newest <= built
}

/// The latest modification time of `path` or anything below it.
fn newest_mtime(path: &Path) -> SystemTime {
    let Ok(meta) = path.metadata() else {
        return SystemTime::UNIX_EPOCH;
    };
    let own = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    if !meta.is_dir() {
        return own;
    }
    let entries = std::fs::read_dir(path).into_iter().flatten().flatten();
    entries
        .map(|e| newest_mtime(&e.path()))
        .fold(own, SystemTime::max)
}

/// `cargo build -p loadgen` into prefork's target dir and profile, one builder at a time.
fn build_under_lock(bin: &Path) {
    let profile_dir = bin.parent().expect("binary directory");
    let target_dir = profile_dir.parent().expect("target directory");
    let lock_path = target_dir.join("loadgen-build.lock");
    let lock = std::fs::File::create(&lock_path)
        .unwrap_or_else(|e| panic!("create {}: {e}", lock_path.display()));
    lock.lock().expect("lock the loadgen build");
    // Another test process may have built it while this one waited for the lock.
    if is_fresh(bin) {
        return;
    }
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => vec![],
        Some("release") => vec!["--release".to_string()],
        Some(other) => vec!["--profile".to_string(), other.to_string()],
        None => panic!("no profile in {}", bin.display()),
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_string());
    eprintln!("building loadgen: {cargo} build -p loadgen {profile:?}");
    let status = Command::new(&cargo)
        .args(["build", "-p", "loadgen", "--bin", "loadgen"])
        .args(&profile)
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap_or_else(|e| panic!("run {cargo}: {e}"));
    assert!(status.success(), "cargo build -p loadgen failed: {status}");
    assert!(
        bin.exists(),
        "cargo built loadgen but {} is missing",
        bin.display()
    );
}

/// One finished loadgen process.
#[derive(Debug)]
pub struct Run {
    /// The exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Everything it printed on stdout.
    pub stdout: String,
    /// Everything it printed on stderr.
    pub stderr: String,
}

impl Run {
    /// Panics (with both outputs) unless the exit code is `code`.
    pub fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "loadgen exit code\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// stdout parsed as the one JSON object of `--report json`.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "loadgen stdout is not JSON ({e}):\n{}\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs loadgen with `args`; killed and failed after [`RUN_TIMEOUT`].
pub fn run(args: &[&str]) -> Run {
    let mut child = Command::new(binary())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn loadgen");
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("loadgen {args:?} still running after {RUN_TIMEOUT:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        code: status.code(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Reads a pipe to the end on a thread, so a full pipe never blocks the child.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs loadgen with `--report json` added; returns the run and its report.
pub fn run_json(args: &[&str]) -> (Run, Value) {
    let mut all = args.to_vec();
    all.extend(["--report", "json"]);
    let run = run(&all);
    let report = run.json();
    (run, report)
}

/// The report's `statuses` as status → count.
pub fn statuses(report: &Value) -> BTreeMap<u16, u64> {
    let map = report["statuses"]
        .as_object()
        .unwrap_or_else(|| panic!("no statuses in {report:#}"));
    let count = |v: &Value| v.as_u64().unwrap_or_else(|| panic!("count {v}"));
    map.iter()
        .map(|(k, v)| (k.parse().expect("status code key"), count(v)))
        .collect()
}

/// The sum of the report's error counts.
pub fn error_total(report: &Value) -> u64 {
    let errors = report["errors"]
        .as_object()
        .unwrap_or_else(|| panic!("no errors in {report:#}"));
    errors
        .values()
        .map(|v| v.as_u64().expect("error count"))
        .sum()
}

/// The non-empty lines of `loadgen/data/{name}`.
pub fn data_lines(name: &str) -> std::collections::BTreeSet<String> {
    let path = crate_dir().join("data").join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

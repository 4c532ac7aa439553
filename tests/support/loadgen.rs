//! The `loadgen` binary for end-to-end runs against the real prefork.
//!
//! loadgen is a workspace member, not a dependency of prefork, so cargo gives this package
//! no `CARGO_BIN_EXE_loadgen`: [`member_bin`] finds (and if needed builds) it.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::member_bin::{self, Member};

/// The longest one loadgen run may take before the test kills it and fails.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The loadgen binary (a workspace member; see `member_bin`).
pub const LOADGEN: Member = Member {
    package: "loadgen",
    bin: "loadgen",
    sources: &["loadgen/Cargo.toml", "loadgen/src", "loadgen/data"],
};

/// The path of an up-to-date loadgen binary beside prefork's, building it if needed.
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| member_bin::binary(&LOADGEN))
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
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("loadgen/data")
        .join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

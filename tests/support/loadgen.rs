//! The `loadgen` binary for end-to-end runs against the real prefork.
//!
//! loadgen is a workspace member, not a dependency of prefork, so cargo gives this package
//! no `CARGO_BIN_EXE_loadgen`: [`workspace_bin`] finds it beside prefork's binary.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::workspace_bin::{self, LOADGEN};

#[path = "../../loadgen/tests/support/run.rs"]
mod run;
pub use run::{run_binary, Run};

/// The loadgen binary beside prefork's (see [`workspace_bin`]).
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| workspace_bin::path(LOADGEN))
}

/// Runs loadgen with `args`; killed and failed after [`run::RUN_TIMEOUT`].
pub fn run(args: &[&str]) -> Run {
    run_binary(binary(), args)
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

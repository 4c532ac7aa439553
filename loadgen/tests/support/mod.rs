//! Shared helpers of loadgen's black-box tests: run the real binary with a
//! deadline, read its JSON report, decode the payloads it sent, and the fake server.
// Each test file uses its own subset of these helpers.
#![allow(dead_code)]

pub mod fake;
pub mod form;
pub mod run;
pub mod wire;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

pub use fake::{FakeServer, Reply};
pub use run::{run_binary, Run};

/// The error kinds of the JSON report, in the agreed order.
pub const ERROR_KINDS: [&str; 6] = [
    "connect",
    "reset",
    "timeout",
    "malformed",
    "closed",
    "status",
];

/// Runs loadgen with `args` and waits for it (killed and failed after [`run::RUN_TIMEOUT`]).
pub fn loadgen(args: &[&str]) -> Run {
    run_binary(Path::new(env!("CARGO_BIN_EXE_loadgen")), args)
}

/// Runs loadgen with `--report json` added and returns the run and its report.
pub fn loadgen_json(args: &[&str]) -> (Run, Value) {
    let mut all = args.to_vec();
    all.extend(["--report", "json"]);
    let run = loadgen(&all);
    let report = run.json();
    (run, report)
}

/// `report[key]` as an unsigned integer; panics with the report if absent or not one.
pub fn uint(report: &Value, key: &str) -> u64 {
    report[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no integer {key:?} in report {report:#}"))
}

/// `report[key]` as a number; panics with the report if absent or not one.
pub fn float(report: &Value, key: &str) -> f64 {
    report[key]
        .as_f64()
        .unwrap_or_else(|| panic!("no number {key:?} in report {report:#}"))
}

/// `report.latency_ms[key]` (or another histogram `table`) in milliseconds.
pub fn latency(report: &Value, table: &str, key: &str) -> f64 {
    float(&report[table], key)
}

/// The report's `statuses` as status → count.
pub fn statuses(report: &Value) -> BTreeMap<u16, u64> {
    let map = report["statuses"]
        .as_object()
        .unwrap_or_else(|| panic!("no statuses object in report {report:#}"));
    map.iter()
        .map(|(k, v)| {
            let code = k.parse().unwrap_or_else(|_| panic!("status key {k:?}"));
            (code, v.as_u64().unwrap_or_else(|| panic!("count {v}")))
        })
        .collect()
}

/// The report's `errors` as kind → count, every agreed kind present.
pub fn errors(report: &Value) -> BTreeMap<String, u64> {
    ERROR_KINDS
        .iter()
        .map(|kind| {
            let count = report["errors"][kind]
                .as_u64()
                .unwrap_or_else(|| panic!("no errors.{kind} in report {report:#}"));
            (kind.to_string(), count)
        })
        .collect()
}

/// Asserts the exact totals: `requests`, every status count, every error kind (unlisted kinds 0).
pub fn assert_counts(
    report: &Value,
    requests: u64,
    want_statuses: &[(u16, u64)],
    want_errors: &[(&str, u64)],
) {
    assert_eq!(uint(report, "requests"), requests, "requests in {report:#}");
    let want: BTreeMap<u16, u64> = want_statuses
        .iter()
        .copied()
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(statuses(report), want, "statuses in {report:#}");
    let mut want: BTreeMap<String, u64> = ERROR_KINDS.iter().map(|k| (k.to_string(), 0)).collect();
    for (kind, n) in want_errors {
        want.insert(kind.to_string(), *n);
    }
    assert_eq!(errors(report), want, "errors in {report:#}");
}

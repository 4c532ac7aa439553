//! `GET /metrics`: every live worker's counters from the shared scoreboard, in
//! Prometheus' text exposition format 0.0.4 (`# HELP`, `# TYPE`, one sample a line).
//!
//! Every sample carries `worker="<slot>",pid="<pid>"` (during a rolling restart a
//! slot's old and new worker are both listed, told apart by pid); there is no total
//! series: Prometheus sums. Counters start at 0 for each worker incarnation, which
//! Prometheus' `rate()` and `increase()` treat as a counter reset. Not on the hot
//! path: the body is built with `write!` into one `String`.

use std::fmt::Write;

use crate::http::response::Response;
use crate::scoreboard::{Board, WorkerStats, LATENCY_BOUNDS_US, STATUS_CLASSES};

/// A plain counter family: its name, its help text, and how to read it off a worker.
type Counter = (&'static str, &'static str, fn(&WorkerStats) -> u64);

/// The status classes' label values, in the order of [`WorkerStats::responses`].
const CLASSES: [&str; STATUS_CLASSES] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// 200 with the live workers of `board`.
pub(crate) fn response(board: &Board) -> Response {
    let workers = board.snapshot();
    Response::prometheus_text(body(&workers).into_bytes()).with_header("Cache-Control", "no-store")
}

/// The exposition for `workers` (already sorted).
pub(crate) fn body(workers: &[WorkerStats]) -> String {
    let mut out = String::with_capacity(1024 + workers.len() * 2048);
    let counters: [Counter; 8] = [
        (
            "prefork_connections_accepted_total",
            "Connections accepted by the worker.",
            |w| w.connections,
        ),
        (
            "prefork_http_received_bytes_total",
            "Bytes read from clients.",
            |w| w.received_bytes,
        ),
        (
            "prefork_http_sent_bytes_total",
            "Bytes written to clients.",
            |w| w.sent_bytes,
        ),
        (
            "prefork_http_rejected_requests_total",
            "Error answers of the HTTP parser itself (malformed or oversized request, read timeout); also counted in prefork_http_responses_total.",
            |w| w.rejected,
        ),
        (
            "prefork_commits_total",
            "Commits of deferred jobs (the task service: insert transactions, a group commit counting once).",
            |w| w.commits,
        ),
        (
            "prefork_committed_rows_total",
            "Jobs made durable by those commits (the task service: rows inserted).",
            |w| w.committed_jobs,
        ),
        (
            "prefork_db_errors_total",
            "Requests whose database work failed (answered 503 or 500 because of the database).",
            |w| w.db_errors,
        ),
        (
            "prefork_db_reconnects_total",
            "Database connections established again after one was lost or could not be made.",
            |w| w.db_reconnects,
        ),
    ];
    for (name, help, value) in counters {
        family(&mut out, name, "counter", help);
        for w in workers {
            sample(&mut out, name, w, &[], value(w));
        }
    }

    let name = "prefork_connections_open";
    family(&mut out, name, "gauge", "Client connections open now.");
    for w in workers {
        sample(&mut out, name, w, &[], w.open());
    }

    let name = "prefork_http_responses_total";
    let help = "Responses written, by status class (interim 100 Continue not counted).";
    family(&mut out, name, "counter", help);
    for w in workers {
        for (class, count) in CLASSES.iter().zip(w.responses) {
            sample(&mut out, name, w, &[("class", class)], count);
        }
    }

    histogram(&mut out, workers);
    out
}

/// The request-latency histogram: cumulative `_bucket`s up to `+Inf`, `_sum` in
/// seconds, `_count`.
fn histogram(out: &mut String, workers: &[WorkerStats]) {
    let name = "prefork_http_request_duration_seconds";
    let help = "Time from a request parsed complete to its response encoded into the connection's output (deferred jobs: includes the commit).";
    family(out, name, "histogram", help);
    let bucket = format!("{name}_bucket");
    for w in workers {
        let mut cumulative = 0;
        for (i, count) in w.latency.iter().enumerate() {
            cumulative += count;
            let le = match LATENCY_BOUNDS_US.get(i) {
                Some(&us) => seconds(us),
                None => "+Inf".to_string(),
            };
            sample(out, &bucket, w, &[("le", &le)], cumulative);
        }
        let sum = w.latency_sum_ns as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum{} {sum}", labels(w, &[]));
        sample(out, &format!("{name}_count"), w, &[], cumulative);
    }
}

/// `us` microseconds as a bucket bound in seconds (`0.0005`, `1`, `2.5`).
fn seconds(us: u64) -> String {
    let s = us as f64 / 1e6;
    format!("{s}")
}

/// A family's `# HELP` and `# TYPE` lines.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// One integer sample of worker `w` with its extra labels.
fn sample(out: &mut String, name: &str, w: &WorkerStats, extra: &[(&str, &str)], value: u64) {
    let _ = writeln!(out, "{name}{} {value}", labels(w, extra));
}

/// `{worker="0",pid="123",…extra}`.
fn labels(w: &WorkerStats, extra: &[(&str, &str)]) -> String {
    let mut text = format!(r#"{{worker="{}",pid="{}""#, w.slot, w.pid);
    for (name, value) in extra {
        let _ = write!(text, r#",{name}="{}""#, escape_label_value(value));
    }
    text.push('}');
    text
}

/// A label value as the format wants it: `\`, `"` and line feeds escaped.
fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str(r#"\""#),
            '\n' => out.push_str(r"\n"),
            c => out.push(c),
        }
    }
    out
}

/// `# HELP` text as the format wants it: `\` and line feeds escaped.
fn escape_help(help: &str) -> String {
    help.replace('\\', r"\\").replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoreboard::LATENCY_BUCKETS;

    fn worker(slot: usize, pid: u32) -> WorkerStats {
        WorkerStats {
            slot,
            pid,
            ..WorkerStats::default()
        }
    }

    /// The sample lines of `name` (exactly: not its `_bucket` and such).
    fn samples<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
        text.lines()
            .filter(|l| {
                l.strip_prefix(name)
                    .is_some_and(|r| r.starts_with(['{', ' ']))
            })
            .collect()
    }

    /// Label values escape backslash, double quote and line feed, nothing else.
    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label_value(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label_value("x\ny"), r"x\ny");
        assert_eq!(escape_label_value("2xx é {}"), "2xx é {}");
        let w = worker(3, 42);
        assert_eq!(
            labels(&w, &[("le", "\"\n")]),
            r#"{worker="3",pid="42",le="\"\n"}"#
        );
        assert_eq!(escape_help("a\\b\nc"), r"a\\b\nc");
    }

    /// Buckets are cumulative, end with `+Inf` equal to `_count`; `_sum` is in seconds.
    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut w = worker(0, 7);
        w.latency[0] = 2; // ≤ 0.5 ms
        w.latency[2] = 3; // ≤ 2.5 ms
        w.latency[LATENCY_BUCKETS - 1] = 1; // > 5 s
        w.latency_sum_ns = 6_250_000_000;
        let text = body(&[w]);
        let buckets = samples(&text, "prefork_http_request_duration_seconds_bucket");
        assert_eq!(buckets.len(), LATENCY_BUCKETS);
        assert_eq!(
            buckets[0],
            r#"prefork_http_request_duration_seconds_bucket{worker="0",pid="7",le="0.0005"} 2"#
        );
        assert!(buckets[1].ends_with(r#"le="0.001"} 2"#), "{}", buckets[1]);
        assert!(buckets[2].ends_with(r#"le="0.0025"} 5"#), "{}", buckets[2]);
        assert!(buckets[10].ends_with(r#"le="1"} 5"#), "{}", buckets[10]);
        assert!(buckets[12].ends_with(r#"le="5"} 5"#), "{}", buckets[12]);
        assert!(buckets[13].ends_with(r#"le="+Inf"} 6"#), "{}", buckets[13]);
        assert_eq!(
            samples(&text, "prefork_http_request_duration_seconds_count"),
            [r#"prefork_http_request_duration_seconds_count{worker="0",pid="7"} 6"#]
        );
        assert_eq!(
            samples(&text, "prefork_http_request_duration_seconds_sum"),
            [r#"prefork_http_request_duration_seconds_sum{worker="0",pid="7"} 6.25"#]
        );
    }

    /// Every family has one HELP and one TYPE line, then one sample per worker (per
    /// class for responses); no total series.
    #[test]
    fn families_list_every_worker() {
        let mut a = worker(0, 11);
        a.responses = [0, 5, 0, 2, 1];
        a.connections = 4;
        a.closed = 1;
        let b = worker(1, 12);
        let text = body(&[a, b]);
        let responses = samples(&text, "prefork_http_responses_total");
        assert_eq!(responses.len(), 2 * STATUS_CLASSES);
        assert!(responses
            .contains(&r#"prefork_http_responses_total{worker="0",pid="11",class="2xx"} 5"#));
        assert!(responses
            .contains(&r#"prefork_http_responses_total{worker="0",pid="11",class="4xx"} 2"#));
        assert_eq!(
            samples(&text, "prefork_connections_open"),
            [
                r#"prefork_connections_open{worker="0",pid="11"} 3"#,
                r#"prefork_connections_open{worker="1",pid="12"} 0"#
            ]
        );
        for family in ["prefork_commits_total", "prefork_db_errors_total"] {
            assert_eq!(samples(&text, family).len(), 2, "{family}");
            let types = format!("# TYPE {family} counter");
            assert_eq!(text.lines().filter(|l| *l == types).count(), 1);
        }
        assert!(!text.contains("total\""), "no total series");
    }

    /// No worker: the families are still declared, with no samples.
    #[test]
    fn body_without_workers() {
        let text = body(&[]);
        assert!(text.contains("# TYPE prefork_http_request_duration_seconds histogram\n"));
        assert!(text.lines().all(|l| l.starts_with('#')));
    }
}

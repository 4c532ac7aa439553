//! The reports: the human summary with the seed's two lines, and the JSON object's keys.

mod support;

use support::{float, latency, loadgen, loadgen_json, uint, FakeServer, Reply};

/// The line of `text` whose first word is `label`; panics with the whole text if none.
fn line<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(label))
        .unwrap_or_else(|| panic!("no `{label}` line in the report:\n{text}"))
}

/// The number after `prefix` on the line that starts with it, e.g. `Total test time: 3.215 seconds`.
fn seed_number(text: &str, prefix: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in the report:\n{text}"));
    let number = line[prefix.len()..]
        .split_whitespace()
        .next()
        .unwrap_or_default();
    number
        .parse()
        .unwrap_or_else(|_| panic!("{number:?} in {line:?} is not a number"))
}

/// The default text report: header, requests, statuses, errors by kind, latency, throughput, the seed's two lines.
#[test]
fn text_report_full_summary() {
    let server = FakeServer::always(Reply::Fixed(201));
    let url = server.url("/api/tasks/");
    let run = loadgen(&[&url, "--users", "3", "--loops", "7", "--threads", "2"]);
    run.assert_code(0);
    let out = &run.stdout;

    let header = out.lines().next().unwrap_or_default();
    assert!(header.starts_with("loadgen: "), "first line {header:?}");
    for part in [
        url.as_str(),
        "3 users",
        "7 loops",
        "2 threads",
        "connection close",
    ] {
        assert!(
            header.contains(part),
            "{part:?} missing from the first line {header:?}"
        );
    }
    let requests = line(out, "requests");
    assert_eq!(
        requests.split_whitespace().nth(1),
        Some("21"),
        "{requests:?}"
    );
    assert!(requests.contains("req/s"), "{requests:?}");
    assert!(line(out, "statuses").contains("201: 21"), "{out}");
    let errors = line(out, "errors");
    assert_eq!(errors.split_whitespace().nth(1), Some("0"), "{errors:?}");
    for kind in [
        "connect 0",
        "reset 0",
        "timeout 0",
        "malformed 0",
        "closed 0",
        "status 0",
    ] {
        assert!(errors.contains(kind), "{kind:?} missing from {errors:?}");
    }
    let latency = line(out, "latency");
    for label in ["min ", "p50 ", "p90 ", "p99 ", "p99.9 ", "max ", "mean "] {
        assert!(
            latency.contains(label),
            "{label:?} missing from {latency:?}"
        );
    }
    assert!(line(out, "throughput").contains("read"), "{out}");
    assert!(
        !out.contains("(uncorrected)"),
        "uncorrected latency only with --rate:\n{out}"
    );

    let total = seed_number(out, "Total test time: ");
    let rps = seed_number(out, "Write requests per second: ");
    assert!(total > 0.0 && rps > 0.0, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("Total test time: ") && l.ends_with(" seconds")),
        "`Total test time: X seconds`:\n{out}"
    );
    // No progress line when stderr is not a TTY (it is a pipe here).
    assert!(
        !run.stderr.contains('\r'),
        "progress line on a non-TTY stderr: {:?}",
        run.stderr
    );
}

/// `--report json`: one object with every agreed key, consistent numbers, and the exact bytes on the wire.
#[test]
fn json_report_keys_and_consistency() {
    let server = FakeServer::always(Reply::Fixed(201));
    let url = server.url("/api/tasks/");
    let (run, report) = loadgen_json(&[&url, "-u", "3", "-l", "7", "-t", "2"]);
    run.assert_code(0);
    for key in [
        "url",
        "method",
        "users",
        "threads",
        "connection",
        "pipeline",
        "loops",
        "rate_target",
        "rate_reached",
        "requests",
        "elapsed_s",
        "rps",
        "statuses",
        "errors",
        "latency_ms",
        "latency_uncorrected_ms",
        "bytes_read",
        "bytes_written",
    ] {
        assert!(report.get(key).is_some(), "no {key:?} in {report:#}");
    }
    assert_eq!(report["url"], url.as_str());
    assert_eq!(report["method"], "POST");
    assert_eq!((uint(&report, "users"), uint(&report, "loops")), (3, 7));
    assert_eq!(uint(&report, "threads"), 2);
    assert_eq!(uint(&report, "pipeline"), 1);
    assert!(
        report["rate_target"].is_null() && report["rate_reached"].is_null(),
        "{report:#}"
    );
    assert!(
        report["latency_uncorrected_ms"].is_null(),
        "only with --rate: {report:#}"
    );

    let (elapsed, rps) = (float(&report, "elapsed_s"), float(&report, "rps"));
    assert!(elapsed > 0.0);
    let expected = 21.0 / elapsed;
    assert!(
        (rps - expected).abs() <= expected * 0.01,
        "rps {rps} vs requests/elapsed_s {expected}"
    );

    let keys = ["min", "p50", "p90", "p99", "p999", "max"];
    let values: Vec<f64> = keys
        .iter()
        .map(|k| latency(&report, "latency_ms", k))
        .collect();
    assert!(
        values.windows(2).all(|w| w[0] <= w[1]),
        "latency not ordered {keys:?} = {values:?}"
    );
    let mean = latency(&report, "latency_ms", "mean");
    assert!(
        values[0] <= mean && mean <= values[5],
        "mean {mean} outside min..max {values:?}"
    );
    assert!(
        values[0] > 0.0,
        "a request over TCP cannot take 0 ms: {values:?}"
    );

    assert_eq!(
        uint(&report, "bytes_written"),
        server.bytes_received() as u64,
        "bytes_written vs what the server read"
    );
    assert_eq!(
        uint(&report, "bytes_read"),
        server.bytes_sent() as u64,
        "bytes_read vs what the server wrote"
    );
}

/// `--duration` runs report `duration_s` instead of `loops`.
#[test]
fn json_report_duration_key() {
    let server = FakeServer::always(Reply::Fixed(200));
    let (run, report) = loadgen_json(&[&server.url("/"), "-u", "1", "-k", "--duration", "300ms"]);
    run.assert_code(0);
    let duration = float(&report, "duration_s");
    assert!((duration - 0.3).abs() < 1e-9, "duration_s {duration}");
    assert!(uint(&report, "requests") > 0, "{report:#}");
}

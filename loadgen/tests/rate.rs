//! Open loop (`--rate`), duration and warm-up, and coordinated-omission correction.
//!
//! Assertions are on loadgen's report and on what the server counted, never on how fast
//! the test itself ran.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{errors, float, latency, loadgen, loadgen_json, uint, FakeServer, Reply};

/// Asserts `rps` is within 5% of `target` and the report says the rate was reached.
fn assert_rate(report: &Value, target: f64) {
    let rps = float(report, "rps");
    assert!(
        (rps - target).abs() <= target * 0.05,
        "rps {rps} not within 5% of --rate {target}: {report:#}"
    );
    assert_eq!(float(report, "rate_target"), target, "{report:#}");
    assert_eq!(report["rate_reached"], true, "{report:#}");
    assert!(
        errors(report).values().all(|n| *n == 0),
        "errors: {report:#}"
    );
}

/// `--rate 1000` for 3 s, keep-alive, 20 users: 1000 req/s ±5%, and the server saw that many.
#[test]
fn rate_1000_keepalive() {
    let server = FakeServer::always(Reply::Fixed(200));
    let url = server.url("/health");
    let args = [
        url.as_str(),
        "--method",
        "GET",
        "--rate",
        "1000",
        "--duration",
        "3s",
        "-u",
        "20",
        "-t",
        "2",
        "-k",
    ];
    let (run, report) = loadgen_json(&args);
    run.assert_code(0);
    assert_rate(&report, 1000.0);
    let (counted, received) = (uint(&report, "requests"), server.request_count() as u64);
    // Requests still in flight at the deadline reach the server but not the report.
    assert!(
        counted <= received && received <= counted + 20,
        "server received {received}, loadgen counted {counted}"
    );
    assert!(
        (2850..=3150).contains(&received),
        "server received {received} in 3 s at 1000/s"
    );
    assert!(report["latency_uncorrected_ms"].is_object(), "{report:#}");
}

/// `--rate 500` for 2 s with a new connection per request and `--linger0`: the rate holds, no errors.
#[test]
fn rate_500_connection_close_linger0() {
    let server = FakeServer::always(Reply::Fixed(201));
    let url = server.url("/api/tasks/");
    let args = [
        url.as_str(),
        "--rate",
        "500",
        "--duration",
        "2s",
        "-u",
        "10",
        "-t",
        "2",
        "--linger0",
    ];
    let (run, report) = loadgen_json(&args);
    run.assert_code(0);
    assert_rate(&report, 500.0);
    let counted = uint(&report, "requests");
    assert!(
        (counted as usize) <= server.connections() && server.connections() <= counted as usize + 10,
        "one connection per request: {} connections, {counted} requests",
        server.connections()
    );
}

/// A rate one connection cannot reach: `rate_reached` is false and the text report says so.
#[test]
fn unreachable_rate_is_reported() {
    let server = FakeServer::always(Reply::Fixed(200));
    let url = server.url("/");
    let args = [
        url.as_str(),
        "--rate",
        "1000000",
        "--duration",
        "1s",
        "-u",
        "1",
        "-t",
        "1",
        "-k",
    ];
    let (run, report) = loadgen_json(&args);
    run.assert_code(0);
    assert_eq!(report["rate_reached"], false, "{report:#}");
    let run = loadgen(&args);
    run.assert_code(0);
    let says_so = run.stdout.lines().any(|l| {
        let l = l.to_lowercase();
        l.contains("rate") && (l.contains("not") || l.contains("below") || l.contains("missed"))
    });
    assert!(
        says_so,
        "no line saying the target rate was not reached:\n{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("(uncorrected)"),
        "uncorrected latency line with --rate:\n{}",
        run.stdout
    );
}

/// The server stalls every response for 1 s once: corrected latency shows the whole stall, uncorrected hides most of it.
#[test]
fn coordinated_omission_corrected() {
    // Request 100 arrives about 0.5 s in; from then on every answer waits until the stall ends.
    let server = FakeServer::start(|i| {
        if i == 100 {
            Reply::StallAll(Duration::from_secs(1))
        } else {
            Reply::Fixed(200)
        }
    });
    let url = server.url("/");
    let args = [
        url.as_str(),
        "--rate",
        "200",
        "--duration",
        "3s",
        "-u",
        "10",
        "-t",
        "2",
        "-k",
    ];
    let (run, report) = loadgen_json(&args);
    run.assert_code(0);
    assert!(server.request_count() > 100, "the stall never happened");
    let (c, u) = (&report["latency_ms"], &report["latency_uncorrected_ms"]);
    eprintln!("latency corrected {c}\nlatency uncorrected {u}");
    let corrected = |k| latency(&report, "latency_ms", k);
    let uncorrected = |k| latency(&report, "latency_uncorrected_ms", k);
    // ~200 requests were due during the stall: measured from their intended send time, their
    // latencies spread over 0..1000 ms, so the top 10% are all far above a millisecond.
    assert!(
        corrected("max") >= 900.0,
        "corrected max {} < 900 ms: {report:#}",
        corrected("max")
    );
    assert!(
        corrected("p90") >= 300.0,
        "corrected p90 {} < 300 ms: {report:#}",
        corrected("p90")
    );
    // From the actual send, only the ~10 requests in flight when it began saw the stall.
    assert!(
        uncorrected("p90") * 3.0 < corrected("p90"),
        "uncorrected p90 {} not clearly below corrected p90 {}: {report:#}",
        uncorrected("p90"),
        corrected("p90")
    );
    assert!(
        uncorrected("max") >= 900.0,
        "the stalled requests themselves: {report:#}"
    );
}

/// `--duration 1s --warmup 500ms`: only the measured second is reported; the server saw the warm-up too.
#[test]
fn duration_with_warmup() {
    let server = FakeServer::always(Reply::Fixed(200));
    let url = server.url("/");
    let args = [
        url.as_str(),
        "-u",
        "2",
        "-t",
        "1",
        "-k",
        "--duration",
        "1s",
        "--warmup",
        "500ms",
    ];
    let (run, report) = loadgen_json(&args);
    run.assert_code(0);
    let elapsed = float(&report, "elapsed_s");
    assert!(
        (0.95..1.5).contains(&elapsed),
        "elapsed_s {elapsed} for --duration 1s"
    );
    let (counted, received) = (uint(&report, "requests"), server.request_count() as u64);
    assert!(counted > 0, "{report:#}");
    assert!(
        received > counted + counted / 10,
        "warm-up requests should reach the server but not the report: server {received}, report {counted}"
    );
}

//! Errors counted by kind, never retried: every request is one response or one error.

mod support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use support::{
    assert_counts, errors, float, loadgen, loadgen_json, statuses, uint, FakeServer, Reply,
};

/// The server reads each request and closes without answering: 6 `closed` (or `reset`) errors, exit 1.
#[test]
fn server_closes_without_answering() {
    let server = FakeServer::always(Reply::Close);
    let (run, report) = loadgen_json(&[&server.url("/api/tasks/"), "-u", "2", "-l", "3"]);
    run.assert_code(1);
    assert_eq!(uint(&report, "requests"), 6, "{report:#}");
    assert!(
        statuses(&report).is_empty(),
        "no response was complete: {report:#}"
    );
    let errs = errors(&report);
    assert_eq!(
        errs["closed"] + errs["reset"],
        6,
        "closed + reset in {report:#}"
    );
    let others: u64 = errs
        .iter()
        .filter(|(k, _)| *k != "closed" && *k != "reset")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(others, 0, "only closed/reset errors: {report:#}");
    assert_eq!(
        server.request_count(),
        6,
        "a request whose connection died is never retried"
    );
}

/// Half the requests closed without an answer, half answered 201: each request is exactly one of the two.
#[test]
fn some_closed_some_answered() {
    let server = FakeServer::start(|i| {
        if i % 2 == 0 {
            Reply::Fixed(201)
        } else {
            Reply::Close
        }
    });
    let (run, report) = loadgen_json(&[&server.url("/api/tasks/"), "-u", "1", "-l", "10"]);
    run.assert_code(1);
    assert_eq!(uint(&report, "requests"), 10, "{report:#}");
    assert_eq!(statuses(&report), [(201, 5)].into(), "{report:#}");
    let errs = errors(&report);
    assert_eq!(errs["closed"] + errs["reset"], 5, "{report:#}");
    assert_eq!(server.request_count(), 10, "no retries");
}

/// With --keepalive, a connection the server closes mid-run costs one error and the user reconnects.
#[test]
fn keepalive_reconnects_after_close() {
    let server = FakeServer::start(|i| {
        if i == 3 {
            Reply::Close
        } else {
            Reply::Fixed(200)
        }
    });
    let (run, report) = loadgen_json(&[&server.url("/"), "-u", "1", "-l", "8", "--keepalive"]);
    run.assert_code(1);
    assert_eq!(uint(&report, "requests"), 8, "{report:#}");
    assert_eq!(statuses(&report), [(200, 7)].into(), "{report:#}");
    let errs = errors(&report);
    assert_eq!(errs["closed"] + errs["reset"], 1, "{report:#}");
    assert_eq!(server.request_count(), 8, "no retries");
    assert_eq!(server.connections(), 2, "one reconnect after the close");
}

/// The server ends a kept-alive connection right after a response (no `Connection: close`):
/// with idle time before the next request (`--rate`), loadgen sees the close and reconnects, no error.
#[test]
fn keepalive_reconnects_after_server_ends_connection() {
    let server = FakeServer::start(|i| {
        if i % 3 == 2 {
            Reply::FixedThenClose(200)
        } else {
            Reply::Fixed(200)
        }
    });
    let url = server.url("/");
    let args = [
        url.as_str(),
        "-u",
        "1",
        "-l",
        "12",
        "--rate",
        "20",
        "--keepalive",
    ];
    let (run, report) = loadgen_json(&args);
    run.assert_code(0);
    assert_counts(&report, 12, &[(200, 12)], &[]);
    assert_eq!(
        server.connections(),
        4,
        "a new connection after every third response"
    );
}

/// The server answers `HELLO\r\n\r\n`: every request is a `malformed` error, exit 1.
#[test]
fn garbage_is_malformed() {
    let server = FakeServer::always(Reply::Garbage);
    let (run, report) = loadgen_json(&[&server.url("/api/tasks/"), "-u", "2", "-l", "3"]);
    run.assert_code(1);
    assert_counts(&report, 6, &[], &[("malformed", 6)]);
    assert_eq!(server.request_count(), 6);
}

/// A URL on a port nothing listens on (the port of a listener just dropped).
fn closed_port_url() -> String {
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").expect("bind a probe");
        probe.local_addr().unwrap().port()
    }; // Dropped: the port is now (almost certainly) closed.
    format!("http://127.0.0.1:{port}/api/tasks/")
}

/// Nothing listens on the port: every request is a `connect` error, the rate is 0 answered req/s, exit 1.
#[test]
fn nothing_listening_is_connect_error() {
    let (run, report) = loadgen_json(&[&closed_port_url(), "-u", "2", "-l", "3"]);
    run.assert_code(1);
    assert_counts(&report, 6, &[], &[("connect", 6)]);
    assert_eq!(uint(&report, "responses"), 0, "{report:#}");
    assert_eq!(float(&report, "rps"), 0.0, "{report:#}");
    assert_eq!(
        uint(&report, "bytes_written"),
        0,
        "nothing left: {report:#}"
    );
}

/// Nothing listens, text report: the headline and the seed line say 0 answered req/s and name the connect errors.
#[test]
fn nothing_listening_text_says_so() {
    let run = loadgen(&[&closed_port_url(), "-u", "2", "-l", "3"]);
    run.assert_code(1);
    let out = &run.stdout;
    let headline = out
        .lines()
        .find(|l| l.starts_with("  requests "))
        .unwrap_or_else(|| panic!("no requests line; {run}"));
    assert!(
        headline.starts_with("  requests      0 answered of 6 in ")
            && headline.ends_with("(0.0 req/s answered); 6 connect errors"),
        "{headline:?}"
    );
    assert!(out.ends_with("\nWrite requests per second: 0.0\n"), "{run}");
}

/// The server goes away mid-run: its answers make the rate, the refused connects after it are counted apart.
#[test]
fn server_stopped_mid_run() {
    let server = FakeServer::always(Reply::Fixed(201));
    let url = server.url("/api/tasks/");
    let load = std::thread::spawn(move || loadgen_json(&[&url, "-u", "2", "-d", "2s"]));
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.request_count() < 20 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5)); // polling a condition, with a deadline
    }
    assert!(
        server.request_count() >= 20,
        "the fake server saw too few requests"
    );
    drop(server); // stops listening: later connects are refused
    let (run, report) = load.join().expect("the loadgen thread");
    run.assert_code(1);
    assert_eq!(
        statuses(&report).keys().collect::<Vec<_>>(),
        [&201],
        "{report:#}"
    );
    let answered = statuses(&report)[&201];
    let errs = errors(&report);
    // Requests in flight when the listener closed may end as `reset` or `closed`.
    let unanswered: u64 = errs.values().sum();
    assert!(answered >= 20 && errs["connect"] > 0, "{report:#}");
    assert_eq!(
        uint(&report, "requests"),
        answered + unanswered,
        "{report:#}"
    );
    assert_eq!(uint(&report, "responses"), answered, "{report:#}");
    let (rps, elapsed) = (float(&report, "rps"), float(&report, "elapsed_s"));
    assert!(
        (rps * elapsed - answered as f64).abs() < 1e-6 * answered as f64,
        "rps × elapsed must be the {answered} answers, not the {} requests: {report:#}",
        answered + unanswered
    );
}

/// The server never answers: `--timeout 300ms` turns each request into one `timeout` error.
#[test]
fn silent_server_times_out() {
    let server = FakeServer::always(Reply::Silent(Duration::from_secs(5)));
    let url = server.url("/");
    let (run, report) = loadgen_json(&[&url, "-u", "2", "-l", "2", "--timeout", "300ms"]);
    run.assert_code(1);
    assert_counts(&report, 4, &[], &[("timeout", 4)]);
    assert_eq!(server.request_count(), 4);
    let elapsed = support::float(&report, "elapsed_s");
    assert!(
        elapsed < 3.0,
        "4 timeouts of 300 ms over 2 users took {elapsed} s"
    );
}

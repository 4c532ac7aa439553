//! `GET /metrics`: the scoreboard in Prometheus' text format, read with the official
//! Python parser (`prometheus_client.parser`, Debian's `python3-prometheus-client`,
//! installed by `bin/setup`), checked against `/stats`, the database's rows and what
//! the clients sent and got, in both worker modes; and the database error and
//! reconnection counters through an outage, for the sync and the evented service.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use support::http::parse_response;
use support::{assert_error, loadgen, poll_until, post_form, send_raw, Cfg, Server, TestDb};

/// Parses the exposition on stdin with the official parser; prints every sample as
/// JSON `[family, type, sample name, labels, value]` (the parser raises on anything
/// that is not valid text format 0.0.4).
const PARSE: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append([family.name, family.type, s.name, s.labels, s.value])
json.dump(out, sys.stdout)
"#;

/// The `/metrics` request: `Connection: close`, so the whole answer is what
/// [`send_raw`] reads and the connection is closed when the client has it.
const SCRAPE: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

/// How long counters may take to settle (a close is seen when the worker reads EOF).
const SETTLE: Duration = Duration::from_secs(10);

/// A Python that has `prometheus_client` (the Debian package installs it for
/// `/usr/bin/python3`, which a `python3` earlier on PATH may not see).
fn python() -> &'static str {
    static PYTHON: OnceLock<&'static str> = OnceLock::new();
    PYTHON.get_or_init(|| {
        ["/usr/bin/python3", "python3"]
            .into_iter()
            .find(|py| {
                Command::new(py)
                    .args(["-c", "import prometheus_client.parser"])
                    .status()
                    .is_ok_and(|s| s.success())
            })
            .expect("no python3 with prometheus_client: run bin/setup (python3-prometheus-client)")
    })
}

/// One sample as the parser read it.
#[derive(Debug)]
struct Sample {
    family_type: String,
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// One scrape: the raw answer's size and the parsed samples.
#[derive(Debug)]
struct Scrape {
    /// Bytes of the whole HTTP answer.
    answer_bytes: usize,
    samples: Vec<Sample>,
}

impl Scrape {
    /// `GET /metrics`: 200, the text format's media type, parsed by the official parser.
    fn take(port: u16) -> Scrape {
        let raw = send_raw(port, SCRAPE);
        let (resp, used) = parse_response(&raw)
            .expect("an HTTP answer")
            .expect("a whole answer");
        assert_eq!(resp.status, 200, "{}", resp.text());
        assert_eq!(
            resp.header("content-type"),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        assert_eq!(used, raw.len(), "one answer, then close");
        Scrape {
            answer_bytes: raw.len(),
            samples: parse(&resp.body),
        }
    }

    /// Sum of the samples named `name` whose labels include `with`.
    fn sum(&self, name: &str, with: &[(&str, &str)]) -> f64 {
        let matching = self.named(name).filter(|s| {
            with.iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        });
        matching.map(|s| s.value).sum()
    }

    /// [`Scrape::sum`] as a count.
    fn count(&self, name: &str, with: &[(&str, &str)]) -> u64 {
        let sum = self.sum(name, with);
        assert_eq!(sum.fract(), 0.0, "{name} is a count");
        sum as u64
    }

    fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.name == name)
    }

    /// Responses counted for parsed requests (every class, less the parser's own).
    fn requests(&self) -> u64 {
        self.count("prefork_http_responses_total", &[])
            - self.count("prefork_http_rejected_requests_total", &[])
    }
}

/// Runs the official parser on `body`.
fn parse(body: &[u8]) -> Vec<Sample> {
    let mut child = Command::new(python())
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().expect("python3 output");
    assert!(
        out.status.success(),
        "prometheus_client rejected /metrics: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(body)
    );
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).expect("parser JSON");
    rows.iter()
        .map(|row| Sample {
            family_type: row[1].as_str().unwrap().to_string(),
            name: row[2].as_str().unwrap().to_string(),
            labels: serde_json::from_value(row[3].clone()).unwrap(),
            value: row[4].as_f64().unwrap(),
        })
        .collect()
}

/// The shape every scrape has: each family typed as named, every sample labelled with
/// a listed worker and pid, the histogram of each worker cumulative and ending in
/// `+Inf` = `_count`.
fn assert_well_formed(scrape: &Scrape, server: &Server) {
    let pids = server.worker_pids();
    for s in &scrape.samples {
        let pid: i32 = s.labels["pid"].parse().unwrap();
        let slot: usize = s.labels["worker"].parse().unwrap();
        assert_eq!(pids.get(&pid), Some(&slot), "{s:?} from an unlisted worker");
        let expected = if s.name.starts_with("prefork_http_request_duration_seconds") {
            "histogram"
        } else if s.name == "prefork_connections_open" {
            "gauge"
        } else {
            assert!(s.name.ends_with("_total"), "{s:?}");
            "counter"
        };
        assert_eq!(s.family_type, expected, "{s:?}");
    }
    for pid in pids.keys() {
        let pid = pid.to_string();
        let with = [("pid", pid.as_str())];
        let buckets: Vec<&Sample> = scrape
            .named("prefork_http_request_duration_seconds_bucket")
            .filter(|s| s.labels["pid"] == pid)
            .collect();
        assert_eq!(buckets.len(), 14, "{buckets:?}");
        assert!(buckets.windows(2).all(|w| w[0].value <= w[1].value));
        assert_eq!(buckets.last().unwrap().labels["le"], "+Inf");
        let count = scrape.sum("prefork_http_request_duration_seconds_count", &with);
        assert_eq!(buckets.last().unwrap().value, count);
        assert_eq!(
            scrape.count("prefork_http_responses_total", &with)
                - scrape.count("prefork_http_rejected_requests_total", &with),
            count as u64,
            "every response to a parsed request has its latency"
        );
    }
}

/// `GET /stats`'s totals.
fn stats_total(port: u16) -> Value {
    let resp = support::get(port, "/stats");
    assert_eq!(resp.status, 200);
    resp.json()["total"].clone()
}

/// One `#[test]` per worker mode, two workers each.
macro_rules! matrix_two {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            use crate::support::Cfg;
            #[doc = concat!("`", stringify!($name), "` with two evloop workers.")]
            #[test]
            fn evloop() { super::$name(Cfg { mode: "evloop", workers: 2 }) }
            #[doc = concat!("`", stringify!($name), "` with two threads workers.")]
            #[test]
            fn threads() { super::$name(Cfg { mode: "threads", workers: 2 }) }
        }
    )+};
}

matrix_two!(agrees_with_stats_rows_and_clients);

/// A loadgen run of keep-alive POSTs, invalid tasks (400 from the service), malformed
/// requests (400 from the parser), then: 2xx = rows (+ the scrapes' 200s), 4xx = the
/// bad requests, commits and rows as `/stats` has them and the table holds, requests
/// and connections one more than `/stats` saw (the `/stats` request itself), the
/// histogram counting every response, no open connection but the scrape's own, and
/// bytes in and out exactly what one known exchange moved.
fn agrees_with_stats_rows_and_clients(cfg: Cfg) {
    let db = TestDb::fresh();
    let server = cfg.start(&db, &[]);
    // What start-up asked (readiness checks) is in the counts already.
    let base = Scrape::take(server.port);
    let base_2xx = base.count("prefork_http_responses_total", &[("class", "2xx")]);
    let url = format!("http://127.0.0.1:{}/api/tasks", server.port);
    let (run, report) = loadgen::run_json(&["--users", "8", "--loops", "40", "--keepalive", &url]);
    run.assert_code(0);
    let created = loadgen::statuses(&report);
    assert_eq!(created, BTreeMap::from([(201, 320)]), "{report:#}");
    let invalid = 3;
    for _ in 0..invalid {
        assert_error(&post_form(server.port, "", "no title"), 400);
    }
    let malformed = 2;
    for _ in 0..malformed {
        let raw = send_raw(
            server.port,
            b"GET /x HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n",
        );
        assert!(raw.starts_with(b"HTTP/1.1 400 "), "{raw:?}");
    }
    let rows = db.count_rows() as u64;
    assert_eq!(rows, 320);

    // Settled: every connection but the scrape's own seen closed.
    let mut oks = 1; // 200s answered since `base` was taken (itself included)
    poll_until(SETTLE, "connections closed", || {
        let scrape = Scrape::take(server.port);
        oks += 1;
        scrape.count("prefork_connections_open", &[]) == 1
    });
    let stats = stats_total(server.port);
    oks += 1;
    let scrape = Scrape::take(server.port);
    assert_well_formed(&scrape, &server);

    let class = |c: &str| scrape.count("prefork_http_responses_total", &[("class", c)]);
    assert_eq!(
        class("2xx"),
        base_2xx + rows + oks,
        "2xx: the rows' 201s and the scrapes' 200s"
    );
    assert_eq!(class("4xx"), invalid + malformed);
    assert_eq!((class("1xx"), class("3xx"), class("5xx")), (0, 0, 0));
    assert_eq!(
        scrape.count("prefork_http_rejected_requests_total", &[]),
        malformed
    );
    assert_eq!(
        scrape.requests(),
        stats["requests"].as_u64().unwrap() + 1,
        "requests: /stats's and the /stats request itself"
    );
    assert_eq!(
        scrape.count("prefork_connections_accepted_total", &[]),
        stats["connections"].as_u64().unwrap() + 1,
        "connections: /stats's and this scrape's"
    );
    assert_eq!(
        scrape.count("prefork_commits_total", &[]),
        stats["batches"].as_u64().unwrap()
    );
    assert_eq!(scrape.count("prefork_committed_rows_total", &[]), rows);
    assert_eq!(
        stats["batched_rows"].as_u64(),
        Some(rows),
        "/stats agrees on rows"
    );
    assert_eq!(scrape.count("prefork_db_errors_total", &[]), 0);
    let latency = scrape.sum("prefork_http_request_duration_seconds_sum", &[]);
    assert!(latency > 0.0, "{latency}");

    // Bytes: between two scrapes, one known exchange; the second scrape's request is
    // read before it is answered, the first one's answer written before that.
    let before = Scrape::take(server.port);
    let request = support::form_request("bytes", "counted");
    let mut closing = request.clone();
    let head_end = closing.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
    closing.splice(head_end..head_end, b"Connection: close\r\n".iter().copied());
    let answer = send_raw(server.port, &closing);
    assert!(answer.starts_with(b"HTTP/1.1 201 "));
    let after = Scrape::take(server.port);
    let delta = |name: &str| after.count(name, &[]) - before.count(name, &[]);
    assert_eq!(
        delta("prefork_http_received_bytes_total"),
        (closing.len() + SCRAPE.len()) as u64
    );
    assert_eq!(
        delta("prefork_http_sent_bytes_total"),
        (before.answer_bytes + answer.len()) as u64
    );
}

/// With `extra` flags: PostgreSQL stopped, POSTs answered 503, started again, POSTs
/// answered 201: the database error counter grew by exactly the 503s (5xx), the
/// reconnection counter by at least one.
fn errors_and_reconnects(cfg: Cfg, extra: &[&str]) {
    let mut db = TestDb::fresh();
    let server = cfg.start(&db, extra);
    let first = Scrape::take(server.port);
    assert_eq!(first.count("prefork_db_errors_total", &[]), 0);
    assert_eq!(first.count("prefork_db_reconnects_total", &[]), 0);
    support::assert_created(&post_form(server.port, "before", "d"), "before", "d");
    db.stop();
    let during = 4;
    for _ in 0..during {
        assert_error(&post_form(server.port, "during", "d"), 503);
    }
    let down = Scrape::take(server.port);
    assert_eq!(down.count("prefork_db_errors_total", &[]), during);
    db.start();
    let id = support::post_when_back(server.port, "after");
    db.assert_row(id, "after", "d");
    let back = Scrape::take(server.port);
    assert_well_formed(&back, &server);
    let errors = back.count("prefork_db_errors_total", &[]);
    let five = back.count("prefork_http_responses_total", &[("class", "5xx")]);
    assert!(errors >= during, "{errors}");
    assert_eq!(errors, five, "every 503 was a failed database call");
    let reconnects = back.count("prefork_db_reconnects_total", &[]);
    assert!(reconnects >= 1, "{reconnects}");
}

/// The synchronous client in the event loop.
#[test]
fn database_outage_is_counted_evloop_sync() {
    errors_and_reconnects(Cfg::EVLOOP_1, &[]);
}

/// The synchronous clients of threads mode (request threads and committers).
#[test]
fn database_outage_is_counted_threads_sync() {
    errors_and_reconnects(Cfg::THREADS_1, &[]);
}

/// The evented service's own connections, one commit per request.
#[test]
fn database_outage_is_counted_evented() {
    errors_and_reconnects(Cfg::EVLOOP_1, &["--db", "evented", "--batch", "1"]);
}

/// The evented service with group commit.
#[test]
fn database_outage_is_counted_evented_group_commit() {
    errors_and_reconnects(Cfg::EVLOOP_1, &["--db", "evented"]);
}

/// `/metrics` answers `HEAD` like `GET` without a body, and other methods 405 with
/// `Allow`.
#[test]
fn methods() {
    let db = TestDb::fresh();
    let server = Cfg::EVLOOP_1.start(&db, &[]);
    let raw = send_raw(
        server.port,
        b"HEAD /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200 "), "{text}");
    assert!(text.contains("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
    assert!(text.ends_with("\r\n\r\n"), "no body after the head: {text}");
    let resp = support::must_exchange(
        server.port,
        b"POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("GET, HEAD"));
}

//! `--db evented`: the event loop's own non-blocking PostgreSQL connections, inserts
//! pipelined — answers in order, every 201 a stored row, outages and stalls answered
//! 503 and recovered from without restarting the worker.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::http::parse_response;
use support::{
    assert_created, assert_error, form_request, get, post_form, send_raw, Conn, Server, Signal,
    TestDb,
};

/// Starts `--db evented` with `args` against `db`.
fn evented(db: &TestDb, args: &[&str]) -> Server {
    let mut all = vec!["--mode", "evloop", "--db", "evented"];
    all.extend_from_slice(args);
    Server::start(&all, &db.url())
}

/// 60 POSTs pipelined in one write on one connection, spread over 3 database
/// connections: 60 answers in request order, each naming its own row, all stored.
#[test]
fn pipelined_answers_in_order_across_connections() {
    let db = TestDb::fresh();
    let server = evented(&db, &["--workers", "1", "--db-conns", "3", "--batch", "1"]);
    let mut bytes = Vec::new();
    for i in 0..60 {
        bytes.extend_from_slice(&form_request(&format!("p{i}"), "pipelined"));
    }
    bytes.extend_from_slice(b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let raw = send_raw(server.port, &bytes);
    let mut rest = raw.as_slice();
    let mut ids = Vec::new();
    while let Ok(Some((resp, used))) = parse_response(rest) {
        rest = &rest[used..];
        if resp.status == 200 {
            break; // the closing /health
        }
        let i = ids.len();
        ids.push(assert_created(&resp, &format!("p{i}"), "pipelined"));
    }
    assert_eq!(ids.len(), 60, "{:?}", String::from_utf8_lossy(&raw));
    for (i, id) in ids.iter().enumerate() {
        db.assert_row(*id, &format!("p{i}"), "pipelined");
    }
    assert_eq!(db.count_rows(), 60);
}

/// Keep-alive clients at once, with group commit: every 201 is a row, the rows are all
/// there, and `/stats` counts each in a commit.
#[test]
fn concurrent_clients_with_group_commit() {
    let db = TestDb::fresh();
    let server = evented(&db, &["--workers", "2", "--db-conns", "2", "--batch", "64"]);
    let port = server.port;
    let clients: Vec<_> = (0..8)
        .map(|c| {
            std::thread::spawn(move || {
                let mut conn = Conn::open(port).unwrap();
                let mut ids = BTreeMap::new();
                for i in 0..40 {
                    let title = format!("c{c}-{i}");
                    conn.send(&form_request(&title, "d")).unwrap();
                    let resp = conn.read_response().unwrap();
                    ids.insert(assert_created(&resp, &title, "d"), title);
                }
                ids
            })
        })
        .collect();
    let mut all = BTreeMap::new();
    for client in clients {
        all.extend(client.join().unwrap());
    }
    assert_eq!(all.len(), 320);
    for (id, title) in &all {
        db.assert_row(*id, title, "d");
    }
    assert_eq!(db.count_rows(), 320);
    let stats = get(port, "/stats").json();
    assert_eq!(stats["total"]["batched_rows"], 320, "{stats}");
}

/// PostgreSQL stopped: 503 with Retry-After, the worker stays; started again: 201s,
/// from the same worker (its connections came back on their own).
#[test]
fn outage_503_then_recovers() {
    let mut db = TestDb::fresh();
    let server = evented(&db, &["--workers", "1", "--db-conns", "2", "--batch", "1"]);
    assert_created(&post_form(server.port, "before", "d"), "before", "d");
    let workers = server.worker_pids();
    db.stop();
    for _ in 0..4 {
        let resp = post_form(server.port, "during", "d");
        assert_error(&resp, 503);
        assert!(resp.header("retry-after").is_some());
    }
    assert_eq!(get(server.port, "/health").json()["database"], "down");
    db.start();
    let id = support::post_when_back(server.port, "after");
    db.assert_row(id, "after", "d");
    assert_eq!(server.worker_pids(), workers, "the worker was replaced");
}

/// PostgreSQL frozen (SIGSTOP of the postmaster and its backends): a POST gets 503
/// within about `--db-timeout`, never hangs; after SIGCONT, 201 again.
#[test]
fn stalled_database_503_within_the_deadline() {
    let db = TestDb::fresh();
    let server = evented(
        &db,
        &[
            "--workers",
            "1",
            "--db-conns",
            "1",
            "--batch",
            "1",
            "--db-timeout",
            "1",
        ],
    );
    assert_created(&post_form(server.port, "before", "d"), "before", "d");
    let frozen = Frozen::freeze(&db);
    let started = Instant::now();
    let resp = post_form(server.port, "stalled", "d");
    let waited = started.elapsed();
    drop(frozen);
    assert_error(&resp, 503);
    assert!(
        waited < Duration::from_secs(5),
        "answered after {waited:?}, not within the 1 s deadline (plus a tick)"
    );
    let id = support::post_when_back(server.port, "after");
    db.assert_row(id, "after", "d");
}

/// A role that must authenticate with SCRAM-SHA-256: the evented connections log in
/// (the protocol's SASL exchange) and store rows.
#[test]
fn scram_authentication() {
    let db = TestDb::fresh();
    db.require_password("ev", "s3cret");
    db.client()
        .batch_execute(
            "GRANT INSERT, SELECT ON task TO ev; GRANT USAGE ON SEQUENCE task_id_seq TO ev",
        )
        .unwrap();
    let url = db.url().replace("user=postgres", "user=ev password=s3cret");
    assert_ne!(url, db.url(), "the test rewrites the user");
    let server = Server::start(
        &[
            "--mode",
            "evloop",
            "--db",
            "evented",
            "--workers",
            "1",
            "--batch",
            "1",
        ],
        &url,
    );
    let id = assert_created(&post_form(server.port, "scram", "d"), "scram", "d");
    db.assert_row(id, "scram", "d");
}

/// `--db evented` is the event loop's: with `--mode threads` prefork refuses to start,
/// with exit 2 and the fix.
#[test]
fn evented_needs_the_event_loop() {
    let out = Server::command(&["--mode", "threads", "--db", "evented"])
        .output()
        .expect("run prefork");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--mode evloop"), "{stderr}");
}

/// PostgreSQL's processes stopped (SIGSTOP) until dropped (SIGCONT), even when the
/// test fails midway: a frozen cluster would outlive it.
struct Frozen(Vec<i32>);

impl Frozen {
    fn freeze(db: &TestDb) -> Frozen {
        let pids = db.processes();
        for &pid in &pids {
            support::signal_pid(pid, Signal::SIGSTOP);
        }
        Frozen(pids)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        for &pid in &self.0 {
            support::signal_pid(pid, Signal::SIGCONT);
        }
    }
}

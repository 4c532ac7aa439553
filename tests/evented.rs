//! `--db evented`: the event loop's own non-blocking PostgreSQL connections, inserts
//! pipelined — answers in order, every 201 a stored row, outages and stalls answered
//! 503 and recovered from without restarting the worker.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
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

/// A row the database refuses (a CHECK constraint added for the test) inside a group:
/// the group's statement fails, each of its rows is retried alone, the refused one gets
/// 500 and its neighbours their 201s.
#[test]
fn refused_row_fails_alone_in_a_group() {
    let db = TestDb::fresh();
    db.client()
        .batch_execute("ALTER TABLE task ADD CONSTRAINT no_poison CHECK (title <> 'poison')")
        .expect("add the constraint");
    let server = evented(&db, &["--workers", "1", "--db-conns", "2", "--batch", "64"]);
    let burst = [
        form_request("before", "ok"),
        form_request("poison", "refused by the database"),
        form_request("after", "ok"),
    ]
    .concat();
    let mut conn = Conn::open(server.port).unwrap();
    conn.send(&burst).unwrap();
    let before = assert_created(&conn.read_response().unwrap(), "before", "ok");
    assert_error(&conn.read_response().unwrap(), 500);
    let after = assert_created(&conn.read_response().unwrap(), "after", "ok");
    assert_eq!(db.count_rows(), 2);
    db.assert_row(before, "before", "ok");
    db.assert_row(after, "after", "ok");
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

/// Jobs a worker may hold in the backpressure test (`--max-in-flight`).
const CAP: usize = 256;
/// Client connections of the backpressure test (a few: the cap is met by one or two,
/// and the others must stay unread).
const CLIENTS: usize = 4;
/// Description length of its requests: big enough that reading a 10× overload would
/// show in the worker's memory (10 MiB of request bytes), small enough for the body cap.
const BIG: usize = 4000;

/// Backpressure: with the database stalled (the table locked), a worker that holds
/// `--max-in-flight` jobs stops reading from its clients. Offered 10× that, the
/// overload waits in the kernel (its sockets hold unread bytes), the worker's peak
/// memory stays where holding exactly its cap put it, and once the lock goes every
/// request is answered 201 with its row stored.
#[test]
fn backpressure_holds_memory_flat_under_overload() {
    let db = TestDb::fresh();
    let cap = CAP.to_string();
    let server = evented(
        &db,
        &[
            "--workers",
            "1",
            "--db-conns",
            "4",
            "--batch",
            "1",
            "--max-in-flight",
            &cap,
            "--db-timeout",
            "20",
        ],
    );
    let worker = *server.worker_pids().keys().next().expect("one worker");

    // 1×: exactly the cap, all read while the table is locked, then committed.
    let mut lock = TableLock::take(&db);
    let (clients, sent) = overload(server.port, "one", CAP / CLIENTS);
    support::poll_until(
        Duration::from_secs(20),
        "the worker to read 1× its cap",
        || {
            let queues = Queues::of(server.port);
            sent.load(Ordering::SeqCst) == CLIENTS
                && queues.server_unread.len() == CLIENTS
                && queues.total() == 0
                && lock.waiting() > 0
        },
    );
    drop(lock);
    let mut created = finish(clients);
    assert_eq!(created, CAP);
    let holding_cap = peak_rss_kib(worker);

    // 10×: the worker reads up to its cap, says so once, and leaves the rest unread.
    let lock = TableLock::take(&db);
    let (clients, _) = overload(server.port, "ten", 10 * CAP / CLIENTS);
    server.wait_for_line(
        |l| l.contains("(--max-in-flight): reading from clients pauses"),
        Duration::from_secs(20),
    );
    // A couple of connections meet the cap; the others are not read at all, and at
    // least 3× its cap waits in the kernel (a worker reading on never gets there).
    support::poll_until(
        Duration::from_secs(20),
        "the overload to wait unread",
        || {
            let queues = Queues::of(server.port);
            let waiting = queues.server_unread.iter().filter(|&&n| n > 0).count();
            waiting >= CLIENTS / 2 && queues.total() >= 3 * CAP * BIG
        },
    );
    let while_capped = peak_rss_kib(worker);
    drop(lock);
    created += finish(clients);

    assert_eq!(
        created,
        11 * CAP,
        "every request of both rounds got its 201"
    );
    assert_eq!(db.count_rows() as usize, created);
    // Flat: reading the 10× overload (10 MiB of bodies, then their decoded copies)
    // would add many MiB while capped. (Once the lock goes the worker's memory is
    // bounded by the cap times the stages a job passes through — request, insert,
    // row, answer — which under a loaded machine's scheduling varies by several MiB:
    // not a steady figure to assert on.)
    assert!(
        while_capped <= holding_cap + 2048,
        "peak RSS {while_capped} KiB while capped with a 10× overload, against \
         {holding_cap} KiB after holding exactly {CAP} jobs"
    );
}

/// `LOCK TABLE task` in an open transaction: inserts wait until it is dropped.
struct TableLock {
    client: postgres::Client,
    check: postgres::Client,
}

impl TableLock {
    fn take(db: &TestDb) -> TableLock {
        let mut client = db.client();
        client
            .batch_execute("BEGIN; LOCK TABLE task IN EXCLUSIVE MODE")
            .expect("lock the table");
        TableLock {
            client,
            check: db.client(),
        }
    }

    /// Backends waiting for the lock (inserts that reached PostgreSQL).
    fn waiting(&mut self) -> i64 {
        let sql = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'";
        self.check
            .query_one(sql, &[])
            .expect("pg_stat_activity")
            .get(0)
    }
}

impl Drop for TableLock {
    fn drop(&mut self) {
        let _ = self.client.batch_execute("COMMIT");
    }
}

/// `CLIENTS` connections, each writing `each` big POSTs back to back from one thread
/// (the writes wait while the worker is not reading) and reading its answers from
/// another, as they come; the readers (each returns its 201s) and how many writers
/// have handed all their bytes to the kernel.
fn overload(port: u16, round: &str, each: usize) -> (Vec<JoinHandle<usize>>, Arc<AtomicUsize>) {
    let description = "d".repeat(BIG);
    let sent = Arc::new(AtomicUsize::new(0));
    let clients = (0..CLIENTS)
        .map(|c| {
            let (round, description, sent) = (round.to_string(), description.clone(), sent.clone());
            std::thread::spawn(move || {
                let mut conn = Conn::open(port).unwrap();
                conn.set_read_timeout(Duration::from_secs(60));
                let mut bytes = Vec::new();
                for i in 0..each {
                    let title = format!("{round}-{c}-{i}");
                    bytes.extend_from_slice(&form_request(&title, &description));
                }
                let mut writer = conn.writer().unwrap();
                let writing = std::thread::spawn(move || {
                    writer.write_all(&bytes).unwrap();
                    sent.fetch_add(1, Ordering::SeqCst);
                });
                let created = (0..each)
                    .map(|i| {
                        let resp = conn.read_response().unwrap();
                        assert_created(&resp, &format!("{round}-{c}-{i}"), &description);
                    })
                    .count();
                writing.join().unwrap();
                created
            })
        })
        .collect();
    (clients, sent)
}

/// Waits for the clients; the 201s they got.
fn finish(clients: Vec<JoinHandle<usize>>) -> usize {
    clients.into_iter().map(|c| c.join().unwrap()).sum()
}

/// What the kernel holds of the traffic to `port` (`/proc/net/tcp`, established
/// connections): bytes the server has not read, per connection, and bytes the clients
/// wrote that have not reached it yet.
struct Queues {
    server_unread: Vec<usize>,
    client_unsent: Vec<usize>,
}

impl Queues {
    fn of(port: u16) -> Queues {
        let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
        let ours = format!(":{port:04X}");
        let mut queues = Queues {
            server_unread: Vec::new(),
            client_unsent: Vec::new(),
        };
        for line in table.lines().skip(1) {
            // sl, local address, remote address, state, tx_queue:rx_queue, …
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [_, local, remote, state, queue, ..] = fields[..] else {
                continue;
            };
            let Some((tx, rx)) = queue.split_once(':') else {
                continue;
            };
            let hex = |n: &str| usize::from_str_radix(n, 16).unwrap_or(0);
            if state != "01" {
                continue;
            }
            if local.ends_with(&ours) {
                queues.server_unread.push(hex(rx));
            } else if remote.ends_with(&ours) {
                queues.client_unsent.push(hex(tx));
            }
        }
        queues
    }

    fn total(&self) -> usize {
        self.server_unread.iter().chain(&self.client_unsent).sum()
    }
}

/// The process's peak resident memory (`VmHWM`) in KiB.
fn peak_rss_kib(pid: i32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

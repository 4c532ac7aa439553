//! Group commit in threads mode: concurrent keep-alive clients whose inserts the
//! worker's committer thread commits together, and the `--batch 1` path beside it.

mod support;

use std::collections::BTreeSet;
use std::thread;
use std::time::Duration;

use support::{assert_created, assert_error, form_request, get, Cfg, Conn, Signal, TestDb};

/// Two thread-pool workers, 16 request threads each: room for batches of up to 16.
const THREADS_2: Cfg = Cfg {
    mode: "threads",
    workers: 2,
};

/// Concurrent clients on their own connection.
const CLIENTS: usize = 12;
/// Requests per client.
const ROUNDS: usize = 30;

/// What one client saw: ids of its 201s and how many 400s.
#[derive(Default)]
struct Seen {
    ids: Vec<i64>,
    rejected: usize,
}

/// One keep-alive client: every fifth request has an empty title (400, the connection
/// stays open), every seventh is a pipelined pair valid + invalid; the others plain POSTs.
fn client(port: u16, c: usize) -> Seen {
    let mut conn = Conn::open(port).expect("connect");
    let mut seen = Seen::default();
    for i in 0..ROUNDS {
        let title = format!("c{c}-{i}");
        if i % 5 == 4 {
            conn.send(&form_request("", "no title")).expect("send");
            assert_error(&conn.read_response().expect("400 response"), 400);
            seen.rejected += 1;
        } else if i % 7 == 6 {
            let pair = [form_request(&title, "pair"), form_request("", "pair")].concat();
            conn.send(&pair).expect("send a pipelined pair");
            let first = conn.read_response().expect("first of the pair");
            seen.ids.push(assert_created(&first, &title, "pair"));
            assert_error(&conn.read_response().expect("second of the pair"), 400);
            seen.rejected += 1;
        } else {
            conn.send(&form_request(&title, "batched")).expect("send");
            let resp = conn.read_response().expect("201 response");
            seen.ids.push(assert_created(&resp, &title, "batched"));
        }
    }
    seen
}

/// Runs [`CLIENTS`] clients at once; checks every 201 has its own id, every request
/// its answer, and that the table holds exactly the acknowledged rows.
fn concurrent_posts(batch: &str) {
    let db = TestDb::fresh();
    let server = THREADS_2.start(&db, &["--threads", "16", "--batch", batch]);
    let port = server.port;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| thread::spawn(move || client(port, c)))
        .collect();
    let seen: Vec<Seen> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let ids: Vec<i64> = seen.iter().flat_map(|s| s.ids.iter().copied()).collect();
    let distinct: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), ids.len(), "an id was given to two 201s");
    let rejected: usize = seen.iter().map(|s| s.rejected).sum();
    assert_eq!(ids.len() + rejected, CLIENTS * (ROUNDS + ROUNDS / 7));
    assert_eq!(db.count_rows(), ids.len() as i64, "rows vs 201s");
    // Counted before the answers went out: exact, whatever the timing.
    let stats = get(port, "/stats").json();
    let total = &stats["total"];
    assert_eq!(
        total["batched_rows"].as_u64(),
        Some(ids.len() as u64),
        "{stats}"
    );
    let batches = total["batches"].as_u64().unwrap();
    assert!((1..=ids.len() as u64).contains(&batches), "{stats}");
    if batch == "1" {
        assert_eq!(batches, ids.len() as u64, "one commit per row: {stats}");
    }
}

/// `--batch 64`: concurrent inserts each get their own row, a validation error among
/// them its own 400, and the row count equals the 201 count.
#[test]
fn batched_concurrent_posts() {
    concurrent_posts("64");
}

/// `--batch 1`: one commit per request on the request thread, same guarantees.
#[test]
fn unbatched_concurrent_posts() {
    concurrent_posts("1");
}

/// `--batch 64 --threads 1`: nothing to group with one request thread; still serves.
#[test]
fn batch_with_one_thread() {
    let db = TestDb::fresh();
    let server = Cfg::THREADS_1.start(&db, &["--threads", "1", "--batch", "64"]);
    let mut conn = Conn::open(server.port).expect("connect");
    for i in 0..5 {
        let title = format!("single-{i}");
        conn.send(&form_request(&title, "d")).expect("send");
        let id = assert_created(&conn.read_response().expect("response"), &title, "d");
        db.assert_row(id, &title, "d");
    }
}

/// Posting clients, then SIGTERM: the workers drain; every 201 a client received is a
/// row, and no row exists that was not acknowledged.
#[test]
fn graceful_stop_loses_no_acknowledged_insert() {
    let db = TestDb::fresh();
    let mut server = THREADS_2.start(&db, &["--threads", "8", "--batch", "64"]);
    let port = server.port;
    let (started_tx, started) = crossbeam_channel::unbounded();
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let started = started_tx.clone();
            thread::spawn(move || post_until_closed(port, c, &started))
        })
        .collect();
    // Every client has had at least one 201 before the stop.
    for _ in 0..8 {
        started
            .recv_timeout(Duration::from_secs(30))
            .expect("a 201");
    }
    server.signal(Signal::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(60));
    assert_eq!(status.code(), Some(0), "master exit status");
    let acknowledged: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    assert_eq!(db.count_rows(), acknowledged as i64, "rows vs 201s");
}

/// Posts on one kept-alive connection (reconnecting when the server closes it, until
/// it refuses); returns the 201 count. Signals `started` after its first 201.
fn post_until_closed(port: u16, c: usize, started: &crossbeam_channel::Sender<()>) -> usize {
    let mut created = 0;
    'connections: while let Ok(mut conn) = Conn::open(port) {
        loop {
            let title = format!("stop-{c}-{created}");
            if conn.send(&form_request(&title, "d")).is_err() {
                continue 'connections;
            }
            let Ok(resp) = conn.read_response() else {
                continue 'connections;
            };
            assert_created(&resp, &title, "d");
            created += 1;
            if created == 1 {
                let _ = started.send(());
            }
            if resp.header("connection") == Some("close") {
                continue 'connections;
            }
        }
    }
    created
}

//! Group commit (`--batch N`) end to end: many connections' inserts committed together,
//! each answered with its own row, in request order; reads see earlier inserts; a row the
//! database refuses fails alone; `--batch 1` is one commit per request.

mod support;

use std::collections::BTreeSet;
use std::thread;

use support::http::{form_request, get_request};
use support::{assert_created, assert_error, Cfg, Conn, Server, TestDb};

support::matrix!(
    concurrent_pipelined_posts,
    reads_see_earlier_inserts,
    refused_row_fails_alone,
    batch_one,
);

/// Clients that each write this many POSTs in one go.
const CLIENTS: usize = 12;
/// POSTs each client pipelines.
const PIPELINED: usize = 20;

/// 12 keep-alive clients each pipeline 20 POSTs in one write: every POST gets its own
/// 201 with its own row, in request order; the table holds exactly the acknowledged rows.
fn concurrent_pipelined_posts(cfg: Cfg) {
    let db = TestDb::fresh();
    let server = cfg.start(&db, &["--batch", "64"]);
    let ids: Vec<i64> = pipelined_clients(&server, CLIENTS, PIPELINED)
        .into_iter()
        .flatten()
        .collect();
    let distinct: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        CLIENTS * PIPELINED,
        "every 201 names its own row"
    );
    assert_eq!(db.count_rows(), (CLIENTS * PIPELINED) as i64);
    let (title, description) = db.row_by_id(ids[0]).expect("first acknowledged row");
    assert_eq!(
        (title.as_str(), description.as_str()),
        ("c0-0", "pipelined 0")
    );
    // Every row went through a commit the counters saw; in the event loop a burst's
    // 20 POSTs, read at once, share commits (threads mode: one per request thread).
    let stats = support::get(server.port, "/stats").json();
    let total = &stats["total"];
    assert_eq!(
        total["batched_rows"],
        (CLIENTS * PIPELINED) as u64,
        "{stats}"
    );
    if cfg.mode == "evloop" {
        let batches = total["batches"].as_u64().expect("batches");
        assert!(batches * 2 <= (CLIENTS * PIPELINED) as u64, "{stats}");
    }
}

/// Starts `clients` threads, each pipelining `n` POSTs on one connection and checking
/// each answer; returns each client's ids in request order.
fn pipelined_clients(server: &Server, clients: usize, n: usize) -> Vec<Vec<i64>> {
    let port = server.port;
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            thread::spawn(move || {
                let mut conn = Conn::open(port).expect("connect");
                let mut burst = Vec::new();
                for i in 0..n {
                    burst.extend(form_request(
                        &format!("c{c}-{i}"),
                        &format!("pipelined {i}"),
                    ));
                }
                conn.send(&burst).expect("send the burst");
                (0..n)
                    .map(|i| {
                        let resp = conn.read_response().expect("response");
                        assert_created(&resp, &format!("c{c}-{i}"), &format!("pipelined {i}"))
                    })
                    .collect::<Vec<i64>>()
            })
        })
        .collect();
    let ids: Vec<Vec<i64>> = handles
        .into_iter()
        .map(|h| h.join().expect("client thread"))
        .collect();
    for client in &ids {
        assert!(
            client.windows(2).all(|w| w[0] < w[1]),
            "ids follow request order: {client:?}"
        );
    }
    ids
}

/// On one connection, in one write: POST a, list, an invalid POST, POST c, list. Each
/// list sees the inserts sent before it; the invalid one is a 400 between two 201s.
fn reads_see_earlier_inserts(cfg: Cfg) {
    let db = TestDb::fresh();
    let server = cfg.start(&db, &["--batch", "64"]);
    let mut conn = Conn::open(server.port).expect("connect");
    let invalid = support::http::post_bytes(
        "/api/tasks",
        "application/x-www-form-urlencoded",
        b"title=no+description",
        "",
    );
    let burst = [
        form_request("a", "first"),
        get_request("/api/tasks?limit=1"),
        invalid,
        form_request("c", "third"),
        get_request("/api/tasks?limit=5"),
    ]
    .concat();
    conn.send(&burst).expect("send");
    let a = assert_created(&conn.read_response().expect("POST a"), "a", "first");
    let titles = |resp: support::Response| -> Vec<String> {
        assert_eq!(resp.status, 200, "{}", resp.text());
        let rows = resp.json();
        let rows = rows.as_array().expect("a JSON array").clone();
        rows.iter()
            .map(|r| r["title"].as_str().expect("title").to_string())
            .collect()
    };
    assert_eq!(titles(conn.read_response().expect("list 1")), ["a"]);
    assert_error(&conn.read_response().expect("invalid POST"), 400);
    let c = assert_created(&conn.read_response().expect("POST c"), "c", "third");
    assert_eq!(titles(conn.read_response().expect("list 2")), ["c", "a"]);
    assert!(a < c);
    assert_eq!(db.count_rows(), 2);
}

/// A row that passes validation but that the database refuses (a CHECK constraint added
/// for the test) gets 500 on its own; its neighbours in the same batch get their 201s.
fn refused_row_fails_alone(cfg: Cfg) {
    let db = TestDb::fresh();
    db.client()
        .batch_execute("ALTER TABLE task ADD CONSTRAINT no_poison CHECK (title <> 'poison')")
        .expect("add the constraint");
    let server = cfg.start(&db, &["--batch", "64"]);
    let mut conn = Conn::open(server.port).expect("connect");
    let burst = [
        form_request("before", "ok"),
        form_request("poison", "refused by the database"),
        form_request("after", "ok"),
    ]
    .concat();
    conn.send(&burst).expect("send");
    let before = assert_created(&conn.read_response().expect("first"), "before", "ok");
    assert_error(&conn.read_response().expect("second"), 500);
    let after = assert_created(&conn.read_response().expect("third"), "after", "ok");
    assert_eq!(db.count_rows(), 2);
    db.assert_row(before, "before", "ok");
    db.assert_row(after, "after", "ok");
}

/// `--batch 1`: the same pipelined load, one commit per request (checked in /stats: as many commits as rows), every 201 a row.
fn batch_one(cfg: Cfg) {
    let db = TestDb::fresh();
    let server = cfg.start(&db, &["--batch", "1"]);
    let ids: usize = pipelined_clients(&server, 4, 10).iter().map(Vec::len).sum();
    assert_eq!(db.count_rows(), ids as i64);
    let stats = support::get(server.port, "/stats").json();
    let total = &stats["total"];
    assert_eq!(total["batched_rows"], ids, "{stats}");
    assert_eq!(total["batches"], ids, "one commit per request: {stats}");
}

/// More pipelined POSTs than `--batch` allows in one commit: the event loop commits
/// full batches and carries the rest over, answers stay in order, no batch exceeds
/// the cap.
#[test]
fn batch_cap_splits_a_burst() {
    let db = TestDb::fresh();
    let server = Cfg::EVLOOP_1.start(&db, &["--batch", "3"]);
    let ids = pipelined_clients(&server, 1, 10);
    assert_eq!(ids[0].len(), 10);
    assert_eq!(db.count_rows(), 10);
    let stats = support::get(server.port, "/stats").json();
    let total = &stats["total"];
    assert_eq!(total["batched_rows"], 10, "{stats}");
    // At most 3 rows per commit: at least 4 commits for 10 rows.
    assert!(total["batches"].as_u64().expect("batches") >= 4, "{stats}");
}

/// Out-of-range `--batch` values are refused at startup with a message naming the flag.
#[test]
fn batch_bounds_are_checked() {
    for bad in ["0", "4097"] {
        let out = Server::command(&["--batch", bad])
            .output()
            .expect("run prefork");
        assert_eq!(out.status.code(), Some(2), "--batch {bad}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--batch must be from 1 to 4096"),
            "{stderr}"
        );
    }
}

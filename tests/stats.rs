//! `GET /stats`: every live worker's counters from the shared scoreboard, answered by
//! any worker, in both worker modes, following TTOU and HUP, and with `--no-fork`.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{assert_created, get, poll_until, post_form, Cfg, Server, Signal, TestDb};

/// How long the counters may take to add up (they are counted as requests are answered,
/// so the last ones may trail the client's view by one loop iteration).
const SETTLE: Duration = Duration::from_secs(10);

/// One `#[test]` per configuration: both modes, 2 and 3 workers.
macro_rules! two_and_three {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            use crate::support::Cfg;
            #[doc = concat!("`", stringify!($name), "` with two evloop workers.")]
            #[test]
            fn evloop_2() { super::$name(Cfg { mode: "evloop", workers: 2 }) }
            #[doc = concat!("`", stringify!($name), "` with three evloop workers.")]
            #[test]
            fn evloop_3() { super::$name(Cfg::EVLOOP_3) }
            #[doc = concat!("`", stringify!($name), "` with two threads workers.")]
            #[test]
            fn threads_2() { super::$name(Cfg { mode: "threads", workers: 2 }) }
            #[doc = concat!("`", stringify!($name), "` with three threads workers.")]
            #[test]
            fn threads_3() { super::$name(Cfg::THREADS_3) }
        }
    )+};
}

two_and_three!(counts_every_request, lists_only_live_workers);

/// `GET /stats` on a new connection; asserts 200 and a self-consistent document
/// (totals are the sums of the entries, mean batches are rows / batches).
fn stats(port: u16) -> Value {
    let resp = get(port, "/stats");
    assert_eq!(resp.status, 200, "{}", resp.text());
    let doc = resp.json();
    let workers = doc["workers"].as_array().expect("workers array");
    let total = &doc["total"];
    assert_eq!(
        total["workers"].as_u64(),
        Some(workers.len() as u64),
        "{doc}"
    );
    for key in ["connections", "requests", "batches", "batched_rows"] {
        let sum: u64 = workers.iter().map(|w| w[key].as_u64().unwrap()).sum();
        assert_eq!(total[key].as_u64(), Some(sum), "total {key}: {doc}");
    }
    for entry in workers.iter().chain([total]) {
        let (rows, batches) = (entry["batched_rows"].as_u64(), entry["batches"].as_u64());
        let mean = match (rows.unwrap(), batches.unwrap()) {
            (_, 0) => 0.0,
            (r, b) => r as f64 / b as f64,
        };
        assert_eq!(entry["mean_batch"].as_f64(), Some(mean), "{doc}");
    }
    doc
}

/// The listed workers: pid → slot, in the order given (which must be by slot).
fn listed(doc: &Value) -> BTreeMap<i32, usize> {
    let workers = doc["workers"].as_array().unwrap();
    let slots: Vec<u64> = workers
        .iter()
        .map(|w| w["slot"].as_u64().unwrap())
        .collect();
    assert!(
        slots.windows(2).all(|w| w[0] <= w[1]),
        "not sorted by slot: {doc}"
    );
    let entry = |w: &Value| {
        (
            w["pid"].as_i64().unwrap() as i32,
            w["slot"].as_u64().unwrap() as usize,
        )
    };
    workers.iter().map(entry).collect()
}

/// Polls `/stats` until `cond` holds for it; returns that document.
fn stats_until(server: &Server, what: &str, cond: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + SETTLE;
    loop {
        let doc = stats(server.port);
        if cond(&doc) {
            return doc;
        }
        assert!(
            Instant::now() < deadline,
            "/stats never showed {what}: {doc}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `POST`s `n` tasks, each on a new connection.
fn post_tasks(port: u16, prefix: &str, n: usize) {
    for i in 0..n {
        let title = format!("{prefix} {i}");
        assert_created(&post_form(port, &title, "d"), &title, "d");
    }
}

/// N POSTs and M GETs on new connections: the totals count at least N + M requests and
/// connections, exactly N inserted rows in 1..=N commits, and every listed worker is one
/// of the started pids in its slot (from the `worker S pid P started` lines).
fn counts_every_request(cfg: Cfg) {
    let db = TestDb::fresh();
    let server = cfg.start(&db, &[]);
    let (posts, gets) = (24, 12);
    post_tasks(server.port, "stats", posts);
    for _ in 0..gets {
        assert_eq!(get(server.port, "/health").status, 200);
    }
    let at_least = (posts + gets) as u64;
    let doc = stats_until(&server, "every request and row counted", |doc| {
        let total = &doc["total"];
        total["requests"].as_u64() >= Some(at_least)
            && total["batched_rows"].as_u64() == Some(posts as u64)
    });
    let total = &doc["total"];
    assert!(total["connections"].as_u64() >= Some(at_least), "{doc}");
    let batches = total["batches"].as_u64().unwrap();
    assert!((1..=posts as u64).contains(&batches), "{doc}");
    assert_eq!(listed(&doc), server.worker_pids(), "{doc}");
    assert_eq!(total["workers"].as_u64(), Some(cfg.workers as u64));
    assert_eq!(db.count_rows(), posts as i64);
}

/// After TTOU only the remaining workers are listed; after HUP only the new workers,
/// whose counters start from zero (no commit of theirs yet).
fn lists_only_live_workers(cfg: Cfg) {
    let db = TestDb::fresh();
    let server = cfg.start(&db, &[]);
    post_tasks(server.port, "before", 6);
    let live = |doc: &Value| listed(doc) == server.worker_pids();
    stats_until(&server, "the started workers", live);

    let before = server.worker_pids();
    server.signal(Signal::SIGTTOU);
    server.wait_until(Instant::now() + SETTLE * 3, "one worker less", |s| {
        s.worker_pids().len() == cfg.workers - 1
    });
    let doc = stats_until(&server, "the workers left after TTOU", live);
    assert_eq!(listed(&doc).len(), cfg.workers - 1, "{doc}");

    let old = server.worker_pids();
    server.signal(Signal::SIGHUP);
    let replaced = |s: &Server| {
        let now = s.worker_pids();
        now.len() == old.len() && now.keys().all(|pid| !old.contains_key(pid))
    };
    server.wait_until(
        Instant::now() + SETTLE * 3,
        "every worker replaced",
        replaced,
    );
    let doc = stats_until(&server, "only the new workers", live);
    let workers = doc["workers"].as_array().unwrap();
    assert!(workers.iter().all(|w| w["batches"] == 0), "{doc}");
    assert!(listed(&doc).keys().all(|pid| !before.contains_key(pid)));
    poll_until(SETTLE, "a POST after HUP", || {
        post_form(server.port, "after", "d").status == 201
    });
    stats_until(&server, "the new commit", |doc| {
        doc["total"]["batched_rows"] == 1
    });
}

/// `--no-fork`: the master process is the one worker listed, with its counts.
#[test]
fn no_fork_lists_the_master() {
    let db = TestDb::fresh();
    let server = Server::start(&["--no-fork", "--workers", "1"], &db.url());
    post_tasks(server.port, "foreground", 3);
    let doc = stats_until(&server, "three rows", |doc| {
        doc["total"]["batched_rows"] == 3
    });
    assert_eq!(listed(&doc), BTreeMap::from([(server.pid(), 0)]), "{doc}");
    assert!(doc["workers"][0]["requests"].as_u64() >= Some(3), "{doc}");
}

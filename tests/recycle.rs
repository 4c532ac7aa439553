//! Workers replaced by the master on its own: hung ones (`--timeout`), worn ones
//! (`--max-requests`), and the shared-listener variant (`--accept shared`).

mod support;

use std::time::Duration;

use support::load::Poster;
use support::server::{parse_worker_line, WorkerEvent};
use support::{assert_created, pid_alive, post_form, signal_pid, Cfg, Signal, TestDb};

support::matrix!(
    hung_worker_is_replaced,
    max_requests_recycles_workers,
    accept_shared_serves
);

/// A worker that stops heartbeating (SIGSTOP) is killed after `--timeout` and replaced.
fn hung_worker_is_replaced(cfg: Cfg) {
    let db = TestDb::fresh();
    let server = cfg.start(&db, &["--timeout", "1"]);
    let before = server.worker_pids();
    let (&victim, &slot) = before.iter().next().expect("a worker");
    signal_pid(victim, Signal::SIGSTOP);

    let timed_out = format!("prefork: worker {slot} pid {victim} timed out, killing");
    server.wait_for_line(|l| l == timed_out, Duration::from_secs(10));
    let killed = format!("prefork: worker {slot} pid {victim} killed by signal SIGKILL");
    server.wait_for_line(|l| l == killed, Duration::from_secs(5));
    let line = server.wait_for_line(
        |l| matches!(parse_worker_line(l), Some((s, p, WorkerEvent::Started)) if s == slot && p != victim),
        Duration::from_secs(5),
    );
    let (_, replacement, _) = parse_worker_line(&line).unwrap();
    assert!(
        pid_alive(replacement),
        "replacement {replacement} not running"
    );
    for i in 0..10 {
        let title = format!("after hang {i}");
        assert_created(&post_form(server.port, &title, "d"), &title, "d");
    }
}

/// `--max-requests 20`: workers log that they recycle, exit 0 after their quota and are replaced, with no failed request.
fn max_requests_recycles_workers(cfg: Cfg) {
    let db = TestDb::fresh();
    let server = cfg.start(&db, &["--max-requests", "20"]);
    let first = server.worker_pids();
    let client = Poster::start(server.port, "recycle", 5000);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    server.wait_until(deadline, "a recycled worker", |s| {
        let events = s.worker_events();
        events
            .iter()
            .any(|(_, p, e)| first.contains_key(p) && *e == WorkerEvent::Exited(0))
    });
    let (&recycled, _) = first
        .iter()
        .find(|(p, _)| {
            server
                .worker_events()
                .iter()
                .any(|(_, q, e)| q == *p && *e == WorkerEvent::Exited(0))
        })
        .expect("a recycled worker");
    let said = format!("worker pid {recycled}: served 20 requests (--max-requests): recycling");
    assert!(
        server.find_line(|l| l.contains(&said)).is_some(),
        "no line {said:?}"
    );
    client.wait_more(10, Duration::from_secs(30));
    let (done, failures) = client.finish();
    let failed = failures.join("\n");
    assert!(
        failures.is_empty(),
        "{} of {done} requests failed while recycling:\n{failed}",
        failures.len()
    );
    // A worker may be between its exit and its replacement right now (with 20 requests
    // per life that is often): poll until every slot has a live worker again.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    server.wait_until(deadline, "every slot has a worker", |s| {
        s.live_slots() == cfg.workers
    });
    assert!(
        server.all_worker_pids().len() > cfg.workers,
        "no replacement started"
    );
    assert_eq!(db.count_rows(), done as i64);
}

/// `--accept shared` (one listener for every worker) serves, including after a worker is killed.
fn accept_shared_serves(cfg: Cfg) {
    let db = TestDb::fresh();
    let server = cfg.start(&db, &["--accept", "shared"]);
    let listening = server
        .find_line(|l| l.starts_with("prefork: listening on "))
        .unwrap();
    assert!(listening.ends_with("accept shared)"), "{listening}");
    let (&victim, &slot) = server.worker_pids().iter().next().expect("a worker");
    signal_pid(victim, Signal::SIGKILL);
    server.wait_for_line(
        |l| matches!(parse_worker_line(l), Some((s, p, WorkerEvent::Started)) if s == slot && p != victim),
        Duration::from_secs(5),
    );
    for i in 0..20 {
        let title = format!("shared {i}");
        let id = assert_created(&post_form(server.port, &title, "d"), &title, "d");
        db.assert_row(id, &title, "d");
    }
}

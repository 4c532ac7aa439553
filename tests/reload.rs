//! Master signals that change the worker set while serving: HUP (rolling restart), TTIN/TTOU (scale).

mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::load::{join_keepalive_clients, keepalive_client, Poster};
use support::server::WorkerEvent;
use support::{assert_created, pid_alive, pid_gone, poll_until, post_form, Cfg, Signal, TestDb};

support::matrix!(sighup_replaces_every_worker, ttin_ttou_change_worker_count);

/// Keep-alive clients of the churn run: half send their next request at once, half
/// after a pause (a client between requests when the drain starts).
const CLIENTS: usize = 16;
/// The pause of the pausing clients after each answer.
const THINK: Duration = Duration::from_millis(30);
/// Length of the churn run.
const CHURN_RUN: Duration = Duration::from_secs(6);

/// When each signal of the churn run is sent, from the first answer on: a rolling
/// restart every 2 s, one worker more, one fewer.
const CHURN: [(u64, Signal); 5] = [
    (0, Signal::SIGHUP),
    (1000, Signal::SIGTTIN),
    (2000, Signal::SIGHUP),
    (3000, Signal::SIGTTOU),
    (4000, Signal::SIGHUP),
];

/// Evloop, 2 workers: HUP every 2 s plus TTIN and TTOU under 16 keep-alive clients for 6 s fail no request.
#[test]
fn churn_under_keepalive_load_evloop() {
    churn_under_keepalive_load("evloop");
}

/// Threads, 2 workers × 4 threads: HUP every 2 s plus TTIN and TTOU under 16 keep-alive clients for 6 s fail no request.
#[test]
fn churn_under_keepalive_load_threads() {
    churn_under_keepalive_load("threads");
}

/// Keep-alive clients POST while the master reloads and scales; every request must
/// get its 201 (a close only ever comes announced, after an answer) and be a row.
fn churn_under_keepalive_load(mode: &'static str) {
    let db = TestDb::fresh();
    let server = Cfg { mode, workers: 2 }.start(&db, &["--threads", "4"]);
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| {
            let think = if id % 2 == 0 { Duration::ZERO } else { THINK };
            let (port, stop) = (server.port, Arc::clone(&stop));
            std::thread::spawn(move || keepalive_client(port, &format!("churn-{id}"), think, &stop))
        })
        .collect();
    poll_until(Duration::from_secs(30), "the clients to start", || {
        db.count_rows() > 0
    });
    let start = Instant::now();
    for (at, signal) in CHURN {
        // The schedule of the run, not a wait for readiness.
        let at = start + Duration::from_millis(at);
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        server.signal(signal);
    }
    std::thread::sleep((start + CHURN_RUN).saturating_duration_since(Instant::now()));
    stop.store(true, Ordering::SeqCst);
    let created = join_keepalive_clients(clients);
    assert_eq!(db.count_rows(), created, "one row per 201");
}

/// SIGHUP under continuous requests: every slot gets a new pid, old workers exit 0, zero failed requests.
fn sighup_replaces_every_worker(cfg: Cfg) {
    let db = TestDb::fresh();
    let server = cfg.start(&db, &[]);
    let client = Poster::start(server.port, "hup", 20_000);
    client.wait_more(10, Duration::from_secs(30));

    let old = server.worker_pids();
    server.signal(Signal::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(60);
    server.wait_until(
        deadline,
        "every slot restarted and every old worker gone",
        |s| {
            let live = s.worker_pids();
            let slots: BTreeSet<usize> = live.values().copied().collect();
            slots.len() == cfg.workers && live.keys().all(|pid| !old.contains_key(pid))
        },
    );
    client.wait_more(10, Duration::from_secs(30));
    let (done, failures) = client.finish();

    assert!(
        failures.is_empty(),
        "{} of {done} requests failed during SIGHUP:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let events = server.worker_events();
    for (pid, slot) in &old {
        let exited = events
            .iter()
            .any(|(s, p, e)| s == slot && p == pid && *e == WorkerEvent::Exited(0));
        assert!(
            exited,
            "old worker {slot} pid {pid} did not exit with status 0"
        );
        assert!(pid_gone(*pid), "old worker {pid} still exists");
    }
    for pid in server.worker_pids().keys() {
        assert!(pid_alive(*pid), "new worker {pid} not running");
    }
    assert_eq!(db.count_rows(), done as i64);
}

/// SIGTTIN starts one more worker; SIGTTOU stops one (exit 0) that is not respawned; no request fails meanwhile.
fn ttin_ttou_change_worker_count(cfg: Cfg) {
    let db = TestDb::fresh();
    let server = cfg.start(&db, &[]);
    let n = cfg.workers;
    let initial = server.worker_pids();
    assert_eq!(initial.len(), n);
    // Requests keep coming while the pool grows and shrinks; none may fail.
    let client = Poster::start(server.port, "scale", 20_000);
    client.wait_more(5, Duration::from_secs(30));

    server.signal(Signal::SIGTTIN);
    let deadline = Instant::now() + Duration::from_secs(10);
    server.wait_until(deadline, "one more worker", |s| {
        s.worker_pids().len() == n + 1
    });
    let grown = server.worker_pids();
    let added: Vec<i32> = grown
        .keys()
        .filter(|p| !initial.contains_key(p))
        .copied()
        .collect();
    assert_eq!(added.len(), 1, "workers after TTIN: {grown:?}");
    poll_until(Duration::from_secs(5), "every worker running", || {
        grown.keys().all(|p| pid_alive(*p))
    });
    assert_created(
        &post_form(server.port, "after TTIN", "d"),
        "after TTIN",
        "d",
    );

    server.signal(Signal::SIGTTOU);
    let line = server.wait_for_line(
        |l| {
            support::server::parse_worker_line(l)
                .is_some_and(|(_, _, e)| e == WorkerEvent::Exited(0))
        },
        Duration::from_secs(35),
    );
    let (_, removed, _) = support::server::parse_worker_line(&line).unwrap();
    assert!(grown.contains_key(&removed), "{line}");
    poll_until(Duration::from_secs(5), "the removed worker reaped", || {
        pid_gone(removed)
    });
    // Not respawned: requests are served and still no new worker has started.
    for i in 0..10 {
        let title = format!("after TTOU {i}");
        assert_created(&post_form(server.port, &title, "d"), &title, "d");
    }
    let (done, failures) = client.finish();
    let failed = failures.join("\n");
    assert!(
        failures.is_empty(),
        "{} of {done} requests failed during TTIN/TTOU:\n{failed}",
        failures.len()
    );
    let live = server.worker_pids();
    assert_eq!(live.len(), n, "workers after TTOU: {live:?}");
    assert_eq!(
        server.all_worker_pids().len(),
        n + 1,
        "a worker was (re)started after TTOU"
    );
    for pid in live.keys() {
        assert!(pid_alive(*pid), "worker {pid} in the log is not running");
    }
}

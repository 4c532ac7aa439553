//! Process lifecycle: a killed worker is replaced, SIGTERM drains in-flight requests,
//! a worker that cannot boot stops the master with status 3.

mod support;

use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use support::http::{form_body, Conn};
use support::load::post_outcome;
use support::server::{parse_worker_line, WorkerEvent};
use support::{assert_created, get, pid_alive, pid_gone, signal_pid, Cfg, Server, Signal, TestDb};

support::matrix!(
    sigkill_worker_is_replaced,
    sigterm_finishes_in_flight_requests,
    boot_failure_exits_3
);

/// Requests of the client in the SIGKILL test (20 before the kill, the rest during the respawn).
const KILL_REQUESTS: usize = 200;

/// SIGKILL of one worker: a new pid starts in its slot within a second, and no request fails meanwhile.
fn sigkill_worker_is_replaced(cfg: Cfg) {
    let db = TestDb::fresh();
    let server = cfg.start(&db, &[]);
    let port = server.port;
    // The client pauses between two requests while the worker is killed, so no request is
    // inside the victim at that instant (that one would be lost with it, by definition).
    // Every later request must succeed: those hashed to the dead slot wait in its backlog.
    let (paused_tx, paused_rx) = bounded::<()>(0);
    let (go_tx, go_rx) = bounded::<()>(0);
    let client = std::thread::spawn(move || {
        let mut failures = Vec::new();
        for i in 0..KILL_REQUESTS {
            if i == 20 {
                paused_tx.send(()).unwrap();
                go_rx.recv().unwrap();
            }
            failures.extend(post_outcome(port, &format!("kill-{i}")).err());
        }
        failures
    });
    paused_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("client made its first 20 requests");
    let before = server.worker_pids();
    let (&victim, &slot) = before.iter().next().expect("a worker");
    let killed_at = Instant::now();
    signal_pid(victim, Signal::SIGKILL);
    go_tx.send(()).unwrap();

    let is_replacement = |l: &str| matches!(parse_worker_line(l), Some((s, pid, WorkerEvent::Started)) if s == slot && !before.contains_key(&pid));
    let line = server.wait_for_line(is_replacement, Duration::from_secs(10));
    let respawn_time = killed_at.elapsed();
    let (_, new_pid, _) = parse_worker_line(&line).unwrap();
    server.wait_for_line(
        |l| l == format!("prefork: worker {slot} pid {victim} killed by signal SIGKILL"),
        Duration::from_secs(5),
    );
    assert!(
        respawn_time <= Duration::from_secs(1),
        "replacement started {respawn_time:?} after the kill"
    );
    assert!(pid_alive(new_pid), "replacement {new_pid} not running");

    let failures = client.join().expect("client");
    assert!(
        failures.is_empty(),
        "{} request(s) failed around the kill:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(db.count_rows(), KILL_REQUESTS as i64);
    assert_eq!(
        server.live_slots(),
        cfg.workers,
        "every slot has a live worker"
    );
}

/// Slow in-flight requests: head and half the body sent, then SIGTERM, then the rest.
struct InFlight {
    conn: Conn,
    title: String,
    rest: Vec<u8>,
}

fn start_in_flight(port: u16, i: usize) -> InFlight {
    let title = format!("in-flight-{i}");
    let body = form_body(&title, "slow body, finished after SIGTERM");
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);
    let head = format!(
        "POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut conn = Conn::open(port).expect("connect");
    conn.send(&[head.as_bytes(), first].concat())
        .expect("send head and half the body");
    InFlight {
        conn,
        title,
        rest: rest.to_vec(),
    }
}

/// SIGTERM during 10 in-flight slow requests: each gets its 201, then the master exits 0 with no worker left.
fn sigterm_finishes_in_flight_requests(cfg: Cfg) {
    let db = TestDb::fresh();
    // Enough threads that every slow request is held by a request thread (in flight).
    let extra: &[&str] = if cfg.mode == "threads" {
        &["--threads", "12"]
    } else {
        &[]
    };
    let mut server = cfg.start(&db, extra);
    let mut slow: Vec<InFlight> = (0..10).map(|i| start_in_flight(server.port, i)).collect();
    // Connections queue FIFO per listener: once each worker has answered a later
    // connection, it has accepted (and started reading) the slow ones queued before it.
    for _ in 0..3 * cfg.workers {
        assert_eq!(get(server.port, "/health").status, 200);
    }
    let workers = server.worker_pids();
    server.signal(Signal::SIGTERM);
    // The master has told the workers to stop: the rest of each body arrives while
    // they are stopping (the scenario under test).
    server.wait_for_line(
        |l| l.starts_with("prefork: stopping "),
        Duration::from_secs(10),
    );
    for request in &mut slow {
        request
            .conn
            .send(&request.rest)
            .expect("send the rest of the body");
    }
    for request in &mut slow {
        let resp = request
            .conn
            .read_response()
            .unwrap_or_else(|e| panic!("{}: no response: {e}", request.title));
        let id = assert_created(&resp, &request.title, "slow body, finished after SIGTERM");
        db.assert_row(id, &request.title, "slow body, finished after SIGTERM");
    }
    for request in &mut slow {
        assert!(
            request.conn.closed_by_server(),
            "{}: connection kept open by a stopping worker",
            request.title
        );
    }
    let status = server.wait_exit(Duration::from_secs(30));
    assert_eq!(
        status.code(),
        Some(0),
        "master exit status; log:\n{}",
        server.lines().join("\n")
    );
    for (pid, slot) in workers {
        assert!(
            pid_gone(pid),
            "worker {slot} pid {pid} still exists after the master exited"
        );
        let exited = format!("prefork: worker {slot} pid {pid} exited with status 0");
        assert!(
            server.find_line(|l| l == exited).is_some(),
            "no line {exited:?}"
        );
    }
    let master = format!("prefork: master pid {} exiting with status 0", server.pid());
    assert!(
        server.find_line(|l| l == master).is_some(),
        "no line {master:?}"
    );
}

/// A database URL whose socket directory has no server: the master exits 3 quickly instead of respawning forever.
fn boot_failure_exits_3(cfg: Cfg) {
    let dir =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(support::db::unique_name("nodb"));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!(
        "host={} port=5432 user=postgres dbname=prefork",
        dir.display()
    );
    let args = cfg.args();
    let mut cmd = Server::command(&args.iter().map(String::as_str).collect::<Vec<_>>());
    cmd.args(["--database-url", &url]);
    let mut server = Server::spawn(cmd);
    let status = server.wait_exit(Duration::from_secs(20));
    assert_eq!(
        status.code(),
        Some(3),
        "master exit status; log:\n{}",
        server.lines().join("\n")
    );
    let started = server.all_worker_pids();
    assert!(
        started.len() <= cfg.workers,
        "workers respawned after a boot failure: {started:?}"
    );
    for pid in started {
        assert!(pid_gone(pid), "worker pid {pid} left behind");
    }
    let master = format!("prefork: master pid {} exiting with status 3", server.pid());
    assert!(
        server.find_line(|l| l == master).is_some(),
        "no line {master:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

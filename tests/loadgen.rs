//! loadgen against the real prefork and PostgreSQL: exact counts, rows equal to the 201s,
//! and the open-loop rate on `/health`.
//!
//! Small runs (10 users × 50 loops): CI has two cores. The seed's full 10 × 1000 is the
//! benchmark's job (`bin/bench`), not a test's.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use support::loadgen::{data_lines, error_total, run, run_json, statuses};
use support::{poll_until, Cfg, Signal, TestDb};

/// The seed's workload, 10 users × 50 loops, against every connection and payload variant.
fn seed_workload(cfg: Cfg) {
    let db = TestDb::fresh();
    let server = cfg.start(&db, &[]);
    let url = format!("http://127.0.0.1:{}/api/tasks/", server.port);
    let base = [
        url.as_str(),
        "--users",
        "10",
        "--loops",
        "50",
        "--expect-status",
        "201",
    ];
    let variants: [&[&str]; 3] = [&[], &["--keepalive"], &["--json", "--keepalive"]];
    let mut rows = 0;
    for extra in variants {
        let args = [&base[..], extra].concat();
        let (run, report) = run_json(&args);
        run.assert_code(0);
        assert_eq!(report["requests"], 500, "{extra:?}: {report:#}");
        assert_eq!(
            statuses(&report),
            BTreeMap::from([(201, 500)]),
            "{extra:?}: {report:#}"
        );
        assert_eq!(error_total(&report), 0, "{extra:?}: {report:#}");
        rows += 500;
        assert_eq!(db.count_rows(), rows, "rows after {extra:?}: one per 201");
    }
    assert_rows_from_data(&db);
}

/// Every stored title and description is a line of loadgen's data files, byte for byte
/// (percent-encoding by loadgen and decoding by prefork agree, non-ASCII included).
fn assert_rows_from_data(db: &TestDb) {
    let (titles, descriptions) = (data_lines("titles.txt"), data_lines("descriptions.txt"));
    let rows = db
        .client()
        .query("SELECT title, description FROM task", &[])
        .expect("select rows");
    let mut distinct = std::collections::BTreeSet::new();
    for row in &rows {
        let (title, description): (String, String) = (row.get(0), row.get(1));
        assert!(
            titles.contains(&title),
            "stored title {title:?} is not in titles.txt"
        );
        assert!(
            descriptions.contains(&description),
            "stored description {description:?} is not in descriptions.txt"
        );
        distinct.insert(title);
    }
    assert!(
        distinct.len() > 50,
        "only {} distinct titles in {} rows",
        distinct.len(),
        rows.len()
    );
}

/// Seed workload (close, keep-alive, JSON) against three evloop workers.
#[test]
fn seed_workload_evloop() {
    seed_workload(Cfg::EVLOOP_3);
}

/// Seed workload (close, keep-alive, JSON) against three thread-pool workers.
#[test]
fn seed_workload_threads() {
    seed_workload(Cfg::THREADS_3);
}

/// The human report of a seed run: the full summary and the seed's two lines, rows equal to the 201s.
#[test]
fn seed_style_text_report() {
    let db = TestDb::fresh();
    let server = Cfg::EVLOOP_1.start(&db, &[]);
    let url = format!("http://127.0.0.1:{}/api/tasks/", server.port);
    let run = run(&[&url, "--users", "10", "--loops", "50"]);
    run.assert_code(0);
    let out = &run.stdout;
    eprintln!("{out}");
    let has = |prefix: &str| out.lines().any(|l| l.trim_start().starts_with(prefix));
    for prefix in [
        "loadgen: ",
        "requests",
        "statuses",
        "errors",
        "latency",
        "throughput",
    ] {
        assert!(has(prefix), "no `{prefix}` line:\n{out}");
    }
    assert!(out.contains("201: 500"), "statuses line:\n{out}");
    let total = out
        .lines()
        .find_map(|l| l.strip_prefix("Total test time: "));
    let total = total.unwrap_or_else(|| panic!("no `Total test time:` line:\n{out}"));
    let seconds: f64 = total.trim_end_matches(" seconds").parse().expect("seconds");
    let rps = out
        .lines()
        .find_map(|l| l.strip_prefix("Write requests per second: "));
    let rps: f64 = rps
        .unwrap_or_else(|| panic!("no `Write requests per second:` line:\n{out}"))
        .parse()
        .expect("requests per second");
    assert!(seconds > 0.0 && rps > 0.0, "{out}");
    // 500 requests over the printed time, allowing for the printed rounding.
    assert!(
        (rps * seconds - 500.0).abs() < 5.0,
        "{rps} req/s × {seconds} s ≠ 500:\n{out}"
    );
    assert_eq!(db.count_rows(), 500);
}

/// `--rate 500` for 3 s on `GET /health`: the achieved rate is within 5% and every answer is 200.
#[test]
fn rate_on_health() {
    let db = TestDb::fresh();
    let server = Cfg::EVLOOP_1.start(&db, &[]);
    let url = format!("http://127.0.0.1:{}/health", server.port);
    let args = [
        url.as_str(),
        "--method",
        "GET",
        "--rate",
        "500",
        "--duration",
        "3s",
        "--users",
        "10",
    ];
    let (run, report) = run_json(&[&args[..], &["--expect-status", "200"]].concat());
    run.assert_code(0);
    let rps = report["rps"].as_f64().expect("rps");
    assert!(
        (rps - 500.0).abs() <= 25.0,
        "rps {rps} not within 5% of 500: {report:#}"
    );
    assert_eq!(report["rate_reached"], true, "{report:#}");
    assert_eq!(error_total(&report), 0, "{report:#}");
    let requests = report["requests"].as_u64().expect("requests");
    assert_eq!(
        statuses(&report),
        BTreeMap::from([(200, requests)]),
        "{report:#}"
    );
}

/// prefork stops gracefully mid-run: loadgen's rate counts only the answers, and the
/// refused connects after the stop are counted apart, named beside it.
#[test]
fn server_stopped_mid_run() {
    let db = TestDb::fresh();
    let mut server = Cfg::EVLOOP_1.start(&db, &[]);
    let url = format!("http://127.0.0.1:{}/api/tasks/", server.port);
    let load = std::thread::spawn(move || run_json(&[&url, "--users", "4", "--duration", "5s"]));
    poll_until(Duration::from_secs(30), "50 rows", || db.count_rows() >= 50);
    server.signal(Signal::SIGTERM);
    server.wait_exit(Duration::from_secs(60));
    let (run, report) = load.join().expect("the loadgen thread");
    run.assert_code(1);
    let answered: u64 = statuses(&report).values().sum();
    let errors = &report["errors"];
    let connect = errors["connect"].as_u64().expect("errors.connect");
    assert!(answered >= 50 && connect > 0, "{report:#}");
    assert_eq!(report["responses"], answered, "{report:#}");
    let unanswered = error_total(&report) - errors["status"].as_u64().expect("status");
    assert_eq!(report["requests"], answered + unanswered, "{report:#}");
    let rps = report["rps"].as_f64().expect("rps");
    let elapsed = report["elapsed_s"].as_f64().expect("elapsed_s");
    assert!(
        (rps * elapsed - answered as f64).abs() < 1e-6 * answered as f64,
        "the rate must count the {answered} answers only: {report:#}"
    );
}

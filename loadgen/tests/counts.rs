//! Exact counts: requests, responses, statuses and connections, as the server saw them.

mod support;

use std::collections::BTreeSet;

use support::{assert_counts, loadgen_json, uint, FakeServer, Reply};

/// `--users 3 --loops 7`, connection close (the default): 21 requests, 21 connections, 21 × 201, exit 0.
#[test]
fn users_times_loops_connection_close() {
    let server = FakeServer::always(Reply::Fixed(201));
    let (run, report) = loadgen_json(&[&server.url("/api/tasks/"), "--users", "3", "--loops", "7"]);
    run.assert_code(0);
    assert_counts(&report, 21, &[(201, 21)], &[]);
    assert_eq!(server.request_count(), 21, "requests the server received");
    assert_eq!(server.connections(), 21, "one connection per request");
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.header("connection") == Some("close")),
        "every request must carry `Connection: close` by default"
    );
    assert_eq!(report["connection"], "close", "{report:#}");
    assert_eq!(uint(&report, "users"), 3);
    server.assert_no_problems();
}

/// `--keepalive`: the same 21 requests on exactly 3 connections, 7 on each.
#[test]
fn keepalive_one_connection_per_user() {
    let server = FakeServer::always(Reply::Fixed(201));
    let (run, report) = loadgen_json(&[
        &server.url("/api/tasks/"),
        "--users",
        "3",
        "--loops",
        "7",
        "--keepalive",
    ]);
    run.assert_code(0);
    assert_counts(&report, 21, &[(201, 21)], &[]);
    assert_eq!(server.request_count(), 21);
    assert_eq!(server.connections(), 3, "one connection per user");
    let requests = server.requests();
    for conn in 0..3 {
        let on_conn = requests.iter().filter(|r| r.conn == conn).count();
        assert_eq!(on_conn, 7, "requests on connection {conn}");
    }
    assert!(
        requests
            .iter()
            .all(|r| r.header("connection") != Some("close")),
        "no `Connection: close` with --keepalive"
    );
    server.assert_no_problems();
}

/// `--connection keep-alive` is the long form of `--keepalive`; `-c` is the alias of `--users`.
#[test]
fn connection_keep_alive_long_form() {
    let server = FakeServer::always(Reply::Fixed(200));
    let (run, report) = loadgen_json(&[
        &server.url("/"),
        "-c",
        "2",
        "-l",
        "5",
        "--connection",
        "keep-alive",
    ]);
    run.assert_code(0);
    assert_counts(&report, 10, &[(200, 10)], &[]);
    assert_eq!(server.connections(), 2);
}

/// `--pipeline 4 --keepalive`: 21 requests on 3 connections, up to 4 in flight at once, counted exactly.
#[test]
fn pipeline_counts_exactly() {
    let server = FakeServer::always(Reply::Fixed(201));
    let (run, report) = loadgen_json(&[
        &server.url("/api/tasks/"),
        "--users",
        "3",
        "--loops",
        "7",
        "--pipeline",
        "4",
        "--keepalive",
    ]);
    run.assert_code(0);
    assert_counts(&report, 21, &[(201, 21)], &[]);
    assert_eq!(server.request_count(), 21);
    assert_eq!(server.connections(), 3);
    assert_eq!(uint(&report, "pipeline"), 4, "{report:#}");
    let batch = server.max_batch();
    // Four requests written at once arrive in one read on loopback; more would break the depth.
    assert!(
        (2..=4).contains(&batch),
        "most requests buffered at once: {batch}, want 2..=4"
    );
    server.assert_no_problems();
}

/// `--pipeline 4` alone implies keep-alive: one connection per user.
#[test]
fn pipeline_implies_keepalive() {
    let server = FakeServer::always(Reply::Fixed(200));
    let (run, report) = loadgen_json(&[&server.url("/"), "-u", "2", "-l", "8", "--pipeline", "4"]);
    run.assert_code(0);
    assert_counts(&report, 16, &[(200, 16)], &[]);
    assert_eq!(server.connections(), 2);
}

/// Mixed answers (every third a 500): each status counted once, no errors without --expect-status, exit 0.
#[test]
fn mixed_statuses_counted() {
    let server = FakeServer::start(|i| Reply::Fixed(if i % 3 == 2 { 500 } else { 201 }));
    let (run, report) = loadgen_json(&[&server.url("/api/tasks/"), "-u", "3", "-l", "7"]);
    run.assert_code(0);
    assert_counts(&report, 21, &[(201, 14), (500, 7)], &[]);
}

/// `--expect-status 201`: the 500s are `status` errors and the exit code is 1.
#[test]
fn expect_status_counts_others_as_errors() {
    let server = FakeServer::start(|i| Reply::Fixed(if i % 3 == 2 { 500 } else { 201 }));
    let url = server.url("/api/tasks/");
    let (run, report) = loadgen_json(&[&url, "-u", "3", "-l", "7", "--expect-status", "201"]);
    run.assert_code(1);
    // A 500 is still a complete response (statuses), and also an unexpected one (errors.status).
    assert_counts(&report, 21, &[(201, 14), (500, 7)], &[("status", 7)]);
}

/// `--expect-status` as a comma list and repeated: every listed status is fine, exit 0.
#[test]
fn expect_status_list_and_repeat() {
    let server = FakeServer::start(|i| Reply::Fixed([200, 201, 404][i % 3]));
    let url = server.url("/");
    let (run, report) = loadgen_json(&[&url, "-u", "1", "-l", "9", "--expect-status", "200,201"]);
    run.assert_code(1);
    assert_counts(
        &report,
        9,
        &[(200, 3), (201, 3), (404, 3)],
        &[("status", 3)],
    );
    let args = [
        &url,
        "-u",
        "1",
        "-l",
        "9",
        "--expect-status",
        "200",
        "--expect-status",
        "201,404",
    ];
    let (run, report) = loadgen_json(&args);
    run.assert_code(0);
    assert_counts(&report, 9, &[(200, 3), (201, 3), (404, 3)], &[]);
}

/// Chunked responses (split over several writes, with a chunk extension) are parsed and counted.
#[test]
fn chunked_responses() {
    let server = FakeServer::start(|i| Reply::Chunked(if i % 2 == 0 { 201 } else { 500 }));
    for keep in [false, true] {
        let before = server.request_count();
        let mut args = vec![
            server.url("/api/tasks/"),
            "-u".into(),
            "2".into(),
            "-l".into(),
            "5".into(),
        ];
        if keep {
            args.push("--keepalive".into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (run, report) = loadgen_json(&args);
        run.assert_code(0);
        assert_counts(&report, 10, &[(201, 5), (500, 5)], &[]);
        assert_eq!(server.request_count() - before, 10, "keepalive {keep}");
    }
}

/// A `100 Continue` before the final response is skipped, not counted as a response.
#[test]
fn interim_responses_skipped() {
    let server = FakeServer::always(Reply::Interim(201));
    let (run, report) = loadgen_json(&[&server.url("/"), "-u", "2", "-l", "4", "--keepalive"]);
    run.assert_code(0);
    assert_counts(&report, 8, &[(201, 8)], &[]);
    assert_eq!(server.request_count(), 8);
}

/// A response without Content-Length ends when the server closes: one complete response each.
#[test]
fn close_delimited_responses() {
    let server = FakeServer::always(Reply::CloseDelimited(200));
    let (run, report) = loadgen_json(&[&server.url("/"), "-u", "2", "-l", "4"]);
    run.assert_code(0);
    assert_counts(&report, 8, &[(200, 8)], &[]);
}

/// Never more threads than users (`-t 4 -u 1` runs one thread), and the report says so.
#[test]
fn threads_capped_by_users() {
    let server = FakeServer::always(Reply::Fixed(200));
    let (run, report) = loadgen_json(&[&server.url("/"), "-t", "4", "-u", "1", "-l", "3"]);
    run.assert_code(0);
    assert_eq!(uint(&report, "threads"), 1, "{report:#}");
    assert_counts(&report, 3, &[(200, 3)], &[]);
}

/// Many users over two threads, keep-alive: 40 × 25 = 1000 exact, each user on its own connection.
#[test]
fn many_users_two_threads() {
    let server = FakeServer::always(Reply::Fixed(201));
    let url = server.url("/api/tasks/");
    let (run, report) = loadgen_json(&[&url, "-t", "2", "-u", "40", "-l", "25", "-k"]);
    run.assert_code(0);
    assert_counts(&report, 1000, &[(201, 1000)], &[]);
    assert_eq!(server.request_count(), 1000);
    assert_eq!(server.connections(), 40);
    let conns: BTreeSet<usize> = server.requests().iter().map(|r| r.conn).collect();
    assert_eq!(conns.len(), 40);
}

//! Services other than the task API under the same master: `--app hello` and the
//! `examples/fsync_log` service, in both worker modes, through requests, a rolling
//! reload and a graceful stop.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::http::{parse_response, post_bytes};
use support::{exchange, get, get_request, must_exchange, send_raw, Server, Signal};

/// The hello service's body.
const HELLO: &[u8] = br#"{"message":"Hello, World!"}"#;
/// How long a reload or a stop may take here.
const LIMIT: Duration = Duration::from_secs(20);

/// `--app hello`, evloop: every path and method answers the fixed body.
#[test]
fn hello_evloop() {
    hello("evloop");
}

/// `--app hello`, threads: every path and method answers the fixed body.
#[test]
fn hello_threads() {
    hello("threads");
}

/// The example service, evloop: durable appends with group commit.
#[test]
fn fsync_log_example_evloop() {
    fsync_log("evloop");
}

/// The example service, threads: durable appends with group commit.
#[test]
fn fsync_log_example_threads() {
    fsync_log("threads");
}

/// Starts hello with two workers (no database anywhere), checks its answers, the
/// built-in endpoints, a reload and a stop.
fn hello(mode: &str) {
    let mut server = Server::spawn(Server::command(&[
        "--app",
        "hello",
        "--workers",
        "2",
        "--mode",
        mode,
    ]));
    server.wait_ready(LIMIT);
    assert!(
        server.find_line(|l| l.contains("database")).is_none(),
        "hello uses no database: {:?}",
        server.lines()
    );
    for path in ["/", "/api/tasks", "/anything/at/all?x=1"] {
        let resp = get(server.port, path);
        assert_eq!((resp.status, resp.body.as_slice()), (200, HELLO), "{path}");
        assert_eq!(resp.header("Content-Type"), Some("application/json"));
    }
    let post = must_exchange(server.port, &post_bytes("/x", "text/plain", b"ignored", ""));
    assert_eq!((post.status, post.body.as_slice()), (200, HELLO));
    head_has_no_body(server.port, HELLO.len());
    pipelined_answers_in_order(server.port);
    builtins(server.port, &[]);
    reload_and_stop(&mut server, |port| {
        assert_eq!(get(port, "/").body, HELLO);
    });
}

/// `HEAD /` gets the `GET` headers (same `Content-Length`) and no body.
fn head_has_no_body(port: u16, len: usize) {
    let raw = send_raw(
        port,
        b"HEAD / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains(&format!("Content-Length: {len}\r\n")),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\n"), "no body after the head: {text}");
}

/// Three requests in one write get three answers, in order, on one connection.
fn pipelined_answers_in_order(port: u16) {
    let mut bytes = get_request("/a");
    bytes.extend_from_slice(&get_request("/b"));
    bytes.extend_from_slice(b"GET /c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let raw = send_raw(port, &bytes);
    let mut rest = raw.as_slice();
    let mut answers = 0;
    while let Ok(Some((resp, used))) = parse_response(rest) {
        assert_eq!(resp.status, 200);
        answers += 1;
        rest = &rest[used..];
    }
    assert_eq!(answers, 3, "{:?}", String::from_utf8_lossy(&raw));
}

/// `/health` is the worker's (plus the service's members), `/stats` lists both
/// workers, and other methods on them are 405.
fn builtins(port: u16, members: &[(&str, &str)]) {
    let health = get(port, "/health");
    let mut expected = serde_json::json!({"status": "ok"});
    for (name, value) in members {
        expected[name] = (*value).into();
    }
    assert_eq!((health.status, health.json()), (200, expected));
    let stats = get(port, "/stats").json();
    assert_eq!(stats["total"]["workers"], 2, "{stats}");
    let post = must_exchange(port, &post_bytes("/stats", "text/plain", b"x", ""));
    assert_eq!(
        (post.status, post.header("Allow")),
        (405, Some("GET, HEAD"))
    );
}

/// SIGHUP replaces both workers (the service still answers from the new ones), then
/// SIGTERM stops the master with status 0.
fn reload_and_stop(server: &mut Server, still_serves: impl Fn(u16)) {
    let before: BTreeSet<i32> = server.worker_pids().into_keys().collect();
    server.signal(Signal::SIGHUP);
    let deadline = Instant::now() + LIMIT;
    server.wait_until(deadline, "two new workers after SIGHUP", |s| {
        let now: BTreeSet<i32> = s.worker_pids().into_keys().collect();
        now.len() == 2 && now.is_disjoint(&before)
    });
    still_serves(server.port);
    server.signal(Signal::SIGTERM);
    let status = server.wait_exit(LIMIT);
    assert_eq!(status.code(), Some(0), "{:?}", server.lines());
}

/// The example binary, built beside prefork by `cargo build --examples` (bin/test
/// builds it; `cargo test` builds examples too).
fn example(name: &str) -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_prefork"))
        .with_file_name("examples")
        .join(name);
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --examples` (bin/test does)",
        bin.display()
    );
    bin
}

/// Starts the example with two workers on a fresh log file, appends from four
/// clients at once, and checks every `201` against the file, the group commit in
/// `/stats`, a reload and a stop.
fn fsync_log(mode: &str) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(support::db::unique_name("fsync-log"));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("entries.log");
    let mut cmd = Command::new(example("fsync_log"));
    cmd.args(["--bind", "127.0.0.1:0", "--workers", "2", "--mode", mode])
        .args(["--threads", "8"])
        .arg("--log")
        .arg(&log);
    if nix::unistd::Uid::effective().is_root() {
        // Workers would run as nobody, who cannot write the test's directory.
        cmd.args(["--user", "root"]);
    }
    let mut server = Server::spawn(cmd);
    server.wait_ready(LIMIT);
    let port = server.port;
    let clients: Vec<_> = (0..4)
        .map(|c| {
            std::thread::spawn(move || {
                (0..10)
                    .map(|i| {
                        let entry = format!("client {c} entry {i}");
                        let req = post_bytes("/entries", "text/plain", entry.as_bytes(), "");
                        let resp = exchange(port, &req).expect("append");
                        assert_eq!(resp.status, 201, "{entry}: {}", resp.text());
                        entry
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let acknowledged: BTreeSet<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    let stored = std::fs::read_to_string(&log).unwrap();
    let lines: BTreeSet<String> = stored.lines().map(str::to_owned).collect();
    assert_eq!(lines, acknowledged, "every 201 is a line in the file, once");
    assert_eq!(stored.lines().count(), 40);
    let size = get(port, "/entries").json()["bytes"].as_u64().unwrap();
    assert_eq!(size, stored.len() as u64);
    let stats = get(port, "/stats").json();
    assert_eq!(
        stats["total"]["batched_rows"], 40,
        "each append counted in a commit: {stats}"
    );
    let two_lines = post_bytes("/entries", "text/plain", b"a\nb", "");
    assert_eq!(must_exchange(port, &two_lines).status, 400);
    builtins(port, &[("log", "open")]);
    reload_and_stop(&mut server, |port| {
        let resp = must_exchange(port, &post_bytes("/entries", "text/plain", b"after", ""));
        assert_eq!(resp.status, 201);
    });
    assert!(std::fs::read_to_string(&log).unwrap().ends_with("after\n"));
    std::fs::remove_dir_all(&dir).unwrap();
}

//! `--access-log`: a line per response with the fields the README documents, a client's
//! bytes escaped, `SIGUSR1` reopening a log that logrotate renamed (both modes, workers
//! running as another user than the master), a path that cannot be opened stopping the
//! master before it binds, and the standard output with the lines buffered at exit.

mod support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use support::{
    assert_created, exchange, form_request, get_request, poll_until, scratch_dir, send_raw, uid_of,
    Cfg, Conn, Server, Signal, TestDb,
};

/// One parsed access-log line.
#[derive(Debug)]
struct Line {
    host: String,
    time: String,
    request: String,
    status: u16,
    /// `None` for `-`.
    bytes: Option<usize>,
    micros: u64,
    worker: usize,
}

/// Parses a line strictly: `HOST - - [TIME] "REQUEST" STATUS BYTES MICROS WORKER`.
fn parse(line: &str) -> Line {
    fn bad<T>(line: &str) -> T {
        panic!("not an access-log line: {line:?}")
    }
    let (host, rest) = line.split_once(" - - [").unwrap_or_else(|| bad(line));
    let (time, rest) = rest.split_once("] \"").unwrap_or_else(|| bad(line));
    let (request, rest) = rest.rsplit_once("\" ").unwrap_or_else(|| bad(line));
    let fields: Vec<&str> = rest.split(' ').collect();
    assert_eq!(fields.len(), 4, "{line:?}");
    assert!(
        line.bytes().all(|b| (0x20..0x7f).contains(&b)),
        "raw control or non-ASCII bytes in {line:?}"
    );
    assert!(!request.contains('"'), "an unescaped quote in {line:?}");
    Line {
        host: host.to_string(),
        time: time.to_string(),
        request: request.to_string(),
        status: fields[0].parse().unwrap_or_else(|_| bad(line)),
        bytes: (fields[1] != "-").then(|| fields[1].parse().unwrap_or_else(|_| bad(line))),
        micros: fields[2].parse().unwrap_or_else(|_| bad(line)),
        worker: fields[3].parse().unwrap_or_else(|_| bad(line)),
    }
}

/// The lines of `path` (none if it does not exist yet).
fn read_lines(path: &Path) -> Vec<Line> {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines().map(parse).collect()
}

/// The lines of `path` but the readiness checks' (`GET /health`).
fn test_lines(path: &Path) -> Vec<Line> {
    let mut lines = read_lines(path);
    lines.retain(|l| l.request != "GET /health HTTP/1.1");
    lines
}

/// Polls until `path` holds `n` lines besides the readiness checks' (the workers'
/// timer writes them within a second), and returns those.
fn wait_lines(path: &Path, n: usize) -> Vec<Line> {
    poll_until(
        Duration::from_secs(10),
        &format!("{n} lines in {}", path.display()),
        || test_lines(path).len() >= n,
    );
    let lines = test_lines(path);
    assert_eq!(lines.len(), n, "{lines:#?}");
    lines
}

/// Every kind of answer is a line with the right fields: 201s on a keep-alive
/// connection, a 200 with its body length, a HEAD (no body: `-`), the parser's 400
/// for a request line with a quote and an escape byte (escaped, not raw), a 404.
fn lines_name_every_response(cfg: Cfg) {
    let db = TestDb::fresh();
    let dir = scratch_dir("access-log");
    let log = dir.join("access.log");
    let server = cfg.start(&db, &["--access-log", log.to_str().unwrap()]);
    let mut conn = Conn::open(server.port).unwrap();
    let mut created = Vec::new();
    for i in 0..3 {
        conn.send(&form_request(&format!("t{i}"), "d")).unwrap();
        let resp = conn.read_response().unwrap();
        let id = assert_created(&resp, &format!("t{i}"), "d");
        created.push((id, resp.body.len()));
    }
    let (id, _) = created[0];
    let got = exchange(server.port, &get_request(&format!("/api/tasks/{id}"))).unwrap();
    assert_eq!(got.status, 200);
    let expect_status = |request: &[u8], status: &str| {
        let answer = send_raw(server.port, request);
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with(&format!("HTTP/1.1 {status} ")), "{text}");
    };
    expect_status(
        b"HEAD /health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        "200",
    );
    expect_status(b"GET /a\"b\x1b[31m HTTP/1.1\r\nHost: h\r\n\r\n", "400");
    let missing = exchange(server.port, &get_request("/nowhere")).unwrap();
    assert_eq!(missing.status, 404);

    let lines = wait_lines(&log, 7);
    let workers = 0..cfg.workers;
    for line in &lines {
        assert_eq!(line.host, "127.0.0.1");
        assert!(
            line.time.ends_with(" +0000") && line.time.len() == 26,
            "{line:?}"
        );
        assert!(workers.contains(&line.worker), "{line:?}");
        assert!(line.micros < 10_000_000, "{line:?}");
    }
    // The keep-alive connection's answers come from one worker, in order (workers
    // write their buffers independently: only one worker's lines are ordered).
    let posts: Vec<&Line> = lines
        .iter()
        .filter(|l| l.request.starts_with("POST"))
        .collect();
    assert_eq!(posts.len(), 3, "{lines:#?}");
    for (i, line) in posts.iter().enumerate() {
        assert_eq!(line.request, "POST /api/tasks HTTP/1.1");
        assert_eq!((line.status, line.bytes), (201, Some(created[i].1)));
        assert_eq!(line.worker, posts[0].worker);
    }
    let find = |request: &str| {
        lines
            .iter()
            .find(|l| l.request == request)
            .unwrap_or_else(|| panic!("no line for {request:?} in {lines:#?}"))
    };
    let get_line = find(&format!("GET /api/tasks/{id} HTTP/1.1"));
    assert_eq!(
        (get_line.status, get_line.bytes),
        (200, Some(got.body.len()))
    );
    let head_line = find("HEAD /health HTTP/1.1");
    assert_eq!((head_line.status, head_line.bytes), (200, None));
    let hostile_line = find("GET /a\\x22b\\x1b[31m HTTP/1.1");
    assert_eq!(hostile_line.status, 400);
    assert_eq!(find("GET /nowhere HTTP/1.1").status, 404);
    drop(server);
    let _ = fs::remove_dir_all(&dir);
}

/// logrotate's way: rename the log, `SIGUSR1` the master; the lines buffered before
/// go to the renamed file, every later one to the new file at the path, which the
/// workers (another user when the tests run as root) can write.
fn usr1_reopens_a_renamed_log(cfg: Cfg) {
    let db = TestDb::fresh();
    let dir = scratch_dir("access-log");
    let log = dir.join("access.log");
    let rotated = dir.join("access.log.1");
    let server = cfg.start(&db, &["--access-log", log.to_str().unwrap()]);
    let get = |path: &str| {
        let resp = exchange(server.port, &get_request(path)).unwrap();
        assert_eq!(resp.status, 404, "{path}");
    };
    for i in 0..4 {
        get(&format!("/before/{i}"));
    }
    wait_lines(&log, 4);
    fs::rename(&log, &rotated).unwrap();
    // Written after the rename, still to the old file (whatever the workers hold).
    for i in 0..3 {
        get(&format!("/renamed/{i}"));
    }
    server.signal(Signal::SIGUSR1);
    server.wait_for_line(
        |l| l.contains("reopening the access log"),
        Duration::from_secs(10),
    );
    let workers: Vec<i32> = server.worker_pids().into_keys().collect();
    for pid in &workers {
        server.wait_for_line(
            |l| l.contains(&format!("pid {pid}: reopened the access log")),
            Duration::from_secs(10),
        );
    }
    for i in 0..5 {
        get(&format!("/after/{i}"));
    }
    let new = wait_lines(&log, 5);
    assert!(
        new.iter().all(|l| l.request.starts_with("GET /after/")),
        "{new:#?}"
    );
    let old = test_lines(&rotated);
    assert_eq!(old.len(), 7, "{old:#?}");
    assert!(
        old[..4]
            .iter()
            .all(|l| l.request.starts_with("GET /before/")),
        "{old:#?}"
    );
    assert!(
        old[4..]
            .iter()
            .all(|l| l.request.starts_with("GET /renamed/")),
        "{old:#?}"
    );
    // The new file belongs to the workers' user, so a worker forked later can reopen it.
    assert_eq!(fs::metadata(&log).unwrap().uid(), uid_of(workers[0]));
    drop(server);
    let _ = fs::remove_dir_all(&dir);
}

support::matrix!(lines_name_every_response, usr1_reopens_a_renamed_log);

/// A log the master cannot open stops it before anything is bound: exit 2, the path
/// and what to check named.
#[test]
fn unopenable_access_log_is_refused_at_start() {
    let out = Server::command(&["--access-log", "/nonexistent-prefork-dir/access.log"])
        .args([
            "--database-url",
            "host=/nonexistent dbname=x",
            "--workers",
            "1",
        ])
        .output()
        .expect("run prefork");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains("cannot open the access log /nonexistent-prefork-dir/access.log")
            && stderr.contains("directory exists"),
        "stderr: {stderr}"
    );
    assert!(!stderr.contains("listening on"), "stderr: {stderr}");
}

/// `--access-log -` writes to the standard output; a worker stopped right after its
/// last answer writes its buffered lines on the way out.
#[test]
fn stdout_log_is_written_at_exit() {
    let db = TestDb::fresh();
    let dir = scratch_dir("access-log");
    let out = dir.join("stdout");
    let mut cmd = Server::command(&["--access-log", "-", "--workers", "1"]);
    cmd.args(["--database-url", &db.url()]);
    cmd.stdout(Stdio::from(fs::File::create(&out).unwrap()));
    let mut server = Server::spawn(cmd);
    server.wait_ready(Duration::from_secs(30));
    for i in 0..3 {
        let resp = exchange(server.port, &get_request(&format!("/bye/{i}"))).unwrap();
        assert_eq!(resp.status, 404);
    }
    server.signal(Signal::SIGTERM);
    assert!(server.wait_exit(Duration::from_secs(30)).success());
    let lines = test_lines(&out);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines.iter().all(|l| l.request.starts_with("GET /bye/")),
        "{lines:#?}"
    );
    let _ = fs::remove_dir_all(&dir);
}

//! Listening on Unix sockets (`--bind unix:PATH`) and on several addresses at once: the
//! task API answers on each, the socket file gets the mode and owner asked for, a stale
//! file left by a dead server is replaced while a live one, or a file that is not a
//! socket, is refused, and the file goes away when prefork stops.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::http::exchange_unix;
use support::{assert_created, form_request, post_form, Server, Signal, TestDb};

const STEP: Duration = Duration::from_secs(30);

#[test]
fn serves_on_unix_and_tcp_sockets_evloop() {
    serves_on_unix_and_tcp_sockets("evloop");
}

#[test]
fn serves_on_unix_and_tcp_sockets_threads() {
    serves_on_unix_and_tcp_sockets("threads");
}

/// A POST over the Unix socket at `path`, which must be created.
fn post_unix(path: &Path, title: &str) -> i64 {
    let resp = exchange_unix(path, &form_request(title, "over unix"))
        .unwrap_or_else(|e| panic!("POST over {}: {e}", path.display()));
    assert_created(&resp, title, "over unix")
}

/// `--bind 127.0.0.1:0 --bind unix:PATH --bind 127.0.0.1:0`, 2 workers: 201s on the
/// Unix socket (raw client and curl) and on both TCP addresses, every one a row; the
/// file has `--socket-mode`; it is gone after a graceful stop.
fn serves_on_unix_and_tcp_sockets(mode: &str) {
    let db = TestDb::fresh();
    let dir = support::scratch_dir("unix");
    let path = dir.join("prefork.sock");
    let bind = format!("unix:{}", path.display());
    let args = [
        "--mode",
        mode,
        "--workers",
        "2",
        "--threads",
        "4",
        "--bind",
        &bind,
        "--bind",
        "127.0.0.1:0",
        "--socket-mode",
        "666",
    ];
    let mut server = Server::start(&args, &db.url());
    let mode_bits = std::fs::metadata(&path)
        .expect("the socket file")
        .permissions()
        .mode();
    assert_eq!(mode_bits & 0o777, 0o666, "--socket-mode");
    let second = server
        .find_line(|l| l.starts_with("prefork: also listening on http://"))
        .expect("the second TCP address is announced");
    let second: u16 = second
        .rsplit(':')
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no port in {second:?}"));
    assert!(server
        .find_line(|l| l.contains(&format!("also listening on {bind}")))
        .is_some());

    let mut created = 0;
    for i in 0..20 {
        post_unix(&path, &format!("unix {i}"));
        assert_created(&post_form(server.port, "tcp", "d"), "tcp", "d");
        assert_created(&post_form(second, "second", "d"), "second", "d");
        created += 3;
    }
    let curl = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--unix-socket",
        ])
        .arg(&path)
        .args([
            "--data",
            "title=curl&description=d",
            "http://localhost/api/tasks",
        ])
        .output()
        .expect("run curl");
    assert_eq!(String::from_utf8_lossy(&curl.stdout), "201", "{curl:?}");
    created += 1;
    assert_eq!(db.count_rows(), created, "every 201 is a row");

    server.signal(Signal::SIGTERM);
    assert!(server.wait_exit(STEP).success());
    assert!(!path.exists(), "the socket file is removed at exit");
}

/// Only a Unix socket (no TCP at all), owned as `--socket-owner` says, over a stale
/// socket file that a dead server left behind: replaced, said so, and served.
#[test]
fn unix_only_over_a_stale_file_with_owner() {
    let db = TestDb::fresh();
    let dir = support::scratch_dir("unix");
    let path = dir.join("prefork.sock");
    drop(UnixListener::bind(&path).expect("a socket that nobody accepts on any more"));
    assert!(path.exists());
    // Root may give the file to anyone; others can only give it to themselves.
    let (owner, uid) = match nix::unistd::geteuid().is_root() {
        true => ("nobody", nobody_uid()),
        false => ("", nix::unistd::geteuid().as_raw()),
    };
    let gid = nix::unistd::getegid().as_raw();
    let owner = format!("{owner}:{gid}");
    let mut server = Server::spawn(unix_only(&path, &db, &["--socket-owner", &owner]));
    server.wait_for_line(|l| l.contains("removed the stale socket file"), STEP);
    server.wait_for_line(
        |l| l.contains("worker 0 pid") && l.contains("started"),
        STEP,
    );
    let meta = std::fs::metadata(&path).expect("the socket file");
    assert_eq!((meta.uid(), meta.gid()), (uid, gid), "--socket-owner");
    assert_eq!(meta.mode() & 0o777, 0o660, "the default --socket-mode");
    let line = server
        .find_line(|l| l.starts_with("prefork: listening on "))
        .unwrap();
    assert!(line.contains(&format!("unix:{}", path.display())), "{line}");
    post_when_ready(&path);
    for i in 0..10 {
        post_unix(&path, &format!("only unix {i}"));
    }
    assert_eq!(db.count_rows(), 11);

    // A second server on the same path is refused, and the first keeps its file.
    let mut second = Server::spawn(unix_only(&path, &db, &[]));
    let status = second.wait_exit(STEP);
    assert_eq!(status.code(), Some(1), "{:?}", second.lines());
    assert!(second
        .find_line(|l| l.contains("is already served") && l.contains("choose another path"))
        .is_some());
    post_unix(&path, "still served");

    server.signal(Signal::SIGTERM);
    assert!(server.wait_exit(STEP).success());
    assert!(!path.exists());
}

/// A path that holds something other than a socket is never replaced: exit 1, the
/// message says why, the file is intact.
#[test]
fn refuses_to_replace_a_file_that_is_not_a_socket() {
    let db = TestDb::fresh();
    let dir = support::scratch_dir("unix");
    let path = dir.join("precious.txt");
    std::fs::write(&path, "keep me").unwrap();
    let mut server = Server::spawn(unix_only(&path, &db, &[]));
    assert_eq!(server.wait_exit(STEP).code(), Some(1));
    assert!(server
        .find_line(|l| l.contains("exists and is not a socket"))
        .is_some());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
}

/// `prefork --bind unix:PATH` alone (no TCP address), one worker.
fn unix_only(path: &Path, db: &TestDb, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_prefork"));
    cmd.arg("--bind")
        .arg(format!("unix:{}", path.display()))
        .args(["--workers", "1", "--database-url", &db.url()])
        .args(extra)
        .env_remove("DATABASE_URL");
    cmd
}

/// Polls until a POST over `path` gets its 201 (the worker may still be booting).
fn post_when_ready(path: &Path) {
    support::poll_until(STEP, "a 201 over the Unix socket", || {
        exchange_unix(path, &form_request("first", "over unix")).is_ok_and(|r| r.status == 201)
    });
}

fn nobody_uid() -> u32 {
    nix::unistd::User::from_name("nobody")
        .ok()
        .flatten()
        .map(|u| u.uid.as_raw())
        .expect("a nobody user")
}

//! `--pid FILE`: the master's pid is there while it runs, gone after a graceful stop,
//! and a second master is not allowed to take over the file of a running one.

mod support;

use std::time::Duration;

use support::{Server, Signal, TestDb};

#[test]
fn written_refused_to_a_second_master_removed_at_stop() {
    let db = TestDb::fresh();
    let path = support::scratch_dir("pidfiles").join("prefork.pid");
    let pid_arg = path.to_str().expect("UTF-8 path");
    let mut first = Server::start(&["--workers", "1", "--pid", pid_arg], &db.url());
    let written = std::fs::read_to_string(&path).expect("the pid file exists");
    assert_eq!(written, format!("{}\n", first.pid()));

    // Another master (on another port) must not take the running one's file.
    let mut second = Server::spawn(Server::command(&[
        "--workers",
        "1",
        "--database-url",
        &db.url(),
        "--pid",
        pid_arg,
    ]));
    let status = second.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1), "{:?}", second.lines());
    let refusal = second
        .find_line(|l| l.contains("names running process"))
        .unwrap_or_else(|| panic!("no refusal in {:?}", second.lines()));
    assert!(refusal.contains(&first.pid().to_string()), "{refusal}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        written,
        "left alone"
    );

    first.signal(Signal::SIGTERM);
    assert!(first.wait_exit(Duration::from_secs(30)).success());
    assert!(!path.exists(), "removed when the master exits");
}

/// A file left by a master that is gone (SIGKILL: no cleanup) is replaced, and the log
/// says so.
#[test]
fn stale_file_is_replaced() {
    let db = TestDb::fresh();
    let path = support::scratch_dir("pidfiles").join("prefork.pid");
    // Above the kernel's largest pid (4194304): no such process can exist.
    std::fs::write(&path, "4194305\n").unwrap();
    let server = Server::start(
        &["--workers", "1", "--pid", path.to_str().unwrap()],
        &db.url(),
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("{}\n", server.pid())
    );
    assert!(server
        .find_line(|l| l.contains("replacing stale pid file") && l.contains("4194305"))
        .is_some());
}

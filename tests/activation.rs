//! Socket activation: started by `systemd-socket-activate` (from Debian's systemd
//! package, which speaks the same `LISTEN_FDS`/`LISTEN_PID` protocol as a `.socket`
//! unit), prefork serves on the socket it was passed instead of binding one — the
//! connection that woke it up included.

mod support;

use std::net::{TcpListener, UdpSocket};
use std::process::Command;
use std::time::Duration;

use support::http::exchange_unix;
use support::{assert_created, form_request, get, post_form, Server, Signal, TestDb};

/// A port nobody listens on now (bound to port 0, then released for the activator).
fn free_port() -> u16 {
    let probe = TcpListener::bind("127.0.0.1:0").expect("bind a probe");
    probe.local_addr().expect("probe address").port()
}

/// `systemd-socket-activate -l 127.0.0.1:PORT [extra…] prefork ARGS…`, waiting until
/// the activator listens (it starts prefork at the first connection).
fn activator(port: u16, extra: &[&str], args: &[&str]) -> Server {
    let mut cmd = Command::new("systemd-socket-activate");
    cmd.args(["-l", &format!("127.0.0.1:{port}")])
        .args(extra)
        .arg(env!("CARGO_BIN_EXE_prefork"))
        .args(args)
        .env_remove("DATABASE_URL");
    let server = Server::spawn(cmd);
    server.wait_for_line(
        |l| l.starts_with("Listening on 127.0.0.1:"),
        Duration::from_secs(10),
    );
    server
}

/// Both modes, 2 workers: the first POST (it starts prefork) and the next ones get
/// their 201s on the passed socket; prefork says where its socket came from, and
/// shares it between its workers since it has no `SO_REUSEPORT`.
fn serves_on_the_passed_socket(mode: &str) {
    let db = TestDb::fresh();
    let port = free_port();
    let url = db.url();
    let mut server = activator(
        port,
        &[],
        &["--database-url", &url, "--mode", mode, "--workers", "2"],
    );
    // Waits in the activator's backlog while prefork starts, then is accepted by a worker.
    let first = assert_created(&post_form(port, "woke it up", "d"), "woke it up", "d");
    server.wait_ready(Duration::from_secs(20));
    assert_eq!(server.port, port, "prefork listens where the activator did");
    assert_eq!(server.workers, 2);
    assert!(server
        .find_line(|l| l.contains("passed by socket activation (LISTEN_FDS)"))
        .is_some());
    assert!(server.find_line(|l| l.contains("accept shared")).is_some());
    let ids: Vec<i64> = (0..20)
        .map(|i| {
            let title = format!("after {i}");
            assert_created(&post_form(port, &title, "d"), &title, "d")
        })
        .collect();
    db.assert_row(first, "woke it up", "d");
    assert_eq!(db.count_rows(), 1 + ids.len() as i64);
    assert_eq!(get(port, "/stats").json()["total"]["workers"], 2);
}

#[test]
fn evloop_serves_on_the_passed_socket() {
    serves_on_the_passed_socket("evloop");
}

#[test]
fn threads_serves_on_the_passed_socket() {
    serves_on_the_passed_socket("threads");
}

/// A passed socket that is not a TCP listener (here a UDP one): prefork refuses to
/// start, naming the descriptor and what a .socket unit should say, and exits 1.
#[test]
fn a_udp_socket_is_refused() {
    let port = free_port();
    let mut server = activator(port, &["--datagram"], &["--workers", "1"]);
    // The first datagram starts prefork.
    let client = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP client");
    client
        .send_to(b"wake up", ("127.0.0.1", port))
        .expect("send a datagram");
    let status = server.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1), "{:?}", server.lines());
    let refusal = server
        .find_line(|l| {
            l.contains("descriptor 3 from LISTEN_FDS is not a listening TCP or Unix stream socket")
        })
        .unwrap_or_else(|| panic!("no refusal in {:?}", server.lines()));
    assert!(refusal.contains("ListenStream="), "{refusal}");
    assert!(server
        .find_line(|l| l.contains("listening on http://"))
        .is_none());
}

/// A Unix socket passed by the activator (`ListenStream=/path` in a .socket unit): the
/// POST that starts prefork and the next ones get 201s over it, both workers share it,
/// and prefork leaves the file alone at exit (it is the activator's).
fn serves_on_a_passed_unix_socket(mode: &str) {
    let db = TestDb::fresh();
    let dir = support::scratch_dir("activation");
    let path = dir.join("passed.sock");
    let mut cmd = Command::new("systemd-socket-activate");
    cmd.arg("-l")
        .arg(&path)
        .arg(env!("CARGO_BIN_EXE_prefork"))
        .args([
            "--database-url",
            &db.url(),
            "--mode",
            mode,
            "--workers",
            "2",
        ])
        .env_remove("DATABASE_URL");
    let mut server = Server::spawn(cmd);
    server.wait_for_line(|l| l.starts_with("Listening on "), Duration::from_secs(10));
    let post = |title: &str| {
        let resp = exchange_unix(&path, &form_request(title, "d")).expect("POST over the socket");
        assert_created(&resp, title, "d")
    };
    post("woke it up");
    let line = server.wait_for_line(
        |l| l.contains("prefork: listening on "),
        Duration::from_secs(20),
    );
    assert!(line.contains(&format!("unix:{}", path.display())), "{line}");
    assert!(line.contains("accept shared"), "{line}");
    for i in 0..20 {
        post(&format!("after {i}"));
    }
    assert_eq!(db.count_rows(), 21);
    support::signal_pid(server.pid(), Signal::SIGTERM);
    assert!(server.wait_exit(Duration::from_secs(20)).success());
    assert!(server
        .find_line(|l| l.contains("exiting with status 0"))
        .is_some());
}

#[test]
fn evloop_serves_on_a_passed_unix_socket() {
    serves_on_a_passed_unix_socket("evloop");
}

#[test]
fn threads_serves_on_a_passed_unix_socket() {
    serves_on_a_passed_unix_socket("threads");
}

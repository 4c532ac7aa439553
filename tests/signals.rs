//! Signals an operator may send out of habit, and a second instance on a served port:
//! none of them may take a running server down, and whatever ends the master stops the
//! private cluster it started.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use support::{assert_created, pid_alive, poll_until, post_form, Server, Signal, TestDb};

/// Signals prefork has no use for (a real-time one is sent by name too: nix has no
/// real-time signals).
const HABITS: [Signal; 2] = [Signal::SIGALRM, Signal::SIGPWR];

/// ALRM, PWR and a real-time signal to the master (evloop): logged, ignored, still serving with the same workers; USR2 (binary upgrade) refused with the private cluster, saying why; SIGTERM then stops the private cluster it started.
#[test]
fn unused_signals_are_ignored_evloop() {
    unused_signals_are_ignored("evloop", &["--workers", "2"]);
}

/// The same in threads mode.
#[test]
fn unused_signals_are_ignored_threads() {
    unused_signals_are_ignored("threads", &["--workers", "2"]);
}

/// `--no-fork`: HUP, TTIN, TTOU, USR2 and WINCH (which need a master with workers) are logged and ignored too.
#[test]
fn no_fork_ignores_master_signals() {
    let cluster = PrivateCluster::new("sig-nofork");
    let mut server = cluster.start(&["--no-fork", "--workers", "1"]);
    for signal in [
        Signal::SIGHUP,
        Signal::SIGTTIN,
        Signal::SIGTTOU,
        Signal::SIGUSR2,
        Signal::SIGWINCH,
    ] {
        server.signal(signal);
        server.wait_for_line(
            |l| l.contains(&format!("got {signal} under --no-fork")),
            Duration::from_secs(10),
        );
    }
    assert_created(
        &post_form(server.port, "after", "signals"),
        "after",
        "signals",
    );
    cluster.stop_and_check(&mut server);
}

/// A second prefork on a port the first serves exits non-zero naming the port; the first keeps every connection.
#[test]
fn second_instance_on_a_served_port_is_refused() {
    let db = TestDb::fresh();
    let first = Server::start(&["--workers", "2"], &db.url());
    let bind = format!("127.0.0.1:{}", first.port);
    let out = Command::new(env!("CARGO_BIN_EXE_prefork"))
        .args([
            "--bind",
            &bind,
            "--workers",
            "2",
            "--database-url",
            &db.url(),
        ])
        .output()
        .expect("run a second prefork");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!("port {} is already served", first.port)),
        "stderr: {stderr}"
    );
    assert!(!stderr.contains("listening on"), "stderr: {stderr}");
    let first_workers: Vec<i32> = first.worker_pids().into_keys().collect();
    for i in 0..10 {
        let title = format!("first-{i}");
        assert_created(&post_form(first.port, &title, "d"), &title, "d");
    }
    assert_eq!(
        first.worker_pids().into_keys().collect::<Vec<_>>(),
        first_workers
    );
}

/// `--accept shared` on a port another program holds keeps its plain "address in use" error.
#[test]
fn shared_listener_on_a_held_port_is_refused() {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bind = held.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_prefork"))
        .args(["--bind", &bind, "--accept", "shared", "--workers", "1"])
        .args(["--database-url", "host=/nonexistent dbname=x"])
        .output()
        .expect("run prefork");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {bind}")) && stderr.contains("in use"),
        "stderr: {stderr}"
    );
}

fn unused_signals_are_ignored(mode: &str, extra: &[&str]) {
    let cluster = PrivateCluster::new(&format!("sig-{mode}"));
    let mut args = vec!["--mode", mode];
    args.extend_from_slice(extra);
    let mut server = cluster.start(&args);
    let workers = server.worker_pids();
    for signal in HABITS {
        server.signal(signal);
        server.wait_for_line(
            |l| l.contains(&format!("master got {signal}")),
            Duration::from_secs(10),
        );
    }
    // Sent to a worker, they are ignored too: once delivered, the worker still runs.
    let worker = *workers.keys().next().expect("a worker");
    for signal in HABITS {
        support::signal_pid(worker, signal);
        poll_until(Duration::from_secs(10), "the signal delivered", || {
            delivered_or_gone(worker)
        });
        assert!(pid_alive(worker), "{signal} killed worker {worker}");
    }
    let rt = Command::new("kill")
        .args(["-s", "RTMIN+3", &server.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(rt.success());
    server.wait_for_line(
        |l| l.contains("master got SIGRTMIN+3"),
        Duration::from_secs(10),
    );
    // The private cluster stops with this master: no successor may be started on it.
    server.signal(Signal::SIGUSR2);
    server.wait_for_line(
        |l| l.contains("USR2 ignored: a binary upgrade needs --database-url"),
        Duration::from_secs(10),
    );
    assert!(pid_alive(server.pid()));
    assert_eq!(server.worker_pids(), workers, "workers changed");
    assert_created(
        &post_form(server.port, "after", "signals"),
        "after",
        "signals",
    );
    cluster.stop_and_check(&mut server);
}

/// A private cluster that prefork itself starts (no `--database-url`), in a directory
/// of this test's; removed (and stopped, if the test failed midway) on drop.
struct PrivateCluster(PathBuf);

impl PrivateCluster {
    fn new(name: &str) -> PrivateCluster {
        PrivateCluster(support::db::base_dir().join(support::db::unique_name(name)))
    }

    /// Starts prefork with its embedded default database in this directory.
    fn start(&self, args: &[&str]) -> Server {
        let mut cmd = Server::command(args);
        cmd.arg("--data-dir").arg(&self.0);
        let mut server = Server::spawn(cmd);
        server.wait_ready(Duration::from_secs(120));
        server
    }

    /// SIGTERM: the master exits 0 and the cluster it started is stopped.
    fn stop_and_check(&self, server: &mut Server) {
        let postgres =
            support::db::postmaster_pid(&self.0).expect("postmaster.pid of the private cluster");
        server.signal(Signal::SIGTERM);
        let status = server.wait_exit(Duration::from_secs(60));
        assert_eq!(
            status.code(),
            Some(0),
            "log:\n{}",
            server.lines().join("\n")
        );
        poll_until(
            Duration::from_secs(10),
            "the private cluster to stop",
            || !pid_alive(postgres),
        );
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        support::db::remove_cluster(&self.0);
    }
}

/// Whether `pid` has no signal pending any more (or is gone): `ShdPnd` in its status.
fn delivered_or_gone(pid: i32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return true;
    };
    let zombie = status
        .lines()
        .any(|l| l.starts_with("State:") && l.contains('Z'));
    let pending = status
        .lines()
        .find(|l| l.starts_with("ShdPnd:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .is_some_and(|mask| !mask.trim_start_matches('0').is_empty());
    zombie || !pending
}

//! Profiling knobs: `--no-fork` serves from the master process itself, `--pin-cpus`
//! binds each worker to one CPU.

mod support;

use std::time::Duration;

use support::{assert_created, poll_until, post_form, Server, Signal, TestDb, WorkerEvent};

/// `--no-fork --workers 1`: the one worker is the master process; a POST gets 201; SIGTERM exits 0.
#[test]
fn no_fork_serves_from_the_master_process() {
    let db = TestDb::fresh();
    let mut server = Server::start(&["--no-fork", "--workers", "1"], &db.url());
    let started: Vec<(usize, i32)> = server
        .worker_events()
        .into_iter()
        .filter(|(_, _, e)| *e == WorkerEvent::Started)
        .map(|(slot, pid, _)| (slot, pid))
        .collect();
    assert_eq!(
        started,
        vec![(0, server.pid())],
        "one worker, the master itself"
    );
    let resp = post_form(server.port, "no-fork", "served in the foreground");
    assert_created(&resp, "no-fork", "served in the foreground");
    server.signal(Signal::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(30));
    assert_eq!(
        status.code(),
        Some(0),
        "log:\n{}",
        server.lines().join("\n")
    );
}

/// `--no-fork` with two workers is refused with exit code 2 and a message naming the flag.
#[test]
fn no_fork_with_two_workers_is_refused() {
    let out = Server::command(&["--no-fork", "--workers", "2"])
        .output()
        .expect("run prefork");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains("--no-fork") && stderr.contains("--workers 1"),
        "stderr: {stderr}"
    );
}

/// `--pin-cpus --workers 2`: worker i may run only on the (i mod N)-th allowed CPU.
#[test]
fn pin_cpus_binds_each_worker_to_one_cpu() {
    let db = TestDb::fresh();
    let server = Server::start(&["--pin-cpus", "--workers", "2"], &db.url());
    let allowed = cpus_allowed(&std::fs::read_to_string("/proc/self/status").unwrap());
    for (pid, slot) in server.worker_pids() {
        let want = vec![allowed[slot % allowed.len()]];
        // The child pins itself right after fork; the `started` line may come first.
        poll_until(Duration::from_secs(5), "worker pinned", || {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status"));
            status.is_ok_and(|s| cpus_allowed(&s) == want)
        });
    }
}

/// The CPUs of a `/proc/PID/status` `Cpus_allowed_list:` line (`0-2,5`).
fn cpus_allowed(status: &str) -> Vec<usize> {
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .expect("Cpus_allowed_list line");
    let mut cpus = Vec::new();
    for range in line.trim().split(',') {
        let (lo, hi) = range.split_once('-').unwrap_or((range, range));
        cpus.extend(lo.parse::<usize>().unwrap()..=hi.parse::<usize>().unwrap());
    }
    cpus
}

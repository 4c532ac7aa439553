//! Connection and descriptor limits: the `--max-connections` cap, running out of file
//! descriptors, and the descriptor limit the master raises at start.

mod support;

use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use support::server::BOOT_TIMEOUT;
use support::{assert_created, form_request, poll_until, Cfg, Conn, Server, TestDb};

/// `ulimit -n` of the exhaustion runs: a few dozen connections use it up.
const TIGHT_NOFILE: u32 = 64;
/// Idle connections opened against it: more than the worker has descriptors for.
const EXHAUSTING: usize = 100;
/// Linux's fixed clock-tick rate of `/proc/PID/stat` times (USER_HZ).
const TICKS_PER_SECOND: u64 = 100;

/// Evloop at `--max-connections 8`: a 9th connection waits in the kernel's queue until one of the 8 closes, then is served.
#[test]
fn cap_queues_extra_connection_evloop() {
    cap_queues_extra_connection("evloop");
}

/// Threads at `--max-connections 8`: a 9th connection waits in the kernel's queue until one of the 8 closes, then is served.
#[test]
fn cap_queues_extra_connection_threads() {
    cap_queues_extra_connection("threads");
}

/// Evloop with `ulimit -n 64`: out of descriptors the worker backs off without spinning, and serves a queued request once descriptors are free.
#[test]
fn exhausted_descriptors_recover_evloop() {
    exhausted_descriptors_recover("evloop");
}

/// Threads with `ulimit -n 64`: out of descriptors the worker backs off without spinning, and serves a queued request once descriptors are free.
#[test]
fn exhausted_descriptors_recover_threads() {
    exhausted_descriptors_recover("threads");
}

/// The master raises a lowered soft descriptor limit to the hard one, says so in its banner, and workers inherit it.
#[test]
fn soft_descriptor_limit_raised_to_hard() {
    let hard = nofile_limits("self").1;
    let soft = hard.min(256);
    let db = TestDb::fresh();
    let args = ["--workers", "1", "--mode", "evloop"];
    let server = start_limited(&format!("-Sn {soft}"), &args, &db);
    let banner = format!(
        "prefork: descriptors: RLIMIT_NOFILE {hard} (the hard limit; soft was {soft}), \
         at most {} connections per worker",
        hard - 33
    );
    server.wait_for_line(|l| l == banner, Duration::from_secs(5));
    let worker = *server.worker_pids().keys().next().expect("a worker");
    assert_eq!(nofile_limits(&worker.to_string()), (hard, hard));
}

fn cap_queues_extra_connection(mode: &'static str) {
    let db = TestDb::fresh();
    let extra = ["--max-connections", "8", "--threads", "2"];
    let server = Cfg { mode, workers: 1 }.start(&db, &extra);
    let port = server.port;
    let mut held: Vec<TcpStream> = (0..8).map(|_| connect(port)).collect();
    poll_until(
        Duration::from_secs(10),
        "the 8 connections accepted",
        || listen_queue(port) == 0,
    );
    let mut ninth = Conn::open(port).expect("connect the 9th");
    ninth.send(&form_request("ninth", "queued")).expect("send");
    // A window, not a wait for readiness: the worker at its cap must leave it queued.
    for _ in 0..25 {
        assert_eq!(listen_queue(port), 1, "the 9th was accepted over the cap");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(held.pop());
    let resp = ninth
        .read_response()
        .expect("the 9th is served once one closed");
    assert_created(&resp, "ninth", "queued");
    assert_eq!(listen_queue(port), 0);
}

fn exhausted_descriptors_recover(mode: &str) {
    let db = TestDb::fresh();
    let args = [
        "--mode",
        mode,
        "--workers",
        "1",
        "--threads",
        "2",
        "--max-connections",
        "1000",
    ];
    let server = start_limited(&format!("-n {TIGHT_NOFILE}"), &args, &db);
    let port = server.port;
    let worker = *server.worker_pids().keys().next().expect("a worker");
    let idle: Vec<TcpStream> = (0..EXHAUSTING).map(|_| connect(port)).collect();
    server.wait_for_line(
        |l| l.starts_with(&format!("prefork: worker pid {worker}: cannot accept")),
        Duration::from_secs(10),
    );
    let mut fresh = Conn::open(port).expect("connect");
    fresh.send(&form_request("fresh", "queued")).expect("send");
    assert!(
        listen_queue(port) > 0,
        "connections wait in the kernel queue"
    );
    // The measuring window of the worker's CPU time while it cannot accept.
    let (ticks, started) = (cpu_ticks(worker), Instant::now());
    std::thread::sleep(Duration::from_secs(2));
    let used = (cpu_ticks(worker) - ticks) as f64 / TICKS_PER_SECOND as f64;
    let share = used / started.elapsed().as_secs_f64();
    assert!(share < 0.05, "worker used {:.1} % CPU", share * 100.0);
    drop(idle);
    let resp = fresh
        .read_response()
        .expect("served once descriptors are free");
    assert_created(&resp, "fresh", "queued");
}

fn connect(port: u16) -> TcpStream {
    TcpStream::connect(("127.0.0.1", port)).expect("connect")
}

/// Starts prefork on 127.0.0.1:0 under `ulimit {ulimit}` (bash's: `-n N` sets both
/// limits, `-Sn N` the soft one) and waits until it serves.
fn start_limited(ulimit: &str, args: &[&str], db: &TestDb) -> Server {
    let mut cmd = Command::new("bash");
    cmd.args(["-c", &format!("ulimit {ulimit} && exec \"$0\" \"$@\"")])
        .arg(env!("CARGO_BIN_EXE_prefork"))
        .args(["--bind", "127.0.0.1:0", "--database-url", &db.url()])
        .args(args)
        .env_remove("DATABASE_URL");
    let mut server = Server::spawn(cmd);
    server.wait_ready(BOOT_TIMEOUT);
    server
}

/// Connections waiting in the accept queue of the listener on `port`
/// (`/proc/net/tcp`: a listening socket's `rx_queue` is its accept backlog).
fn listen_queue(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let local = format!(":{port:04X}");
    let listening = table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields[1].ends_with(&local) && fields[3] == "0A").then(|| fields[4].to_string())
    });
    let queues = listening.unwrap_or_else(|| panic!("no listener on port {port}"));
    let rx = queues.split_once(':').expect("tx:rx").1;
    usize::from_str_radix(rx, 16).expect("hex queue length")
}

/// User plus system CPU time of `pid` so far, in clock ticks.
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // After the parenthesised name: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let field = |i: usize| fields[i - 3].parse::<u64>().expect("a tick count");
    field(14) + field(15)
}

/// `(soft, hard)` "Max open files" of `/proc/{who}/limits` (`self` or a pid).
fn nofile_limits(who: &str) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{who}/limits")).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("Max open files");
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

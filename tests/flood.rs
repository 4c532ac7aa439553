//! Hundreds of idle and slowloris connections stop neither worker mode from serving:
//! an idle or slow client costs a connection, never a thread or the loop.

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use support::{assert_created, get, poll_until, post_form, Cfg, TestDb};

/// Connections that connect and send nothing.
const IDLE: usize = 200;
/// Connections that trickle a request head, one byte per round.
const SLOW: usize = 200;
/// Fresh POSTs sent during the flood, one connection each.
const FRESH: usize = 40;
/// Pause between two trickle rounds.
const ROUND: Duration = Duration::from_millis(250);
/// Most trickle rounds (bounds the flood whatever the test does).
const MAX_ROUNDS: usize = 400;

/// Evloop, 2 workers: 200 idle + 200 slowloris connections do not stop fresh POSTs getting 201, during the flood and after it.
#[test]
fn flood_evloop() {
    flood("evloop");
}

/// Threads, 2 workers × 4 threads: 200 idle + 200 slowloris connections do not stop fresh POSTs getting 201, during the flood and after it.
#[test]
fn flood_threads() {
    flood("threads");
}

fn flood(mode: &'static str) {
    let db = TestDb::fresh();
    let server = Cfg { mode, workers: 2 }.start(&db, &["--threads", "4"]);
    let port = server.port;
    let idle: Vec<TcpStream> = (0..IDLE).map(|_| connect(port)).collect();
    let slow = Slowloris::start(port, SLOW);
    poll_until(
        Duration::from_secs(30),
        "every flood connection accepted",
        || accepted(port) >= IDLE + SLOW,
    );
    slow.wait_rounds(2);
    for i in 0..FRESH {
        let title = format!("during-{i}");
        assert_created(&post_form(port, &title, "flood"), &title, "flood");
    }
    assert!(
        slow.rounds() < MAX_ROUNDS,
        "the flood ended before the POSTs"
    );
    drop(idle);
    slow.stop();
    for i in 0..10 {
        let title = format!("after-{i}");
        assert_created(&post_form(port, &title, "flood"), &title, "flood");
    }
    assert_eq!(db.count_rows(), FRESH as i64 + 10);
}

fn connect(port: u16) -> TcpStream {
    TcpStream::connect(("127.0.0.1", port)).expect("connect a flood connection")
}

/// Connections accepted by all workers so far (`GET /stats`).
fn accepted(port: u16) -> usize {
    let stats = get(port, "/stats").json();
    stats["total"]["connections"].as_u64().expect("connections") as usize
}

/// A thread trickling request heads on many connections, one byte each per round.
struct Slowloris {
    stop: Arc<AtomicBool>,
    rounds: Arc<AtomicUsize>,
    handle: JoinHandle<()>,
}

impl Slowloris {
    /// Opens `count` connections to `port`, sends each the start of a request head,
    /// and trickles one more header byte per connection every [`ROUND`].
    fn start(port: u16, count: usize) -> Slowloris {
        let mut conns: Vec<TcpStream> = (0..count).map(|_| connect(port)).collect();
        let (stop, rounds) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicUsize::new(0)),
        );
        let (stop2, rounds2) = (Arc::clone(&stop), Arc::clone(&rounds));
        let handle = std::thread::spawn(move || {
            for conn in &mut conns {
                let _ = conn.write_all(b"POST /api/tasks/ HTTP/1.1\r\nHost: flood\r\nX-Slow: ");
            }
            for _ in 0..MAX_ROUNDS {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                // The trickle itself, not a wait: a slowloris sends this slowly.
                std::thread::sleep(ROUND);
                for conn in &mut conns {
                    let _ = conn.write_all(b"a");
                }
                rounds2.fetch_add(1, Ordering::SeqCst);
            }
        });
        Slowloris {
            stop,
            rounds,
            handle,
        }
    }

    /// Trickle rounds done so far.
    fn rounds(&self) -> usize {
        self.rounds.load(Ordering::SeqCst)
    }

    /// Polls until `n` more rounds than now are done.
    fn wait_rounds(&self, n: usize) {
        let target = self.rounds() + n;
        poll_until(Duration::from_secs(30), "trickle rounds", || {
            self.rounds() >= target
        });
    }

    /// Stops trickling and closes the connections.
    fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().expect("slowloris thread");
    }
}

//! A client trickling one byte per second holds up neither an evloop worker nor a
//! threads worker with a single request thread.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::bounded;
use support::{assert_created, form_request, get, post_form, Cfg, Conn, TestDb};

/// Bytes the slow client trickles at most (one per second) before it is told to hurry.
const TRICKLE_MAX: usize = 10;

/// With one evloop worker, 20 requests from another client complete while a slow client is still trickling its request.
#[test]
fn slow_client_does_not_delay_others() {
    slow_client_beside_fast_ones(Cfg::EVLOOP_1, &[]);
}

/// With one threads worker and one request thread, 20 requests from another client complete while a slow client is still trickling its request.
#[test]
fn slow_client_does_not_hold_the_only_thread() {
    slow_client_beside_fast_ones(Cfg::THREADS_1, &["--threads", "1"]);
}

/// A slow client trickles its request while another sends 20: all are answered, the
/// 20 before the slow one is done.
fn slow_client_beside_fast_ones(cfg: Cfg, extra: &[&str]) {
    let db = TestDb::fresh();
    let server = cfg.start(&db, extra);
    let port = server.port;
    let request = form_request("slow", "one byte per second");
    let total = request.len();
    let (sent, hurry, finished) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let (first_tx, first_rx) = bounded::<()>(1);
    let (sent2, hurry2, finished2) = (Arc::clone(&sent), Arc::clone(&hurry), Arc::clone(&finished));
    let slow = std::thread::spawn(move || {
        let mut conn = Conn::open(port).expect("connect");
        for i in 0..TRICKLE_MAX {
            if hurry2.load(Ordering::SeqCst) {
                break;
            }
            conn.send(&request[i..i + 1]).expect("trickle");
            sent2.store(i + 1, Ordering::SeqCst);
            if i == 0 {
                first_tx.send(()).unwrap();
            }
            std::thread::sleep(Duration::from_secs(1)); // the trickle itself, not a wait
        }
        finished2.store(true, Ordering::SeqCst);
        conn.send(&request[sent2.load(Ordering::SeqCst)..])
            .expect("send the rest");
        conn.read_response().expect("slow client's response")
    });
    first_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("slow client started");
    // One worker, FIFO accept queue: once this is answered, the slow connection is accepted.
    assert_eq!(get(port, "/health").status, 200);

    for i in 0..20 {
        let title = format!("fast-{i}");
        assert_created(&post_form(port, &title, "d"), &title, "d");
    }
    let trickled = sent.load(Ordering::SeqCst);
    let still_trickling = !finished.load(Ordering::SeqCst);
    hurry.store(true, Ordering::SeqCst);
    let slow_resp = slow.join().expect("slow client");
    assert!(
        still_trickling,
        "the 20 requests only completed after the slow client had sent everything"
    );
    assert!(trickled < total, "slow client sent {trickled} bytes");
    assert_created(&slow_resp, "slow", "one byte per second");
    assert_eq!(db.count_rows(), 21);
}

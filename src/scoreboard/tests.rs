use nix::sys::wait::waitpid;
use nix::unistd::ForkResult;

use super::*;

/// Runs `child` in a forked child (which then `_exit`s) and waits for it. The test
/// harness is multi-threaded: `child` must only do async-signal-safe things (clock
/// reads, atomic stores).
fn in_child(child: impl FnOnce()) {
    match sys::fork().unwrap() {
        ForkResult::Child => {
            child();
            sys::exit_immediately(0);
        }
        ForkResult::Parent { child } => {
            waitpid(child, None).unwrap();
        }
    }
}

/// A freshly allocated cell is young; an old stamp shows as a large age.
#[test]
fn age_of_new_and_stale_cells() {
    let mut board = Scoreboard::new(4).unwrap();
    let cell = board.allocate().unwrap();
    assert!(board.age(cell) < Duration::from_secs(1));
    board.cells[cell.0][HEARTBEAT].store(now_ms() - 5_000, Ordering::Relaxed);
    assert!(board.age(cell) >= Duration::from_secs(5));
    board.heartbeat(cell).beat();
    assert!(board.age(cell) < Duration::from_secs(1));
}

/// Cells run out at capacity and released cells can be allocated again.
#[test]
fn allocate_until_full_then_release() {
    let mut board = Scoreboard::new(2).unwrap();
    let a = board.allocate().unwrap();
    let b = board.allocate().unwrap();
    assert_ne!(a, b);
    assert_eq!(board.allocate(), None);
    board.release(a);
    assert_eq!(board.allocate(), Some(a));
}

/// A beat from a forked child is visible to the parent (the memory is shared).
#[test]
fn beat_from_child_is_seen_by_parent() {
    let mut board = Scoreboard::new(1).unwrap();
    let cell = board.allocate().unwrap();
    board.cells[cell.0][HEARTBEAT].store(0, Ordering::Relaxed);
    let heartbeat = board.heartbeat(cell);
    in_child(|| heartbeat.beat());
    assert!(board.age(cell) < Duration::from_secs(1));
}

/// Counts made by two forked children land in their own cells, and the snapshot lists
/// both, sorted by slot, with the pids they were occupied with.
#[test]
fn counters_from_children_are_in_the_snapshot() {
    let mut board = Scoreboard::new(8).unwrap();
    let (a, b) = (board.allocate().unwrap(), board.allocate().unwrap());
    board.occupy(a, 1, 1001);
    board.occupy(b, 0, 1002);
    let (ca, cb) = (board.counters(a), board.counters(b));
    in_child(|| {
        ca.connection();
        ca.requests(3);
        ca.commit(2);
        ca.commit(4);
    });
    in_child(|| {
        cb.connection();
        cb.connection();
        cb.requests(5);
    });
    let expected = [
        WorkerStats {
            slot: 0,
            pid: 1002,
            connections: 2,
            requests: 5,
            commits: 0,
            committed_jobs: 0,
            ..WorkerStats::default()
        },
        WorkerStats {
            slot: 1,
            pid: 1001,
            connections: 1,
            requests: 3,
            commits: 2,
            committed_jobs: 6,
            ..WorkerStats::default()
        },
    ];
    assert_eq!(board.board().snapshot(), expected);
    assert_eq!(expected[1].mean_group(), 3.0);
    assert_eq!(expected[0].mean_group(), 0.0);
}

/// A cell is absent from the snapshot until occupied and after release; allocating it
/// again starts the counters from zero.
#[test]
fn liveness_follows_occupy_and_release() {
    let mut board = Scoreboard::new(2).unwrap();
    let view = board.board();
    let cell = board.allocate().unwrap();
    assert_eq!(view.snapshot(), []);
    board.occupy(cell, 3, 42);
    let counters = board.counters(cell);
    counters.requests(7);
    counters.answered(201, Duration::from_millis(3));
    counters.rejected(400);
    counters.received(10);
    counters.sent(20);
    counters.closed();
    counters.db_errors(2);
    counters.db_reconnect();
    assert_eq!(view.snapshot()[0].requests, 7);
    assert_eq!(view.snapshot()[0].responses, [0, 1, 0, 1, 0]);
    board.release(cell);
    assert_eq!(view.snapshot(), []);
    let again = board.allocate().unwrap();
    assert_eq!(again, cell);
    board.occupy(again, 0, 43);
    let fresh = WorkerStats {
        pid: 43,
        ..WorkerStats::default()
    };
    assert_eq!(view.snapshot(), [fresh]);
}

/// A slot's old and new worker (rolling restart) are both listed, ordered by pid.
#[test]
fn same_slot_twice_is_ordered_by_pid() {
    let mut board = Scoreboard::new(4).unwrap();
    for pid in [9, 5] {
        let cell = board.allocate().unwrap();
        board.occupy(cell, 2, pid);
    }
    let pids: Vec<u32> = board.board().snapshot().iter().map(|w| w.pid).collect();
    assert_eq!(pids, [5, 9]);
}

/// Detached counters count on their own, outside any scoreboard.
#[test]
fn detached_counters_count() {
    let counters = Counters::detached();
    counters.connection();
    counters.requests(2);
    counters.commit(64);
    let got = counters.get();
    assert_eq!(
        (
            got.connections,
            got.requests,
            got.commits,
            got.committed_jobs
        ),
        (1, 2, 1, 64)
    );
}

/// The handles can be shared between threads, as threads mode does.
#[test]
fn handles_are_send_and_sync() {
    fn assert_send_sync<T: Clone + Send + Sync + std::fmt::Debug>() {}
    assert_send_sync::<Heartbeat>();
    assert_send_sync::<Counters>();
    assert_send_sync::<Board>();
}

/// A response lands in its status class and in the latency bucket whose bound is the
/// first at or above its latency (a bound itself is inside its bucket); the sum keeps
/// nanoseconds; the parser's rejections have a class and no latency.
#[test]
fn responses_by_class_and_latency_bucket() {
    let counters = Counters::detached();
    counters.answered(200, Duration::from_micros(10));
    counters.answered(201, Duration::from_micros(500)); // on the first bound
    counters.answered(201, Duration::from_micros(501));
    counters.answered(404, Duration::from_millis(30));
    counters.answered(503, Duration::from_secs(6)); // above the last bound
    counters.answered(0, Duration::ZERO); // no status line: a server error
    counters.rejected(431);
    let got = counters.get();
    assert_eq!(got.responses, [0, 3, 0, 2, 2]);
    assert_eq!(got.rejected, 1);
    let mut buckets = [0; LATENCY_BUCKETS];
    buckets[0] = 3; // 10 µs, 500 µs, 0
    buckets[1] = 1; // 501 µs
    buckets[6] = 1; // 30 ms (≤ 50 ms)
    buckets[LATENCY_BUCKETS - 1] = 1; // 6 s
    assert_eq!(got.latency, buckets);
    assert_eq!(
        got.latency_sum_ns,
        10_000 + 500_000 + 501_000 + 30_000_000 + 6_000_000_000
    );
}

/// Bytes and connections: open is accepted minus closed; database events count apart.
#[test]
fn bytes_connections_and_database_events() {
    let counters = Counters::detached();
    counters.connection();
    counters.connection();
    counters.closed();
    counters.received(100);
    counters.sent(250);
    counters.db_errors(3);
    counters.db_errors(0);
    counters.db_reconnect();
    let got = counters.get();
    assert_eq!((got.connections, got.closed, got.open()), (2, 1, 1));
    assert_eq!((got.received_bytes, got.sent_bytes), (100, 250));
    assert_eq!((got.db_errors, got.db_reconnects), (3, 1));
}

/// A cell is a whole number of cache lines and every field fits in it.
#[test]
fn cells_are_whole_cache_lines() {
    assert_eq!(std::mem::size_of::<Fields>() % 64, 0);
    let board = Scoreboard::new(3).unwrap();
    for cell in board.cells {
        assert_eq!(cell.as_ptr() as usize % 64, 0);
    }
}

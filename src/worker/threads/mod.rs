//! The thread-pool worker (Gunicorn's gthread model; `--threads 1` is its sync worker).
//!
//! The main thread is the acceptor: it waits on the listener, the signal pipe and the
//! parked keep-alive connections with a short `mio::Poll` timeout (so it also beats the
//! heartbeat and notices stop requests) and hands ready connections over a bounded
//! channel to T request threads. Each request thread owns its own PostgreSQL connection
//! and serves one connection at a time with blocking I/O and socket timeouts, through the
//! same [`Conn`] as the event loop. A connection that sits idle between requests while
//! others wait is parked back with the acceptor (like gthread's poller) rather than
//! closed: closing it would race a client reusing it.

mod acceptor;
mod pool;

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use mio::{Poll, Waker};

use super::conn::{Conn, Timeouts};
use super::{Quota, Stop, StopFlags, Worker, WorkerError};
use crate::config::Limits;
use crate::db::Db;
use crate::scoreboard::Counters;

/// Longest blocking wait of the acceptor (poll, channel send): how late it notices a
/// stop request.
const TICK: Duration = Duration::from_millis(200);

/// What the request threads share.
struct Shared {
    flags: StopFlags,
    quota: Arc<Quota>,
    /// This worker's activity counters (`GET /stats`).
    counters: Counters,
    limits: Limits,
    timeouts: Timeouts,
    /// Connections ready for a thread: new ones, and parked ones that became readable.
    queue: Receiver<Conn<TcpStream>>,
    /// Idle keep-alive connections handed back to the acceptor to wait in its poll.
    park: Sender<Conn<TcpStream>>,
    /// Wakes the acceptor's poll after a park.
    waker: Waker,
}

/// Serves until stopped; returns when the worker should exit.
pub(super) fn run(mut worker: Worker, listener: TcpListener, db: Db) -> Result<(), WorkerError> {
    // Room for one waiting connection per thread; beyond that the kernel's backlog holds
    // them (where, with a shared listener, another worker may take them).
    let (tx, rx) = crossbeam_channel::bounded(worker.config.threads);
    // Unbounded: a request thread must never block handing a connection back.
    let (park_tx, park_rx) = crossbeam_channel::unbounded();
    let poll = Poll::new()?;
    let waker = Waker::new(poll.registry(), acceptor::WAKE)?;
    let config = &worker.config;
    let shared = Arc::new(Shared {
        flags: worker.signals.flags.clone(),
        quota: Arc::clone(&worker.quota),
        counters: worker.counters.clone(),
        limits: config.limits,
        timeouts: Timeouts::of(config),
        queue: rx,
        park: park_tx,
        waker,
    });
    let pool = pool::start(&worker, db, &shared)?;
    let timeouts = shared.timeouts;
    let result = acceptor::run(&mut worker, poll, listener, (&tx, park_rx), &pool, timeouts);
    // Closing the channel lets the threads finish the queue and their connection, then end.
    drop(tx);
    if result.is_ok() && shared.flags.get() != Some(Stop::Immediate) {
        join_pool(pool, &worker);
    }
    Ok(result?)
}

/// Waits for the request threads to finish their connections, beating meanwhile; past
/// `--graceful-timeout` it stops waiting (the process exits, ending them).
fn join_pool(pool: Vec<JoinHandle<()>>, worker: &Worker) {
    let deadline = Instant::now() + worker.config.graceful_timeout;
    while !pool.iter().all(JoinHandle::is_finished) {
        if Instant::now() >= deadline || worker.signals.flags.get() == Some(Stop::Immediate) {
            return;
        }
        worker.heartbeat.beat();
        thread::sleep(TICK / 4);
    }
    for handle in pool {
        let _ = handle.join();
    }
}

//! The thread-pool worker (Gunicorn's gthread model; `--threads 1` is its sync worker).
//!
//! The main thread is the acceptor: it owns a `mio::Poll` with the listener, the signal
//! pipe and every connection no request thread is serving, beats the heartbeat and
//! notices stop requests. A new connection waits in that poll until it is readable (an
//! idle client never reaches a thread); a readable one goes over a bounded channel to
//! one of T request threads. Each request thread owns its own service context (the task
//! service: its own database connection) and serves one connection at a time through
//! the same [`Conn`](super::conn::Conn) as the
//! event loop, on a non-blocking socket: it reads what has arrived, answers every
//! complete request, and never waits for a client in the middle of a request. A request
//! still incomplete when the socket runs dry (a slow client, a slowloris) goes back to
//! the acceptor's poll with its partial buffer, like gthread returning connections to
//! its poller; so does a keep-alive connection between requests once other
//! connections wait for a thread.
//!
//! Accepting follows the workers' one rule ([`super::accept`]): at the connection cap
//! the acceptor stops until a connection closes, and out of descriptors it retries
//! after a short backoff. A graceful stop stops accepting, keeps answering what arrives
//! (with `Connection: close`) and closes a connection only between requests, after the
//! drain grace both modes share ([`super::session::DRAIN_GRACE`]); the worker exits
//! once every connection is closed, or at `--graceful-timeout`.
//!
//! With `--batch N > 1` (and more than one request thread, or there is nothing to
//! group) the jobs a service defers (the task service's inserts) go through the
//! worker's committer threads, which have the service commit every job queued at that
//! moment as one group (group commit); everything else stays on the request threads.
//! `--batch 1` commits each job on its request thread. A group holds at most one job
//! per request thread, so group commit pays with many threads (about as many as
//! keep-alive connections per worker).

mod acceptor;
mod client;
mod committer;
mod pool;
mod shared;
mod startup;

use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Instant;

use mio::{Poll, Waker};

use super::accept;
use super::conn::Timeouts;
use super::error::WorkerError;
use super::state::{Stop, Worker};
use crate::config::Config;
use crate::listener::Listener;
use crate::service::Service;
use client::Tally;
use committer::Inbox;
use shared::{Shared, Threads, TICK};

/// Committer threads per worker, sharing one queue: while one waits for its commit
/// the other takes what queued meanwhile, instead of those jobs waiting a whole extra
/// commit (for the task service, PostgreSQL flushes both commits' WAL together). Measured with 64
/// keep-alive clients, 2 workers, `--threads 16`/`32`/`64`: 1 committer 8.5k/12.3k/9.9k
/// req/s, 2 committers 10.8k/13.3k/12.8k, 4 committers 10.4k/14.8k/15.0k (medians of
/// 3 on a busy 2-core machine; `--batch 1`: 6.6k/7.5k/7.5k).
const COMMITTERS: usize = 2;

/// Whether jobs go through the committers: batching asked for, and more than one
/// request thread to batch from.
fn group_commit(config: &Config) -> bool {
    config.batch > 1 && config.threads > 1
}

/// The committers' inbox and threads when jobs are committed in groups; none otherwise.
type Committers<S> = (Option<Inbox<S>>, Vec<JoinHandle<()>>);

/// Starts the committers if the configuration asks for group commit.
fn start_committers<S: Service>(
    worker: &Worker,
    service: &Arc<S>,
) -> Result<Committers<S>, WorkerError> {
    if !group_commit(&worker.config) {
        return Ok((None, Vec::new()));
    }
    let (inbox, handles) = committer::start(
        (service, worker.slot),
        worker.config.batch,
        COMMITTERS,
        &worker.counters,
    )?;
    Ok((Some(inbox), handles))
}

/// Serves until stopped; returns when the worker should exit.
pub(super) fn run<S: Service>(
    mut worker: Worker,
    listeners: Vec<Listener>,
    service: Arc<S>,
) -> Result<(), WorkerError> {
    // Room for one readable connection per thread; beyond that they wait in the
    // acceptor's poll (the acceptor blocks on a full queue, still beating).
    let (tx, rx) = crossbeam_channel::bounded(worker.config.threads);
    // Unbounded: a request thread must never block handing a connection back.
    let (park_tx, park_rx) = crossbeam_channel::unbounded();
    let poll = Poll::new()?;
    let waker = Arc::new(Waker::new(poll.registry(), acceptor::WAKE)?);
    let config = &worker.config;
    let tally = Arc::new(Tally::new(accept::cap_for(config), Arc::clone(&waker)));
    let (committer, committers) = start_committers(&worker, &service)?;
    let shared = Arc::new(Shared {
        service,
        board: worker.board,
        flags: worker.signals.flags.clone(),
        quota: Arc::clone(&worker.quota),
        limits: config.limits,
        timeouts: Timeouts::of(config),
        queue: rx,
        park: park_tx,
        waker,
        counters: worker.counters,
        committer,
    });
    let threads = Threads {
        requests: pool::start(&worker, &shared)?,
        committers,
    };
    let result = acceptor::run(
        &mut worker,
        poll,
        listeners,
        (&tx, park_rx),
        &threads,
        (shared.timeouts, tally),
    );
    // Closing the channel lets the threads finish the queue and their connection, then end.
    drop(tx);
    let immediate = shared.flags.get() == Some(Stop::Immediate);
    // Our reference to the committers' inbox: once the request threads have dropped
    // theirs too, the committers answer what is queued and end.
    drop(shared);
    if result.is_ok() && !immediate {
        join(threads, &worker);
    }
    Ok(result?)
}

/// Waits for the request threads to finish their connections, then for the committers
/// to answer their last jobs, beating meanwhile; past `--graceful-timeout` it stops
/// waiting (the process exits, ending them).
fn join(threads: Threads, worker: &Worker) {
    let deadline = Instant::now() + worker.config.graceful_timeout;
    for group in [threads.requests, threads.committers] {
        if !wait_finished(&group, deadline, worker) {
            return;
        }
        for handle in group {
            let _ = handle.join();
        }
    }
}

/// Polls until every thread of `group` has finished, beating; false at the deadline or
/// on an immediate stop.
fn wait_finished(group: &[JoinHandle<()>], deadline: Instant, worker: &Worker) -> bool {
    while !group.iter().all(JoinHandle::is_finished) {
        if Instant::now() >= deadline || worker.signals.flags.get() == Some(Stop::Immediate) {
            return false;
        }
        worker.heartbeat.beat();
        thread::sleep(TICK / 4);
    }
    true
}

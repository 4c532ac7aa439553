//! The thread-pool worker (Gunicorn's gthread model; `--threads 1` is its sync worker).
//!
//! The main thread is the acceptor: it waits on the listener and the signal pipe with a
//! short `mio::Poll` timeout (so it also beats the heartbeat and notices stop requests)
//! and hands accepted connections over a bounded channel to T request threads. Each
//! request thread owns its own PostgreSQL connection and serves one connection at a time
//! with blocking I/O and socket timeouts, through the same [`Conn`] as the event loop.

use std::io::{self, ErrorKind};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, SendTimeoutError, Sender};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use super::conn::{is_timeout, Conn, Timeouts};
use super::{Quota, Stop, StopFlags, Worker, WorkerError};
use crate::app;
use crate::config::Limits;
use crate::db::{Db, DbError};
use crate::http::request::Request;
use crate::http::response::{DateCache, Response};

/// The listening socket in the acceptor's poll.
const LISTENER: Token = Token(0);
/// The signal self-pipe.
const SIGNAL: Token = Token(1);
/// Longest blocking wait of the acceptor (poll, channel send): how late it notices a
/// stop request.
const TICK: Duration = Duration::from_millis(200);
/// Longest blocking read of a request thread: how late it notices a deadline, a stop
/// request, or a connection waiting in the queue while its own one sits idle. Short,
/// because a blocked thread cannot be woken by the acceptor; 50 wake-ups a second per
/// thread cost next to nothing.
const READ_SLICE: Duration = Duration::from_millis(20);

/// What the request threads share.
struct Shared {
    flags: StopFlags,
    quota: Arc<Quota>,
    limits: Limits,
    timeouts: Timeouts,
    /// Accepted connections waiting for a thread.
    queue: Receiver<TcpStream>,
}

/// Serves until stopped; returns when the worker should exit.
pub(super) fn run(mut worker: Worker, listener: TcpListener, db: Db) -> Result<(), WorkerError> {
    // Room for one waiting connection per thread; beyond that the kernel's backlog holds
    // them (where, with a shared listener, another worker may take them).
    let (tx, rx) = crossbeam_channel::bounded(worker.config.threads);
    let config = &worker.config;
    let shared = Arc::new(Shared {
        flags: worker.signals.flags.clone(),
        quota: Arc::clone(&worker.quota),
        limits: config.limits,
        timeouts: Timeouts::of(config),
        queue: rx,
    });
    let pool = start_pool(&worker, db, &shared)?;
    let result = accept_loop(&mut worker, listener, &tx, &pool);
    // Closing the channel lets the threads finish the queue and their connection, then end.
    drop(tx);
    if result.is_ok() && shared.flags.get() != Some(Stop::Immediate) {
        join_pool(pool, &worker);
    }
    Ok(result?)
}

/// Spawns the request threads and waits until each has its database connection; the
/// first one reuses the connection `boot` made, the others connect inside their thread.
fn start_pool(
    worker: &Worker,
    db: Db,
    shared: &Arc<Shared>,
) -> Result<Vec<JoinHandle<()>>, WorkerError> {
    let (ready_tx, ready_rx) = crossbeam_channel::unbounded();
    let mut first = Some(db);
    let mut pool = Vec::with_capacity(worker.config.threads);
    for i in 0..worker.config.threads {
        let (db, url, mine, ready) = (
            first.take(),
            worker.database_url.clone(),
            Arc::clone(shared),
            ready_tx.clone(),
        );
        let spawned = thread::Builder::new()
            .name(format!("prefork-req-{i}"))
            .spawn(move || request_thread(db, &url, &mine, &ready));
        match spawned {
            Ok(handle) => pool.push(handle),
            Err(e) => return Err(abort_pool(shared, e.into())),
        }
    }
    drop(ready_tx);
    // A thread that cannot connect reports it; a thread that panicked drops its sender.
    for _ in 0..pool.len() {
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(abort_pool(shared, e.into())),
            Err(_) => {
                return Err(abort_pool(
                    shared,
                    io::Error::other("a request thread died").into(),
                ))
            }
        }
    }
    Ok(pool)
}

/// A boot failure: the threads started so far are idle in `recv`; they end when `run`
/// returns and drops the channel's sender, or with the process.
fn abort_pool(shared: &Shared, err: WorkerError) -> WorkerError {
    shared.flags.request(Stop::Immediate);
    err
}

/// Body of a request thread: connect (unless given a connection), report, then serve
/// connections from the queue until it closes.
fn request_thread(db: Option<Db>, url: &str, shared: &Shared, ready: &Sender<Result<(), DbError>>) {
    let mut db = match db.map_or_else(|| Db::connect(url), Ok) {
        Ok(db) => db,
        Err(e) => return drop(ready.send(Err(e))),
    };
    let _ = ready.send(Ok(()));
    let mut date = DateCache::default();
    while let Ok(stream) = shared.queue.recv() {
        if shared.flags.get() == Some(Stop::Immediate) {
            return;
        }
        serve(stream, &mut db, &mut date, shared);
    }
}

/// The acceptor: accept, hand over, beat, until a stop is requested.
fn accept_loop(
    worker: &mut Worker,
    listener: TcpListener,
    tx: &Sender<TcpStream>,
    pool: &[JoinHandle<()>],
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut poll = Poll::new()?;
    poll.registry().register(
        &mut SourceFd(&listener.as_raw_fd()),
        LISTENER,
        Interest::READABLE,
    )?;
    poll.registry()
        .register(&mut worker.signals.wake, SIGNAL, Interest::READABLE)?;
    let mut events = Events::with_capacity(64);
    loop {
        match poll.poll(&mut events, Some(TICK)) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        worker.heartbeat.beat();
        worker.signals.drain();
        if should_stop(worker) {
            // Take what the kernel already queued on this listener first: when the
            // master has closed its copy (TTOU), dropping ours would reset them.
            accept_all(&listener, tx, worker);
            return Ok(()); // dropping our listener fd; the master keeps the socket
        }
        // A request thread only ends early by panicking: crash so the master respawns us.
        if pool.iter().any(JoinHandle::is_finished) {
            return Err(io::Error::other("a request thread panicked"));
        }
        if events.iter().any(|e| e.token() == LISTENER) {
            accept_all(&listener, tx, worker);
        }
    }
}

/// Whether to stop accepting; turns recycling and master death into a graceful stop
/// that the request threads see too.
fn should_stop(worker: &mut Worker) -> bool {
    let flags = &worker.signals.flags;
    if flags.get().is_some() {
        return true;
    }
    if worker.quota.reached() || worker.lifeline.master_gone(Instant::now()) {
        flags.request(Stop::Graceful);
        return true;
    }
    false
}

/// Accepts until `WouldBlock` (the poll is edge-triggered), handing each connection over.
fn accept_all(listener: &TcpListener, tx: &Sender<TcpStream>, worker: &Worker) {
    loop {
        match listener.accept() {
            // Linux does not pass O_NONBLOCK on to accepted sockets: this one blocks.
            Ok((stream, _)) => {
                if !hand_off(stream, tx, worker) {
                    return;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionAborted | ErrorKind::Interrupted
                ) => {}
            Err(_) => return, // WouldBlock, or out of descriptors (FIXME(EMFILE) as in evloop)
        }
    }
}

/// Queues a connection; while every thread is busy and the queue is full, waits in
/// [`TICK`] steps, still beating. False if the worker is stopping immediately.
fn hand_off(mut stream: TcpStream, tx: &Sender<TcpStream>, worker: &Worker) -> bool {
    loop {
        match tx.send_timeout(stream, TICK) {
            Ok(()) => return true,
            Err(SendTimeoutError::Timeout(back)) => stream = back,
            Err(SendTimeoutError::Disconnected(_)) => return false,
        }
        worker.heartbeat.beat();
        if worker.signals.flags.get() == Some(Stop::Immediate) {
            return false;
        }
    }
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

/// Serves one connection to its end with blocking I/O.
fn serve(stream: TcpStream, db: &mut Db, date: &mut DateCache, sh: &Shared) {
    if configure(&stream, &sh.timeouts).is_err() {
        return;
    }
    let mut conn = Conn::new(stream, Instant::now());
    loop {
        let now = Instant::now();
        if !check(&mut conn, date, sh, now) {
            return;
        }
        match conn.read_once(now) {
            Ok(_) => {}
            Err(e) if is_timeout(&e) && give_up(&conn, sh) => return,
            Err(e) if is_timeout(&e) || e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
        conn.session
            .process(&sh.limits, date, now, |req| respond(req, db, sh));
        if !flush_and_settle(&mut conn, now) {
            return;
        }
    }
}

/// Socket options: reads wake every [`READ_SLICE`]; a client that stops reading our
/// output is given the read timeout.
fn configure(stream: &TcpStream, t: &Timeouts) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(READ_SLICE.min(t.read).min(t.keepalive)))?;
    stream.set_write_timeout(Some(t.read))
}

/// Before each read: false if the connection is to be dropped (immediate stop, or its
/// deadline passed: then a 408 is written first when due).
fn check(conn: &mut Conn<TcpStream>, date: &mut DateCache, sh: &Shared, now: Instant) -> bool {
    if sh.flags.get() == Some(Stop::Immediate) {
        return false;
    }
    if now >= conn.session.deadline(&sh.timeouts) {
        conn.session.expire(date);
        return flush_and_settle(conn, now);
    }
    true
}

/// After a read found nothing for a whole slice: an idle connection is dropped when the
/// worker is stopping, or when other connections wait for a thread. Only after a read
/// attempt: a queued connection may already hold its request in the socket buffer.
fn give_up(conn: &Conn<TcpStream>, sh: &Shared) -> bool {
    conn.session.idle_since().is_some() && (sh.flags.get().is_some() || !sh.queue.is_empty())
}

/// Writes all output; false when the connection is done (or the write failed).
fn flush_and_settle(conn: &mut Conn<TcpStream>, now: Instant) -> bool {
    matches!(conn.flush(now), Ok(true)) && !conn.settle(now)
}

/// Routes one request and runs its database step; the response closes its connection
/// once the worker is stopping, this request reached `--max-requests`, or another
/// connection waits for a thread: a thread serves one connection at a time, so
/// keep-alive lasts only while nobody else needs the thread (announced in the response,
/// so the client does not race a silent close).
fn respond(req: &Request, db: &mut Db, sh: &Shared) -> Response {
    let mut resp = app::handle(req, db);
    let last = sh.quota.count();
    resp.close |= last || sh.flags.get().is_some() || !sh.queue.is_empty();
    resp
}

//! The request threads: each serves one connection at a time with blocking reads in
//! short slices, and parks an idle keep-alive connection with the acceptor when other
//! connections wait for a thread.

use std::io::{self, ErrorKind};
use std::net::TcpStream;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::Shared;
use crate::app::{self, Action};
use crate::db::{Db, DbError, DbTarget, NewTask};
use crate::http::request::Request;
use crate::http::response::{DateCache, Response};
use crate::worker::conn::{is_timeout, Conn, Timeouts};
use crate::worker::{Stop, Worker, WorkerError};

/// Longest blocking read of a request thread: how late it notices a deadline, a stop
/// request, or a connection waiting in the queue while its own one sits idle. Short,
/// because a blocked thread cannot be woken by the acceptor; 50 wake-ups a second per
/// thread cost next to nothing.
const READ_SLICE: Duration = Duration::from_millis(20);

/// Spawns the request threads and waits until each has its database connection; the
/// first one reuses the connection `boot` made, the others connect inside their thread.
pub(super) fn start(
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
            worker.database.clone(),
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
fn request_thread(
    db: Option<Db>,
    target: &DbTarget,
    shared: &Shared,
    ready: &Sender<Result<(), DbError>>,
) {
    let mut db = match db.map_or_else(|| Db::connect(target), Ok) {
        Ok(db) => db,
        Err(e) => return drop(ready.send(Err(e))),
    };
    let _ = ready.send(Ok(()));
    let mut date = DateCache::default();
    while let Ok(conn) = shared.queue.recv() {
        if shared.flags.get() == Some(Stop::Immediate) {
            return;
        }
        serve(conn, &mut db, &mut date, shared);
    }
}

/// What to do with a connection that has nothing to read right now.
#[derive(Debug, PartialEq, Eq)]
enum Idle {
    /// Keep reading it on this thread.
    Stay,
    /// Hand it back to the acceptor: others wait for the thread.
    Park,
    /// Close it: the worker is stopping and it is between requests.
    Close,
}

/// Serves one connection until it ends or is parked, with blocking I/O.
fn serve(mut conn: Conn<TcpStream>, db: &mut Db, date: &mut DateCache, sh: &Shared) {
    // A parked connection comes back configured; only a new one needs its options.
    if conn.session.served == 0 && configure(&conn.stream, &sh.timeouts).is_err() {
        return;
    }
    loop {
        let now = Instant::now();
        if !check(&mut conn, date, sh, now) {
            return;
        }
        match conn.read_once(now) {
            Ok(_) => {}
            Err(e) if is_timeout(&e) => match when_idle(&conn, sh) {
                Idle::Stay => continue,
                Idle::Park => return park(conn, sh),
                Idle::Close => return,
            },
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
        let answered = conn
            .session
            .process(&sh.limits, date, now, |req| respond(req, db, sh));
        sh.counters.requests(answered as u64);
        if !flush_and_settle(&mut conn, now) {
            return;
        }
        // Answered, and others wait: let them have the thread (fairness, as gthread
        // returns every connection to its poller after a request).
        if when_idle(&conn, sh) == Idle::Park {
            return park(conn, sh);
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

/// Only a connection between requests (nothing buffered, nothing owed) leaves the
/// thread: parked while others wait, closed when the worker is stopping. Only after a
/// read attempt or a response: a queued connection may already hold its request.
fn when_idle(conn: &Conn<TcpStream>, sh: &Shared) -> Idle {
    if conn.session.idle_since().is_none() {
        Idle::Stay
    } else if sh.flags.get().is_some() {
        Idle::Close
    } else if !sh.queue.is_empty() {
        Idle::Park
    } else {
        Idle::Stay
    }
}

/// Hands an idle connection to the acceptor's poll; if the acceptor is gone (stopping),
/// the connection is dropped, which is the graceful close of an idle one.
fn park(conn: Conn<TcpStream>, sh: &Shared) {
    if sh.park.send(conn).is_ok() {
        let _ = sh.waker.wake();
    }
}

/// Writes all output; false when the connection is done (or the write failed).
fn flush_and_settle(conn: &mut Conn<TcpStream>, now: Instant) -> bool {
    matches!(conn.flush(now), Ok(true)) && !conn.settle(now)
}

/// Routes one request and runs its database step; the response closes its connection
/// once the worker is stopping or this request reached `--max-requests` (announced in
/// the response, so the client does not race a silent close). Other connections waiting
/// do not close it: it is parked instead.
fn respond(req: &Request, db: &mut Db, sh: &Shared) -> Response {
    let mut resp = match app::route(req) {
        Action::Insert(task) => insert(task, db, sh),
        action => app::perform(action, db),
    };
    let last = sh.quota.count();
    resp.close |= last || sh.flags.get().is_some();
    resp
}

/// An insert: through the committer when batching (this thread waits for the group's
/// commit), else committed here on its own.
fn insert(task: NewTask, db: &mut Db, sh: &Shared) -> Response {
    let outcome = match &sh.committer {
        Some(committer) => committer.insert(task),
        None => {
            let outcome = db.insert(&task);
            if outcome.is_ok() {
                sh.counters.batch(1);
            }
            outcome
        }
    };
    outcome.map_or_else(|e| app::db_failed(&e), |t| app::inserted(&t))
}

//! The request threads: each serves one connection at a time on its non-blocking
//! socket, hands back to the acceptor a connection whose request is not all there yet,
//! and parks an idle keep-alive connection with the acceptor when other connections
//! wait for a thread.

use std::io::{self, ErrorKind};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use mio::net::TcpStream;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::{Client, Shared};
use crate::app::{self, Action};
use crate::db::{Db, DbError, DbTarget, NewTask};
use crate::http::request::Request;
use crate::http::response::{DateCache, Response};
use crate::worker::conn::{is_timeout, Conn};
use crate::worker::{Stop, Worker, WorkerError};

/// Longest wait of a request thread on an idle keep-alive connection: how late it
/// notices a deadline, a stop request, or a connection waiting in the queue. Short,
/// because a waiting thread cannot be woken by the acceptor; 50 wake-ups a second per
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
        // Short: the kernel keeps 15 bytes of a thread name (what perf and top show).
        let spawned = thread::Builder::new()
            .name(format!("req-{i}"))
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
    while let Ok(client) = shared.queue.recv() {
        if shared.flags.get() == Some(Stop::Immediate) {
            return;
        }
        serve(client, &mut db, &mut date, shared);
    }
}

/// What to do with a connection whose socket has nothing more to read right now.
#[derive(Debug, PartialEq, Eq)]
enum Idle {
    /// Wait for its next request on this thread, at most this long before looking again.
    Stay(Duration),
    /// Hand it back to the acceptor's poll.
    Park,
    /// Close it: the worker is draining and its drain grace is over.
    Close,
}

/// Serves one connection until it ends or is parked. The socket is non-blocking: a
/// read takes what has arrived, and the thread never waits for the rest of a request.
fn serve(mut client: Client, db: &mut Db, date: &mut DateCache, sh: &Shared) {
    loop {
        let now = Instant::now();
        if !check(&mut client.conn, date, sh, now) {
            return;
        }
        match client.conn.read_once(now) {
            Ok(_) => {}
            Err(e) if is_timeout(&e) => match when_idle(&client.conn, sh, now) {
                Idle::Stay(wait) => {
                    wait_for(&client.conn.stream, PollFlags::POLLIN, wait);
                    continue;
                }
                Idle::Park => return park(client, sh),
                Idle::Close => return,
            },
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
        let answered = client
            .conn
            .session
            .process(&sh.limits, date, now, |req| respond(req, db, sh));
        sh.counters.requests(answered as u64);
        if !flush_and_settle(&mut client.conn, sh, now) {
            return;
        }
    }
}

/// Before each read: false if the connection is to be dropped (immediate stop, or its
/// deadline passed: then a 408 is written first when due).
fn check(conn: &mut Conn<TcpStream>, date: &mut DateCache, sh: &Shared, now: Instant) -> bool {
    let stop = sh.flags.get();
    if stop == Some(Stop::Immediate) {
        return false;
    }
    if now >= conn.session.drain_deadline(&sh.timeouts, stop.is_some()) {
        conn.session.expire(date);
        return flush_and_settle(conn, sh, now);
    }
    true
}

/// The socket ran dry. A request in progress (or not begun) goes back to the poll at
/// once: the thread never waits on a client mid-request, so slow and idle clients cost
/// no thread. A connection between requests stays while nobody else waits for a
/// thread, and once the worker drains, closes after the drain grace (the shared rule).
fn when_idle(conn: &Conn<TcpStream>, sh: &Shared, now: Instant) -> Idle {
    let session = &conn.session;
    let draining = sh.flags.get().is_some();
    if session.idle_since().is_none() {
        Idle::Park
    } else if session.drained_out(draining, now) {
        Idle::Close
    } else if !sh.queue.is_empty() {
        Idle::Park
    } else {
        let until = session.drain_deadline(&sh.timeouts, draining);
        Idle::Stay(READ_SLICE.min(until.saturating_duration_since(now)))
    }
}

/// Hands a connection to the acceptor's poll; if the acceptor is gone (the worker is
/// exiting), the connection is dropped.
fn park(client: Client, sh: &Shared) {
    if sh.park.send(client).is_ok() {
        let _ = sh.waker.wake();
    }
}

/// Writes all output, waiting for room in the socket up to the read timeout; false when
/// the connection is done (or the write failed or timed out).
fn flush_and_settle(conn: &mut Conn<TcpStream>, sh: &Shared, now: Instant) -> bool {
    let deadline = now + sh.timeouts.read;
    loop {
        match conn.flush(Instant::now()) {
            Ok(true) => return !conn.settle(Instant::now()),
            Ok(false) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return false;
                }
                wait_for(&conn.stream, PollFlags::POLLOUT, left);
            }
            Err(_) => return false,
        }
    }
}

/// Blocks until the socket is ready for `events`, or `timeout` passes, or a signal
/// interrupts; the caller looks again either way.
fn wait_for(stream: &TcpStream, events: PollFlags, timeout: Duration) {
    let mut fds = [PollFd::new(stream.as_fd(), events)];
    let timeout = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
    let _ = poll(&mut fds, timeout);
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

//! The request threads: each serves one connection at a time on its non-blocking
//! socket, hands back to the acceptor a connection whose request is not all there yet,
//! and parks an idle keep-alive connection with the acceptor when other connections
//! wait for a thread.

use std::io::ErrorKind;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::client::Client;
use super::committer::Submitted;
use super::shared::Shared;
use super::startup::start_threads;
use crate::http::request::Request;
use crate::http::response::DateCache;
use crate::service::{Call, Role, Service, Turn};
use crate::worker::conn::{is_timeout, Conn, Settle};
use crate::worker::error::WorkerError;
use crate::worker::session::Reply;
use crate::worker::state::{Stop, Worker};
use crate::worker::stream::NetStream;
use crate::worker::{builtin, rules};

/// Longest wait of a request thread on an idle keep-alive connection: how late it
/// notices a deadline, a stop request, or a connection waiting in the queue. Short,
/// because a waiting thread cannot be woken by the acceptor; 50 wake-ups a second per
/// thread cost next to nothing.
const READ_SLICE: Duration = Duration::from_millis(20);

/// Spawns the request threads and waits until each has its service context.
pub(super) fn start<S: Service>(
    worker: &Worker,
    shared: &Arc<Shared<S>>,
) -> Result<Vec<JoinHandle<()>>, WorkerError> {
    let mine = Arc::clone(shared);
    let body = move |_, mut cx: S::Context| {
        let mut date = DateCache::default();
        while let Ok(client) = mine.queue.recv() {
            if mine.flags.get() == Some(Stop::Immediate) {
                return;
            }
            serve(client, &mut cx, &mut date, &mine);
        }
    };
    let threads = worker.config.threads;
    let started = start_threads(
        "req",
        threads,
        (&shared.service, worker.slot, &worker.counters),
        Role::Request,
        body,
    );
    if started.is_err() {
        // The threads started so far are idle in `recv`: they end with the channel.
        shared.flags.request(Stop::Immediate);
    }
    started
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
fn serve<S: Service>(
    mut client: Client,
    cx: &mut S::Context,
    date: &mut DateCache,
    sh: &Shared<S>,
) {
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
        let service = &*sh.service;
        client.conn.session.process_replies(
            &sh.limits,
            date,
            now,
            |req, _, _| respond(req, cx, sh),
            |done, keep_alive, date, out| service.encode(done, keep_alive, date, out),
        );
        if !flush_fully(&mut client.conn, sh, now) {
            return;
        }
    }
}

/// Before each read: false if the connection is to be dropped (immediate stop, or its
/// deadline passed: then a 408 is written first when due).
fn check<S: Service>(
    conn: &mut Conn<NetStream>,
    date: &mut DateCache,
    sh: &Shared<S>,
    now: Instant,
) -> bool {
    let stop = sh.flags.get();
    if stop == Some(Stop::Immediate) {
        return false;
    }
    if now >= conn.session.drain_deadline(&sh.timeouts, stop.is_some()) {
        conn.session.expire(date);
        return flush_fully(conn, sh, now);
    }
    true
}

/// The socket ran dry. A request in progress (or not begun) goes back to the poll at
/// once: the thread never waits on a client mid-request, so slow and idle clients cost
/// no thread. A connection between requests stays while nobody else waits for a
/// thread, and once the worker drains, closes after the drain grace (the shared rule).
fn when_idle<S: Service>(conn: &Conn<NetStream>, sh: &Shared<S>, now: Instant) -> Idle {
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
fn park<S: Service>(client: Client, sh: &Shared<S>) {
    if sh.park.send(client).is_ok() {
        let _ = sh.waker.wake();
    }
}

/// Writes all output, waiting for room in the socket up to the read timeout (the
/// shared [`Conn::flush_and_settle`] decision, blocking); false when the connection is
/// done (or the write failed or timed out).
fn flush_fully<S: Service>(conn: &mut Conn<NetStream>, sh: &Shared<S>, now: Instant) -> bool {
    let deadline = now + sh.timeouts.read;
    let draining = sh.flags.get().is_some();
    loop {
        match conn.flush_and_settle(draining, Instant::now()) {
            Ok(Settle::Close) => return false,
            Ok(Settle::Flushed) => return true,
            Ok(Settle::Blocked) => {
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
fn wait_for(stream: &NetStream, events: PollFlags, timeout: Duration) {
    let mut fds = [PollFd::new(stream.as_fd(), events)];
    let timeout = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
    let _ = poll(&mut fds, timeout);
}

/// Answers one request: the worker's own paths, then the service; a deferred job is
/// completed before the answer (by the committers' group commit, or on this thread).
/// Nothing is ever owed across requests here, so the service never needs to wait. The
/// response closes its connection once the worker is stopping or this request reached
/// `--max-requests` (announced in the response, so the client does not race a silent
/// close). Other connections waiting do not close it: it is parked instead.
fn respond<S: Service>(req: &Request, cx: &mut S::Context, sh: &Shared<S>) -> Reply<S::Done> {
    let service = &*sh.service;
    let reply = if let Some(resp) = builtin::answer(req, &sh.board, || service.health(cx)) {
        Reply::Now(resp)
    } else {
        match service.call(cx, req, Turn { owed: false }) {
            Call::Respond(resp) => Reply::Now(resp),
            Call::Wait => Reply::Now(rules::nothing_to_wait_for()),
            Call::Defer(job) => {
                let done = match &sh.committer {
                    Some(committer) => committer.submit(job),
                    None => Submitted::from(rules::commit_one(service, cx, job, &sh.counters)),
                };
                match done {
                    Submitted::Done(done) => Reply::Done { done, close: false },
                    Submitted::NotCompleted => Reply::Now(rules::not_completed()),
                    Submitted::Gone => Reply::Now(rules::committers_gone()),
                }
            }
        }
    };
    let last = rules::count_answer(&sh.counters, &sh.quota);
    rules::closing(reply, last || sh.flags.get().is_some())
}

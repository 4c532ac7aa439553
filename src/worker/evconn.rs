//! One connection's turn in the event loop: read, answer, write, within a budget.
//!
//! Kept apart from the loop itself (`evloop`), which owns the poll, the slab and the
//! timers; this part only sees one connection, the service and the clock.
//!
//! With group commit (`--batch` > 1) a deferred job is queued in the loop's group and
//! its answer is owed: the drive stops there ([`Next::Held`]) and [`resume`] finishes
//! the turn once the loop has committed the group and filled the answers in.

use std::io::{self, ErrorKind};
use std::sync::Arc;
use std::time::Instant;

use super::conn::{Conn, Settle, CHUNK};
use super::session::Reply;
use super::state::Worker;
use super::{builtin, rules};
use crate::config::Limits;
use crate::http::request::Request;
use crate::http::response::DateCache;
use crate::service::{Call, Completions, Group, Service, Ticket, Turn};
use crate::worker::stream::NetStream;

/// Bytes read from one connection before its requests are processed (then reading
/// resumes): bounds the read buffer even when a client floods pipelined requests.
const READ_BATCH: usize = 64 * 1024;
/// Read-process-write rounds one drive may take before yielding to other connections
/// (so a client flooding pipelined requests cannot monopolise the loop).
const ROUNDS: usize = 8;

/// The service with its context, and what decides keep-alive: the stop state.
pub(super) struct App<S: Service> {
    /// What the worker serves.
    pub service: Arc<S>,
    /// The service's state for this thread.
    pub cx: S::Context,
    /// Stop flags, quota, heartbeat, configuration.
    pub worker: Worker,
    /// Stop accepting; every response closes its connection; idle connections close.
    pub draining: bool,
    /// Jobs waiting for this iteration's group commit.
    pub group: Group<S::Job>,
    /// Most jobs one commit takes (`--batch`); 1: each job is committed on its own.
    pub cap: usize,
    /// Completed jobs not yet handed to their connections.
    pub done: Completions<S::Done>,
    /// The service completes jobs later ([`Service::defers_completion`]): every job
    /// goes through the group, even with `--batch 1`.
    pub deferred_completion: bool,
    /// Jobs handed to the service and not completed yet.
    pub in_flight: usize,
    /// Most jobs in flight (and queued) per worker: past it the loop stops taking
    /// requests from clients until answers come back (backpressure).
    pub max_in_flight: usize,
    /// The drive under way hit [`App::max_in_flight`] with nothing owed on its
    /// connection: the loop must drive it again once jobs complete.
    pub starved: bool,
}

impl<S: Service> App<S> {
    /// No more jobs fit: commit before queuing another.
    pub(super) fn is_full(&self) -> bool {
        self.group.len() >= self.cap
    }

    /// The worker's cap on jobs in flight is reached: no connection is read until
    /// answers come back.
    pub(super) fn is_saturated(&self) -> bool {
        self.in_flight + self.group.len() >= self.max_in_flight
    }

    /// Answers one request of `owner`'s connection: the worker's own paths, then the
    /// service; a deferred job is queued for the group commit (answered later), or with
    /// `--batch 1` committed at once. `owed`: the connection waits for earlier answers.
    /// The response closes its connection once the worker is draining (which reaching
    /// `--max-requests` starts).
    pub(super) fn reply(&mut self, req: &Request, owed: bool, owner: Ticket) -> Reply<S::Done> {
        let (service, cx) = (&*self.service, &mut self.cx);
        let reply =
            if let Some(resp) = builtin::answer(req, &self.worker.board, || service.health(cx)) {
                Reply::Now(resp)
            } else if self.group.len() >= self.cap {
                // Only this connection's own jobs fill the group within one drive (the loop
                // commits a full group after every drive): wait for their commit.
                return Reply::Retry;
            } else if self.in_flight + self.group.len() >= self.max_in_flight {
                // Backpressure: the request stays in the connection's buffer.
                self.starved = true;
                return Reply::Retry;
            } else {
                match service.call(cx, req, Turn { owed }) {
                    Call::Respond(resp) => Reply::Now(resp),
                    Call::Wait if owed => return Reply::Retry,
                    Call::Wait => Reply::Now(rules::nothing_to_wait_for()),
                    Call::Defer(job) if self.cap > 1 || self.deferred_completion => {
                        self.group.push((owner, job));
                        Reply::Later { close: false }
                    }
                    Call::Defer(job) => {
                        match rules::commit_one(service, cx, job, &self.worker.counters) {
                            Some(done) => Reply::Done { done, close: false },
                            None => Reply::Now(rules::not_completed()),
                        }
                    }
                }
            };
        if rules::count_answer(&self.worker.counters, &self.worker.quota) {
            self.draining = true;
        }
        rules::closing(reply, self.draining)
    }
}

/// Where a drive left its connection.
pub(super) enum Next {
    /// Finished or failed: drop it.
    Close,
    /// Waiting for readiness (readable, or writable when output is pending).
    Wait,
    /// Its round budget ran out with input possibly still in the socket: drive it again
    /// next iteration, since an edge-triggered poll will not report those bytes again.
    Again,
    /// Answers are owed (jobs queued for the group commit): [`resume`] after the
    /// commit. `drained`: the socket had nothing more to read.
    Held {
        /// The last read reached `WouldBlock`.
        drained: bool,
    },
    /// Stopped by the worker's cap on jobs in flight with nothing owed: drive it again
    /// when jobs complete.
    Starved,
}

/// Rounds of read, answer every complete request, write, until the socket has nothing
/// more for us, our output waits for it, or the round budget is spent.
pub(super) fn drive<S: Service>(
    c: &mut Conn<NetStream>,
    owner: Ticket,
    app: &mut App<S>,
    date: &mut DateCache,
    limits: &Limits,
    now: Instant,
) -> io::Result<Next> {
    app.starved = false;
    for _ in 0..ROUNDS {
        let drained = read_burst(c, now)?;
        let service = Arc::clone(&app.service);
        c.session.process_replies(
            limits,
            date,
            now,
            |req, owed, seq| app.reply(req, owed, Ticket { seq, ..owner }),
            |done, keep_alive, date, out| service.encode(done, keep_alive, date, out),
        );
        if c.session.owed() > 0 {
            return Ok(Next::Held { drained });
        }
        if app.starved {
            if let Settle::Close = c.flush_and_settle(app.draining, now)? {
                return Ok(Next::Close);
            }
            return Ok(Next::Starved);
        }
        let flushed = match c.flush_and_settle(app.draining, now)? {
            Settle::Close => return Ok(Next::Close),
            settled => settled == Settle::Flushed,
        };
        // Otherwise reading stopped for backpressure or the batch limit, and the output
        // went out: go round again, the socket will not report those bytes twice.
        if drained || !flushed || !c.session.wants_read() {
            return Ok(Next::Wait);
        }
    }
    Ok(Next::Again)
}

/// Finishes a [`Next::Held`] turn once the owed answers are filled in: one write of
/// everything answered, then the same decisions as [`drive`]. Requests left unanswered
/// (a request waiting for earlier jobs, a full group) or unread input make it go again.
pub(super) fn resume(
    c: &mut Conn<NetStream>,
    drained: bool,
    draining: bool,
    now: Instant,
) -> io::Result<Next> {
    let flushed = match c.flush_and_settle(draining, now)? {
        Settle::Close => return Ok(Next::Close),
        settled => settled == Settle::Flushed,
    };
    if !flushed || !c.session.wants_read() {
        return Ok(Next::Wait);
    }
    if !drained || !c.session.rbuf.is_empty() {
        return Ok(Next::Again);
    }
    Ok(Next::Wait)
}

/// Reads until the socket is empty (returns true), EOF, backpressure, a request waiting
/// in the buffer, or [`READ_BATCH`] bytes. A read shorter than asked for emptied the socket: under edge-triggered epoll
/// any byte arriving after it raises a new event, so the extra `read` that would only
/// say `WouldBlock` is skipped (nginx's `ngx_unix_recv` does the same).
fn read_burst(c: &mut Conn<NetStream>, now: Instant) -> io::Result<bool> {
    let mut total = 0;
    // A request already waiting in the buffer is taken first: reading on would let one
    // connection's buffer grow by a burst per request answered.
    while c.session.wants_read() && !c.session.holds_request() && total < READ_BATCH {
        match c.read_once(now) {
            Ok(n) if n > 0 && n < CHUNK => return Ok(true),
            Ok(n) => total += n, // n == 0: the session now refuses further reads
            // Would block "errors" are the OS's way of saying there is nothing more for now.
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(true),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

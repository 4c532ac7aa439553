//! One connection's turn in the event loop: read, answer, write, within a budget.
//!
//! Kept apart from the loop itself (`evloop`), which owns the poll, the slab and the
//! timers; this part only sees one connection, the request handler and the clock.
//!
//! With group commit (`--batch` > 1) an insert is queued in the loop's [`Batch`] and its
//! answer is owed: the drive stops there ([`Next::Held`]) and [`resume`] finishes the
//! turn once the loop has committed the batch and filled the answers in.

use std::io::{self, ErrorKind};
use std::time::Instant;

use mio::net::TcpStream;

use super::batch::{Batch, Owner};
use super::conn::{Conn, CHUNK};
use super::session::Reply;
use super::Worker;
use crate::app::{self, Action};
use crate::config::Limits;
use crate::db::{Db, NewTask};
use crate::http::request::Request;
use crate::http::response::{DateCache, Response};

/// Bytes read from one connection before its requests are processed (then reading
/// resumes): bounds the read buffer even when a client floods pipelined requests.
const READ_BATCH: usize = 64 * 1024;
/// Read-process-write rounds one drive may take before yielding to other connections
/// (so a client flooding pipelined requests cannot monopolise the loop).
const ROUNDS: usize = 8;

/// The request handler and what decides keep-alive: the database and the stop state.
pub(super) struct App {
    /// The database connection.
    pub db: Db,
    /// Stop flags, quota, heartbeat, configuration.
    pub worker: Worker,
    /// Stop accepting; every response closes its connection; idle connections close.
    pub draining: bool,
    /// Inserts waiting for this iteration's group commit.
    pub batch: Batch,
}

impl App {
    /// Routes one request of `owner`'s connection: an insert is queued for the group
    /// commit (answered later), anything else is answered now. A read waits while this
    /// connection is owed answers (`owed`): it must see the inserts sent before it. The
    /// response closes its connection once the worker is draining (which reaching
    /// `--max-requests` starts).
    pub fn reply(&mut self, req: &Request, owed: bool, owner: Owner) -> Reply {
        let action = app::route(req);
        let reply = match action {
            Action::Insert(_) if self.batch.is_full() => return Reply::Retry,
            Action::Get(_) | Action::List(_) if owed => return Reply::Retry,
            Action::Insert(task) if self.batch.enabled() => {
                self.batch.push(owner, task);
                None
            }
            Action::Insert(task) => Some(self.insert_now(&task)),
            action => Some(app::perform(action, &mut self.db)),
        };
        self.worker.counters.requests(1);
        if self.worker.quota.count() {
            self.draining = true;
        }
        match reply {
            Some(mut resp) => {
                resp.close |= self.draining;
                Reply::Now(resp)
            }
            None => Reply::Later {
                close: self.draining,
            },
        }
    }

    /// `--batch 1`: one insert, one commit, on the spot.
    fn insert_now(&mut self, task: &NewTask) -> Response {
        match self.db.insert(task) {
            Ok(row) => {
                self.worker.counters.batch(1);
                app::inserted(&row)
            }
            Err(err) => app::db_failed(&err),
        }
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
    /// Answers are owed (inserts queued for the group commit): [`resume`] after the
    /// commit. `drained`: the socket had nothing more to read.
    Held {
        /// The last read reached `WouldBlock`.
        drained: bool,
    },
}

/// Rounds of read, answer every complete request, write, until the socket has nothing
/// more for us, our output waits for it, or the round budget is spent.
pub(super) fn drive(
    c: &mut Conn<TcpStream>,
    owner: Owner,
    app: &mut App,
    date: &mut DateCache,
    limits: &Limits,
    now: Instant,
) -> io::Result<Next> {
    for _ in 0..ROUNDS {
        let drained = read_burst(c, now)?;
        c.session
            .process_replies(limits, date, now, |req, owed| app.reply(req, owed, owner));
        if c.session.owed() > 0 {
            return Ok(Next::Held { drained });
        }
        let flushed = c.flush(now)?;
        if c.settle(now) || c.session.drained_out(app.draining, now) {
            return Ok(Next::Close);
        }
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
/// (a read behind an insert, a full batch) or unread input make it go again.
pub(super) fn resume(
    c: &mut Conn<TcpStream>,
    drained: bool,
    draining: bool,
    now: Instant,
) -> io::Result<Next> {
    let flushed = c.flush(now)?;
    if c.settle(now) || c.session.drained_out(draining, now) {
        return Ok(Next::Close);
    }
    if !flushed || !c.session.wants_read() {
        return Ok(Next::Wait);
    }
    if !drained || !c.session.rbuf.is_empty() {
        return Ok(Next::Again);
    }
    Ok(Next::Wait)
}

/// Reads until the socket is empty (returns true), EOF, backpressure or [`READ_BATCH`]
/// bytes. A read shorter than asked for emptied the socket: under edge-triggered epoll
/// any byte arriving after it raises a new event, so the extra `read` that would only
/// say `WouldBlock` is skipped (nginx's `ngx_unix_recv` does the same).
fn read_burst(c: &mut Conn<TcpStream>, now: Instant) -> io::Result<bool> {
    let mut total = 0;
    while c.session.wants_read() && total < READ_BATCH {
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

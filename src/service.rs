//! The seam between the workers and what they serve: a [`Service`].
//!
//! The master and both worker models are generic over a service; the task API
//! (`tasks`) is one, `hello` (a fixed response, no I/O) another, and `examples/` shows
//! one written against this public API only. The split follows
//! Gunicorn's worker/app split and tower's `Service`, specialised to what a prefork
//! worker needs:
//!
//! 1. **Context** — [`Service::context`] runs *after fork*, once per thread that serves
//!    (the event loop's one thread; each request thread and each committer thread in
//!    threads mode): database connections and other per-thread state live there, never
//!    in the master.
//! 2. **Call** — [`Service::call`] gets each parsed request and either answers it now
//!    ([`Call::Respond`]) or defers it as a [`Service::Job`] ([`Call::Defer`]), or asks the
//!    worker to hold the request until this connection's deferred jobs are done
//!    ([`Call::Wait`], only when [`Turn::owed`] says some are: a read that must see the
//!    writes pipelined before it).
//! 3. **Commit** — [`Service::commit`] completes a group of deferred jobs together (the
//!    task service's group commit: one statement, one transaction). The worker decides
//!    *when* (the event loop: at the end of each iteration or when `--batch` jobs are
//!    queued; threads mode: whatever queued while the committer was busy) and the
//!    service decides *how*. `--batch 1` commits each job on its own, at once.
//! 4. **Encode** — [`Service::encode`] writes a completed job's response straight into
//!    the connection's output (the hot path builds no `Response`).
//!
//! `GET /health` and `GET /stats` stay built into the worker; the service adds its own
//! members to `/health` ([`Service::health`]).
//!
//! Event-loop services may also own non-blocking sockets registered in the loop's own
//! poll ([`Service::register`], [`Service::ready`]): jobs are then completed when their
//! socket says so instead of inside [`Service::commit`], each carrying the [`Ticket`] it
//! was handed. (Threads mode needs every job completed inside `commit`; a job left
//! incomplete there is answered 500.)

use std::convert::Infallible;
use std::io;
use std::path::PathBuf;

use crate::http::request::Request;
use crate::http::response::{DateCache, Response};
use crate::scoreboard::Counters;

/// What a request needs, as decided by [`Service::call`].
#[derive(Debug)]
pub enum Call<J> {
    /// Answer now with this response.
    Respond(Response),
    /// Defer: the worker queues the job and answers it once [`Service::commit`] (or
    /// [`Service::ready`]) completes it.
    Defer(J),
    /// Not now: hold this request (unconsumed) until the connection's deferred jobs are
    /// done, then call again. Only meaningful while [`Turn::owed`] is true; otherwise the
    /// worker answers 500, since nothing would ever wake the request.
    Wait,
}

/// What the worker tells [`Service::call`] about the connection a request came on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Turn {
    /// Jobs deferred earlier on this connection are not completed yet.
    pub owed: bool,
}

/// Identifies one deferred job to the worker: the service hands it back with the job's
/// completion ([`Completions::complete`]). Opaque to services.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub(crate) slot: usize,
    pub(crate) serial: u64,
    /// Which of the connection's owed answers it is.
    pub(crate) seq: u64,
}

/// Deferred jobs handed to [`Service::commit`], each with its ticket, in the order the
/// requests came in (per connection, that is the order of its requests).
pub type Group<J> = Vec<(Ticket, J)>;

/// Where a service puts completed jobs, and the commits that completed them.
#[derive(Debug)]
pub struct Completions<D> {
    done: Vec<(Ticket, D)>,
    commits: Vec<u64>,
}

impl<D> Default for Completions<D> {
    fn default() -> Self {
        Completions {
            done: Vec::new(),
            commits: Vec::new(),
        }
    }
}

impl<D> Completions<D> {
    /// The job of `ticket` is complete; its response is `done`.
    pub fn complete(&mut self, ticket: Ticket, done: D) {
        self.done.push((ticket, done));
    }

    /// Records one commit that made `jobs` jobs durable together (`GET /stats` reports
    /// commits and jobs per commit as `batches` and `batched_rows`).
    pub fn committed(&mut self, jobs: u64) {
        self.commits.push(jobs);
    }

    /// Takes the completed jobs, in completion order.
    pub(crate) fn take_done(&mut self) -> std::vec::Drain<'_, (Ticket, D)> {
        self.done.drain(..)
    }

    /// Takes the recorded commits (jobs in each).
    pub(crate) fn take_commits(&mut self) -> std::vec::Drain<'_, u64> {
        self.commits.drain(..)
    }
}

/// What a service learns about the worker it runs in when it makes a context.
#[derive(Clone, Copy, Debug)]
pub struct WorkerInfo {
    /// The worker's slot (its number in the logs).
    pub slot: usize,
    /// Which thread of the worker this context is for.
    pub role: Role,
    /// The worker's counters in the shared scoreboard (`/stats`, `/metrics`), for the
    /// service's own events: [`Counters::db_errors`] for requests whose database work
    /// failed, [`Counters::db_reconnect`] for a connection made again after a loss.
    /// The worker counts connections, requests, responses, bytes and commits itself.
    pub counters: Counters,
}

/// The thread a context serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The event loop (one per worker).
    EventLoop,
    /// Request thread N of a threads-mode worker.
    Request(usize),
    /// Committer thread N of a threads-mode worker (only [`Service::commit`] runs there).
    Committer(usize),
}

/// Why a service cannot serve at all: the worker exits with the boot-failure status and
/// the master stops (a configuration error, not a transient outage: a service should
/// boot through an outage and answer 503 until it is over).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BootError(pub String);

/// One `/health` member a service adds (`"database":"up"`).
pub type HealthMember = (&'static str, &'static str);

/// A pluggable request handler for prefork's workers; see the module docs.
///
/// The value is built in the master before fork and shared by every thread of a worker
/// (`Sync`); per-thread state goes in [`Service::Context`].
pub trait Service: Send + Sync + 'static {
    /// Per-thread state, made after fork by [`Service::context`].
    type Context;
    /// A deferred request.
    type Job: Send + 'static;
    /// A completed job, ready to encode.
    type Done: Send + 'static;

    /// Makes the state of one serving thread (after fork; `info` says which thread).
    fn context(&self, info: WorkerInfo) -> Result<Self::Context, BootError>;

    /// Answers `req` now, defers it, or asks to wait (see [`Call`]).
    fn call(&self, cx: &mut Self::Context, req: &Request, turn: Turn) -> Call<Self::Job>;

    /// Completes `jobs` (all of them: an empty group is never passed) and puts each
    /// outcome in `done` with its ticket, recording the commits made. The group is left
    /// empty for reuse.
    fn commit(
        &self,
        cx: &mut Self::Context,
        jobs: &mut Group<Self::Job>,
        done: &mut Completions<Self::Done>,
    );

    /// Appends the HTTP response for a completed job to `out` (status line, headers with
    /// `Connection: close` unless `keep_alive`, body), using `date` for the `Date` header.
    fn encode(&self, done: &Self::Done, keep_alive: bool, date: &mut DateCache, out: &mut Vec<u8>);

    /// Members this service adds to `GET /health`'s JSON (its dependencies' state).
    fn health(&self, _cx: &mut Self::Context) -> Vec<HealthMember> {
        Vec::new()
    }

    /// Directories worker processes must be able to reach (a database's socket
    /// directory): when the master picks an unprivileged account for its workers it
    /// makes sure they can.
    fn reaches(&self) -> Vec<PathBuf> {
        Vec::new()
    }

    /// Event loop only: registers the context's own non-blocking sources (say, database
    /// sockets) in the loop's poll, with tokens from `registry`.
    fn register(&self, _cx: &mut Self::Context, _sources: &Sources<'_>) -> io::Result<()> {
        Ok(())
    }

    /// Event loop only: one of the context's sources is ready; complete whatever jobs
    /// it finished.
    fn ready(
        &self,
        _cx: &mut Self::Context,
        _source: SourceId,
        _done: &mut Completions<Self::Done>,
    ) {
    }

    /// Whether [`Service::commit`] may leave jobs to complete later, in
    /// [`Service::ready`] or [`Service::tick`] (a service with its own sources). Such a
    /// service runs only in the event loop, and the loop never commits a job on the
    /// spot for it: every job goes through a group, even with `--batch 1`.
    fn defers_completion(&self) -> bool {
        false
    }

    /// Event loop only, once per loop iteration (at least once a second): deadlines,
    /// reconnections; whatever jobs it settles go to `done`.
    fn tick(
        &self,
        _cx: &mut Self::Context,
        _sources: &Sources<'_>,
        _now: std::time::Instant,
        _done: &mut Completions<Self::Done>,
    ) {
    }
}

/// The event loop's poll, as lent to [`Service::register`]: a service registers its own
/// sources under ids it picks; readiness comes back to [`Service::ready`] with that id.
pub struct Sources<'a> {
    pub(crate) registry: &'a mio::Registry,
    pub(crate) first_token: usize,
    pub(crate) capacity: usize,
}

/// A service's name for one of its sources (below [`Sources::capacity`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceId(pub usize);

impl Sources<'_> {
    /// How many sources a service may register (ids `0..capacity`).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Registers `source` for `interest` under `id`.
    pub fn register(
        &self,
        source: &mut impl mio::event::Source,
        id: SourceId,
        interest: mio::Interest,
    ) -> io::Result<()> {
        self.registry.register(source, self.token(id)?, interest)
    }

    /// Changes the interest of a registered source.
    pub fn reregister(
        &self,
        source: &mut impl mio::event::Source,
        id: SourceId,
        interest: mio::Interest,
    ) -> io::Result<()> {
        self.registry.reregister(source, self.token(id)?, interest)
    }

    /// Removes a source (before closing it).
    pub fn deregister(&self, source: &mut impl mio::event::Source) -> io::Result<()> {
        self.registry.deregister(source)
    }

    fn token(&self, id: SourceId) -> io::Result<mio::Token> {
        if id.0 >= self.capacity {
            return Err(io::Error::other(format!(
                "source id {} past the {} the event loop reserves for a service",
                id.0, self.capacity
            )));
        }
        Ok(mio::Token(self.first_token + id.0))
    }
}

/// For services that never defer: `Job` and `Done` can be this (no value exists).
pub type Never = Infallible;

//! `--db evented`: the task service with the event loop's own database connections —
//! Node's model. Each worker keeps `--db-conns K` non-blocking PostgreSQL connections
//! registered in its `mio::Poll` ([`wire`]); an insert is a deferred job and its
//! answer is delivered when the connection's `ReadyForQuery` for its unit arrives, so
//! the loop keeps serving while commits are in flight. With `--batch 1` every insert is
//! its own unit (its own transaction), pipelined on the least busy connection at once.
//! With group commit, inserts queue in the worker while a group commits, and the next
//! group (one implicit transaction, up to `--batch` rows) is everything queued when the
//! database answers; a second connection takes a group at once only when a full one
//! waits (each connection has at most one unit in flight). Failure semantics are the
//! synchronous service's: a 201 only after the commit; a connection lost, or silent past `--db-timeout`, answers 503 for what it
//! had in flight and reconnects with backoff — without blocking the loop: the new
//! socket is registered at once and its handshake ([`wire::Handshake`]) advances as it
//! becomes readable; a failing group is retried row by row. Only the first connections,
//! made before the loop starts, connect blocking.
//!
//! Reads (`GET /api/tasks…`) go through a synchronous [`Db`] connection made on first
//! use: they are not the experiment's workload.

mod wire;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use mio::Interest;

use super::answer;
use super::db::{self, Db, DbError, DbTarget, NewTask, Task};
use crate::http::request::Request;
use crate::http::response::DateCache;
use crate::scoreboard::Counters;
use crate::service::{
    BootError, Call, Completions, Group, HealthMember, Role, Service, SourceId, Sources, Ticket,
    Turn, WorkerInfo,
};
use wire::{Connecting, Finished, PgConn};

/// The first wait after a failed connection attempt; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_millis(500);
/// The longest a (blocking) connection attempt may take inside the loop.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// The evented task service: which database, how many connections per worker.
#[derive(Clone, Debug)]
pub struct EventedTaskService {
    target: DbTarget,
    config: tokio_postgres::Config,
    conns: usize,
    /// Most rows in one unit (`--batch`); 1: every insert its own transaction.
    group_cap: usize,
}

impl EventedTaskService {
    /// A service storing tasks in `target` over `conns` connections per worker, at
    /// most `group_cap` rows per transaction; `Err` if the URL does not parse.
    pub fn new(
        target: DbTarget,
        conns: usize,
        group_cap: usize,
    ) -> Result<EventedTaskService, DbError> {
        let config = tokio_postgres::Config::from_str(&target.url)
            .map_err(|e| DbError::Refused(format!("invalid database URL: {e}")))?;
        Ok(EventedTaskService {
            target,
            config,
            conns: conns.max(1),
            group_cap: group_cap.max(1),
        })
    }

    fn connect_timeout(&self) -> Duration {
        self.target.deadline.min(CONNECT_TIMEOUT)
    }
}

/// One of the worker's connections: up, or down until its next attempt.
struct Slot {
    conn: Option<PgConn>,
    /// A reconnection under way, driven by readiness like the connection itself.
    connecting: Option<Connecting>,
    retry_at: Instant,
    delay: Duration,
}

impl Slot {
    /// The next attempt waits a little longer (50 ms doubling to 500 ms).
    fn back_off(&mut self, now: Instant) {
        self.retry_at = now + self.delay;
        self.delay = (self.delay * 2).min(MAX_BACKOFF);
    }
}

/// A worker's connections, and the synchronous one for reads.
pub struct EventedContext {
    slots: Vec<Slot>,
    reads: Option<Db>,
    /// Group commit: inserts waiting for a connection with nothing in flight.
    queued: Vec<(Ticket, NewTask)>,
    /// Most rows per unit.
    group_cap: usize,
    /// The worker's counters: database errors and reconnections.
    meter: Counters,
}

impl Service for EventedTaskService {
    type Context = EventedContext;
    type Job = NewTask;
    type Done = Result<Task, DbError>;

    /// Opens the `K` connections (an outage is not a boot failure: they are retried
    /// from the loop; a refusal or a missing table is).
    fn context(&self, info: WorkerInfo) -> Result<EventedContext, BootError> {
        if info.role != Role::EventLoop {
            return Err(BootError(
                "--db evented needs --mode evloop (the event loop drives its connections)".into(),
            ));
        }
        let mut slots = Vec::with_capacity(self.conns);
        let now = Instant::now();
        for _ in 0..self.conns {
            let conn = match wire::connect(&self.config, self.connect_timeout()) {
                Ok(conn) => Some(conn),
                Err(e @ (DbError::Refused(_) | DbError::SchemaMissing(_))) => {
                    return Err(BootError(e.to_string()))
                }
                Err(e) => {
                    // Once per worker: its other connections see the same outage.
                    if slots.iter().all(|s: &Slot| s.conn.is_some()) {
                        answer::say_outage_at_boot(info.slot, &e);
                    }
                    None
                }
            };
            slots.push(Slot {
                conn,
                connecting: None,
                retry_at: now,
                delay: FIRST_BACKOFF,
            });
        }
        Ok(EventedContext {
            slots,
            reads: None,
            queued: Vec::new(),
            group_cap: self.group_cap,
            meter: info.counters,
        })
    }

    fn call(&self, cx: &mut EventedContext, req: &Request, turn: Turn) -> Call<NewTask> {
        let meter = cx.meter;
        answer::call(req, turn, &meter, || cx.reads(&self.target))
    }

    /// `--batch 1`: each insert as its own unit on the least busy connection. Group
    /// commit: queued, and handed to every connection with nothing in flight; rows
    /// complete when their unit's answer arrives ([`Service::ready`]).
    fn commit(
        &self,
        cx: &mut EventedContext,
        jobs: &mut Group<NewTask>,
        done: &mut Completions<Self::Done>,
    ) {
        if cx.group_cap == 1 {
            for (ticket, task) in jobs.drain(..) {
                cx.submit(vec![ticket], vec![task], done);
            }
        } else {
            cx.queued.append(jobs);
            cx.dispatch(done);
        }
    }

    fn encode(&self, done: &Self::Done, keep_alive: bool, date: &mut DateCache, out: &mut Vec<u8>) {
        answer::encode_outcome(done, keep_alive, date, out);
    }

    /// `"database":"up"` while at least one connection is.
    fn health(&self, cx: &mut EventedContext) -> Vec<HealthMember> {
        let up = cx.slots.iter().any(|s| s.conn.is_some());
        vec![("database", if up { "up" } else { "down" })]
    }

    fn reaches(&self) -> Vec<PathBuf> {
        db::socket_dirs(&self.target.url)
    }

    fn register(&self, cx: &mut EventedContext, sources: &Sources<'_>) -> std::io::Result<()> {
        if cx.slots.len() > sources.capacity() {
            return Err(std::io::Error::other(format!(
                "--db-conns {} is more than the {} the event loop can poll",
                cx.slots.len(),
                sources.capacity()
            )));
        }
        for (i, slot) in cx.slots.iter_mut().enumerate() {
            if let Some(conn) = &mut slot.conn {
                sources.register(
                    &mut conn.socket,
                    SourceId(i),
                    Interest::READABLE | Interest::WRITABLE,
                )?;
            }
        }
        Ok(())
    }

    fn ready(&self, cx: &mut EventedContext, source: SourceId, done: &mut Completions<Self::Done>) {
        let Some(slot) = cx.slots.get_mut(source.0) else {
            return;
        };
        if slot.connecting.is_some() {
            return cx.advance_connecting(source.0, None, done);
        }
        let Some(conn) = &mut slot.conn else {
            return;
        };
        let mut finished = Vec::new();
        let outcome = conn.read_ready(&mut finished);
        for unit in finished {
            cx.settle(source.0, unit, done);
        }
        if let Err(e) = outcome {
            cx.break_slot(source.0, &e, None, done);
        }
        cx.dispatch(done);
    }

    fn defers_completion(&self) -> bool {
        true
    }

    /// Writes what the iteration queued, then deadlines of the units in flight, and
    /// reconnections that are due.
    fn tick(
        &self,
        cx: &mut EventedContext,
        sources: &Sources<'_>,
        now: Instant,
        done: &mut Completions<Self::Done>,
    ) {
        // What this iteration queued goes out now, one write per connection.
        for i in 0..cx.slots.len() {
            let flushed = cx.slots[i].conn.as_mut().map(PgConn::flush);
            if let Some(Err(e)) = flushed {
                cx.break_slot(i, &e, Some(sources), done);
            }
        }
        let deadline = self.target.deadline;
        for i in 0..cx.slots.len() {
            let slot = &mut cx.slots[i];
            match &slot.conn {
                Some(conn) if conn.oldest().is_some_and(|at| now >= at + deadline) => {
                    let why = DbError::Unavailable(format!(
                        "no answer within {} ms",
                        deadline.as_millis()
                    ));
                    cx.break_slot(i, &why, Some(sources), done);
                }
                Some(_) => {}
                None if slot
                    .connecting
                    .as_ref()
                    .is_some_and(|c| now >= c.started + self.connect_timeout()) =>
                {
                    // The server accepted but never finished the handshake.
                    if let Some(mut abandoned) = slot.connecting.take() {
                        let _ = sources.deregister(&mut abandoned.socket);
                    }
                    slot.back_off(now);
                }
                None if slot.connecting.is_none() && now >= slot.retry_at => {
                    // Without blocking the loop: the handshake goes on in `ready`.
                    match wire::connect_nonblocking(&self.config) {
                        Ok(mut connecting) => {
                            let interest = Interest::READABLE | Interest::WRITABLE;
                            if sources
                                .register(&mut connecting.socket, SourceId(i), interest)
                                .is_ok()
                            {
                                slot.connecting = Some(connecting);
                                cx.advance_connecting(i, Some(sources), done);
                            } else {
                                slot.back_off(now);
                            }
                        }
                        Err(_) => slot.back_off(now),
                    }
                }
                None => {}
            }
        }
        cx.dispatch(done);
    }
}

impl EventedContext {
    /// The synchronous connection for reads, made on first use.
    fn reads(&mut self, target: &DbTarget) -> Result<&mut Db, DbError> {
        if self.reads.is_none() {
            let mut db = Db::connect(target)?;
            db.count_reconnects_on(self.meter);
            self.reads = Some(db);
        }
        Ok(self.reads.as_mut().expect("just made"))
    }

    /// Group commit: while a group commits, the queue waits for it unless a full group
    /// is queued; then every connection with nothing in flight takes what is queued (up
    /// to the group cap) as one unit. With no connection at all, the queue is answered
    /// 503 at once rather than kept waiting for a reconnection.
    fn dispatch(&mut self, done: &mut Completions<Result<Task, DbError>>) {
        if self.queued.is_empty() {
            return;
        }
        if self.slots.iter().all(|s| s.conn.is_none()) {
            let why = DbError::Unavailable("not connected to the database; reconnecting".into());
            let tickets = self.queued.drain(..).map(|(ticket, _)| ticket);
            return fail_all(&self.meter, tickets, &why, done);
        }
        for i in 0..self.slots.len() {
            // One group at a time while a partial group waits: the next commit starts
            // when the database is free again and takes everything queued by then (the
            // biggest groups, as a blocking loop would make). A second connection opens
            // a lane only for a full group.
            let committing = self
                .slots
                .iter()
                .any(|s| s.conn.as_ref().is_some_and(|c| c.in_flight() > 0));
            if self.queued.is_empty() || (committing && self.queued.len() < self.group_cap) {
                return;
            }
            let idle = self.slots[i]
                .conn
                .as_ref()
                .is_some_and(|c| c.in_flight() == 0);
            if idle {
                let take = self.queued.len().min(self.group_cap);
                let (tickets, tasks) = self.queued.drain(..take).unzip();
                self.submit_to(i, tickets, tasks, done);
            }
        }
    }

    /// Writes one unit to the least busy live connection; with none, or if the write
    /// fails, its jobs are answered 503 at once.
    fn submit(
        &mut self,
        tickets: Vec<Ticket>,
        tasks: Vec<NewTask>,
        done: &mut Completions<Result<Task, DbError>>,
    ) {
        let least_busy = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.conn.as_ref().map(|c| (c.in_flight(), i)))
            .min();
        let Some((_, i)) = least_busy else {
            let why = DbError::Unavailable("not connected to the database; reconnecting".into());
            return fail_all(&self.meter, tickets, &why, done);
        };
        self.submit_to(i, tickets, tasks, done);
    }

    /// Writes one unit to connection `i` (which is up); if the write fails, its jobs
    /// are answered 503 and the connection is dropped.
    fn submit_to(
        &mut self,
        i: usize,
        tickets: Vec<Ticket>,
        tasks: Vec<NewTask>,
        done: &mut Completions<Result<Task, DbError>>,
    ) {
        let conn = self.slots[i].conn.as_mut().expect("a live slot");
        if let Err((unit, e)) = conn.submit(tickets, tasks) {
            fail_all(&self.meter, unit.tickets, &e, done);
            self.break_slot(i, &e, None, done);
        }
    }

    /// A unit's answer: every row committed, or each row retried alone after a group
    /// that failed on its content, or the error for each.
    fn settle(
        &mut self,
        slot: usize,
        finished: Finished,
        done: &mut Completions<Result<Task, DbError>>,
    ) {
        let Finished { unit, result } = finished;
        match result {
            Ok(rows) => {
                done.committed(rows.len() as u64);
                for (ticket, row) in unit.tickets.into_iter().zip(rows) {
                    done.complete(ticket, Ok(row));
                }
            }
            Err(DbError::Query(_)) if unit.tasks.len() > 1 => {
                // One bad row must not fail the others: each alone, its own commit.
                for (ticket, task) in unit.tickets.into_iter().zip(unit.tasks) {
                    self.submit(vec![ticket], vec![task], done);
                }
            }
            Err(e) => {
                let _ = slot;
                fail_all(&self.meter, unit.tickets, &e, done);
            }
        }
    }

    /// Moves slot `i`'s reconnection on; once ready it becomes the slot's connection
    /// (already registered, under the same source), and on failure it is dropped
    /// (deregistered when `sources` is at hand; closing the socket removes it anyway).
    fn advance_connecting(
        &mut self,
        i: usize,
        sources: Option<&Sources<'_>>,
        done: &mut Completions<Result<Task, DbError>>,
    ) {
        let slot = &mut self.slots[i];
        let Some(connecting) = slot.connecting.as_mut() else {
            return;
        };
        match connecting.advance() {
            Ok(false) => {}
            Ok(true) => {
                let ready = slot.connecting.take().expect("checked above");
                slot.conn = Some(ready.finish());
                slot.delay = FIRST_BACKOFF;
                self.meter.db_reconnect();
                self.dispatch(done);
            }
            Err(_) => {
                if let Some(mut failed) = slot.connecting.take() {
                    if let Some(sources) = sources {
                        let _ = sources.deregister(&mut failed.socket);
                    }
                }
                slot.back_off(Instant::now());
            }
        }
    }

    /// Drops a broken (or stalled) connection: what it had in flight is answered 503 —
    /// its outcome is unknown, so never a 201 — and it is reconnected after a backoff.
    fn break_slot(
        &mut self,
        i: usize,
        why: &DbError,
        sources: Option<&Sources<'_>>,
        done: &mut Completions<Result<Task, DbError>>,
    ) {
        let slot = &mut self.slots[i];
        let Some(mut conn) = slot.conn.take() else {
            return;
        };
        let lost = DbError::Unavailable(format!(
            "connection lost with the request in flight ({why})"
        ));
        for unit in conn.take_units() {
            fail_all(&self.meter, unit.tickets, &lost, done);
        }
        if let Some(sources) = sources {
            let _ = sources.deregister(&mut conn.socket);
        }
        slot.back_off(Instant::now());
    }
}

/// Answers each of `tickets` with `why` (503/500), counting them on `meter` as requests
/// whose database work failed.
fn fail_all(
    meter: &Counters,
    tickets: impl IntoIterator<Item = Ticket>,
    why: &DbError,
    done: &mut Completions<Result<Task, DbError>>,
) {
    for ticket in tickets {
        meter.db_errors(1);
        done.complete(ticket, Err(why.clone()));
    }
}

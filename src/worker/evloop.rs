//! The event-loop worker: one thread, one `mio::Poll`, one service context.
//!
//! The shape is mio's `tcp_server` example: named tokens, accept until `WouldBlock`, read
//! until `WouldBlock`, connections in a `Slab`. Each readiness event drives its connection
//! ([`super::evconn`]): read what is there, answer every complete request in it (a
//! service's synchronous work — the task service's database call — runs inside the
//! loop: that is the experiment), encode all the answers into one buffer and write it
//! once. Output the socket does not take at once
//! stays buffered and the connection registers WRITABLE until it is flushed. A connection
//! that used up its round budget is driven again next iteration, after the others.
//!
//! Group commit (`--batch N` > 1): while the iteration's events are handled, the jobs a
//! service defers (the task service's inserts) are queued from every connection; the
//! connections owing answers are held (nothing written yet). At the end of the
//! iteration, or as soon as N jobs are queued, the service commits the group
//! ([`crate::service::Service::commit`]: one statement, one commit), every answer is
//! filled in in request order, and each held connection gets one write.
//!
//! A service may also register sources of its own in this poll (tokens between the
//! signal pipe's and the connections'); their readiness goes to
//! [`crate::service::Service::ready`], and the jobs it completes are delivered the same
//! way.
//!
//! Deadlines (read timeout → 408, keep-alive timeout, lingering close) sit in a lazy
//! min-heap ([`super::timers`]), so an iteration only looks at connections that are due;
//! `poll` sleeps until the earliest deadline or one second, whichever is first, so the
//! heartbeat and the master-death check run at least once per second.

use std::io::{self, ErrorKind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use super::accept::{self, Gate};
use super::conn::{Conn, Settle, Timeouts};
use super::error::WorkerError;
use super::evconn::{drive, resume, App, Next};
use super::rules;
use super::state::{Stop, Worker};
use super::timers::Timers;
use crate::config::Limits;
use crate::http::response::DateCache;
use crate::listener::Listener;
use crate::peer::Peer;
use crate::service::{Completions, Role, Service, SourceId, Sources, Ticket, WorkerInfo};
use crate::worker::stream::{Listeners, NetStream};

/// The listening socket.
const LISTENER: Token = Token(0);
/// The signal self-pipe.
const SIGNAL: Token = Token(1);
/// The first of the tokens lent to the service for its own sources.
const FIRST_SERVICE: usize = 2;
/// How many sources a service may register in the loop's poll.
const SERVICE_SOURCES: usize = 64;
/// Connection tokens are slab keys shifted past the fixed tokens above.
const FIRST_CONN: usize = FIRST_SERVICE + SERVICE_SOURCES;

/// The interest of a connection whose output waits for the socket.
const READ_WRITE: Interest = Interest::READABLE.add(Interest::WRITABLE);

/// Longest `poll` sleep: the heartbeat and the `getppid` check need a regular pulse.
const MAX_TICK: Duration = Duration::from_secs(1);
/// Readiness events taken per `poll`.
const EVENTS: usize = 1024;

/// One connection in the slab.
struct Entry {
    conn: Conn<NetStream>,
    /// Distinguishes this connection from a later one reusing its slab key (timers).
    serial: u64,
    /// The time of this connection's authoritative timer entry.
    armed: Option<Instant>,
    /// WRITABLE interest is registered (output is waiting for the socket).
    writable: bool,
    /// In [`EvLoop::held`]: answers owed, waiting for the commit.
    held: bool,
    /// The last drive that left answers owed read the socket empty: once they are
    /// delivered there is nothing to read until its next readiness event.
    drained: bool,
}

/// The event loop's state.
struct EvLoop<S: Service> {
    poll: Poll,
    /// `None` once draining: the listeners are deregistered and our copies closed (the
    /// master keeps the sockets, so connections queued on them wait for the next worker).
    listeners: Option<Listeners>,
    /// Whether and when to accept (the connection cap, descriptor backoff).
    gate: Gate,
    conns: Slab<Entry>,
    timers: Timers,
    next_serial: u64,
    app: App<S>,
    date: DateCache,
    limits: Limits,
    timeouts: Timeouts,
    /// Set when draining starts: past it the worker exits even with connections left.
    drain_deadline: Option<Instant>,
    /// Connections to drive again next iteration (key, serial), see [`Next::Again`].
    deferred: Vec<(usize, u64)>,
    /// Connections owed answers by the pending group commit, and whether their socket
    /// was drained, see [`Next::Held`].
    held: Vec<(Ticket, bool)>,
    /// Connections stopped by the cap on jobs in flight, see [`Next::Starved`].
    starved: Vec<Ticket>,
    /// The cap on jobs in flight was reached at least once (said in the log once).
    capped_once: bool,
}

/// What the loop does after an iteration's housekeeping.
enum Flow {
    Continue,
    Exit,
}

/// Makes the service's context, then serves until stopped; returns when the worker
/// should exit 0.
pub(super) fn run<S: Service>(
    worker: Worker,
    listeners: Vec<Listener>,
    service: Arc<S>,
) -> Result<(), WorkerError> {
    let info = WorkerInfo {
        slot: worker.slot,
        role: Role::EventLoop,
        counters: worker.counters,
    };
    let cx = service.context(info)?;
    let mut ev = EvLoop::new(worker, listeners, service, cx)?;
    Ok(ev.serve()?)
}

impl<S: Service> EvLoop<S> {
    /// The loop itself.
    fn serve(&mut self) -> io::Result<()> {
        let ev = self;
        let mut events = Events::with_capacity(EVENTS);
        loop {
            match ev.poll.poll(&mut events, Some(ev.tick(Instant::now()))) {
                Ok(()) => {}
                // A signal interrupted the wait: its flag is checked below like any other.
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            ev.app.worker.heartbeat.beat();
            for event in events.iter() {
                // Readable or writable does not matter: a drive tries both directions.
                match event.token() {
                    LISTENER => ev.accept_all(Instant::now()),
                    SIGNAL => ev.app.worker.signals.drain(),
                    Token(t) if t >= FIRST_CONN => ev.on_ready(t - FIRST_CONN),
                    Token(t) => ev.on_service_ready(SourceId(t - FIRST_SERVICE)),
                }
            }
            ev.resume_deferred();
            ev.commit();
            ev.service_tick(Instant::now());
            if let Flow::Exit = ev.housekeeping(Instant::now()) {
                return Ok(());
            }
            ev.accept_due(Instant::now());
        }
    }

    fn new(
        mut worker: Worker,
        listeners: Vec<Listener>,
        service: Arc<S>,
        mut cx: S::Context,
    ) -> io::Result<EvLoop<S>> {
        let poll = Poll::new()?;
        let mut listeners = Listeners::new(listeners)?;
        listeners.register(poll.registry(), LISTENER)?;
        poll.registry()
            .register(&mut worker.signals.wake, SIGNAL, Interest::READABLE)?;
        let sources = Sources {
            registry: poll.registry(),
            first_token: FIRST_SERVICE,
            capacity: SERVICE_SOURCES,
        };
        service.register(&mut cx, &sources)?;
        let config = &worker.config;
        let cap = config.batch.max(1);
        let deferred_completion = service.defers_completion();
        Ok(EvLoop {
            gate: Gate::new(accept::cap_for(config)),
            limits: config.limits,
            timeouts: Timeouts::of(config),
            poll,
            listeners: Some(listeners),
            conns: Slab::new(),
            timers: Timers::default(),
            next_serial: 0,
            app: App {
                max_in_flight: worker.config.max_in_flight,
                service,
                cx,
                worker,
                draining: false,
                group: Vec::with_capacity(cap),
                cap,
                done: Completions::default(),
                deferred_completion,
                in_flight: 0,
                starved: false,
            },
            date: DateCache::default(),
            drain_deadline: None,
            deferred: Vec::new(),
            held: Vec::new(),
            starved: Vec::new(),
            capped_once: false,
        })
    }

    /// How long `poll` may sleep: until the next deadline, at most [`MAX_TICK`]; not at
    /// all while connections wait for another turn.
    fn tick(&self, now: Instant) -> Duration {
        if !self.deferred.is_empty() {
            return Duration::ZERO;
        }
        let backoff = self.gate.wake_at(now);
        let log = self.app.worker.access_log.next_flush();
        [self.timers.next(), self.drain_deadline, backoff, log]
            .into_iter()
            .flatten()
            .map(|at| at.saturating_duration_since(now))
            .fold(MAX_TICK, Duration::min)
    }

    /// A listener event (one may stand for many connections): accepts under the
    /// rule of [`super::accept`], which stops at the cap or on running out of descriptors.
    fn accept_all(&mut self, now: Instant) {
        let Some(mut listeners) = self.listeners.take() else {
            return;
        };
        let mut gate = std::mem::replace(&mut self.gate, Gate::new(0));
        let next = || listeners.accept();
        gate.accept(self.conns.len(), now, next, |(stream, peer)| {
            self.add(stream, peer)
        });
        self.gate = gate;
        self.listeners = Some(listeners);
    }

    /// Accepts again when an earlier burst stopped short and may now go on (a
    /// connection closed below the cap, or the descriptor backoff is over).
    fn accept_due(&mut self, now: Instant) {
        if self.gate.due(self.conns.len(), now) {
            self.accept_all(now);
        }
    }

    /// Registers a new connection and starts its read clock.
    fn add(&mut self, mut stream: NetStream, peer: Peer) {
        let _ = stream.set_nodelay();
        let vacant = self.conns.vacant_entry();
        let key = vacant.key();
        let registry = self.poll.registry();
        if registry
            .register(&mut stream, Token(key + FIRST_CONN), Interest::READABLE)
            .is_err()
        {
            return; // dropping the stream closes it: the client sees a reset, nobody else does
        }
        let meters = (self.app.worker.counters, self.app.worker.access_log.clone());
        let conn = Conn::counted(stream, peer, Instant::now(), meters);
        self.next_serial += 1;
        let serial = self.next_serial;
        vacant.insert(Entry {
            conn,
            serial,
            armed: None,
            writable: false,
            held: false,
            drained: false,
        });
        self.app.worker.counters.connection();
        self.arm(key);
    }

    /// A readiness event for connection `key`.
    fn on_ready(&mut self, key: usize) {
        let now = Instant::now();
        // Gone already: closed earlier in this batch of events.
        let Some(entry) = self.conns.get_mut(key) else {
            return;
        };
        let owner = Ticket {
            slot: key,
            serial: entry.serial,
            seq: 0,
        };
        if self.app.is_saturated() && !self.app.draining {
            // Backpressure: leave its bytes in the kernel until answers come back.
            return self.pause(owner);
        }
        let next = drive(
            &mut entry.conn,
            owner,
            &mut self.app,
            &mut self.date,
            &self.limits,
            now,
        );
        entry.drained = matches!(next, Ok(Next::Held { drained: true }));
        match next {
            Ok(Next::Held { drained }) => {
                if !entry.held {
                    entry.held = true;
                    self.held.push((owner, drained));
                }
            }
            Ok(Next::Starved) => {
                self.pause(owner);
                self.settle(key, Ok(Next::Wait));
            }
            next => self.settle(key, next),
        }
        if self.app.is_full() {
            self.commit();
        }
    }

    /// Stops reading `owner`'s connection until jobs complete (the cap on jobs in
    /// flight is reached); the first time, says so.
    fn pause(&mut self, owner: Ticket) {
        if !self.starved.contains(&owner) {
            self.starved.push(owner);
        }
        if !self.capped_once {
            self.capped_once = true;
            let (slot, cap) = (self.app.worker.slot, self.app.max_in_flight);
            crate::say!(
                "prefork: worker {slot}: {cap} jobs queued or in flight (--max-in-flight): \
                 reading from clients pauses until answers come back (said once per worker)"
            );
        }
    }

    /// Readiness of one of the service's own sources: whatever jobs it completes are
    /// delivered, and their connections driven on.
    fn on_service_ready(&mut self, source: SourceId) {
        let app = &mut self.app;
        app.service.ready(&mut app.cx, source, &mut app.done);
        self.settle_completions();
    }

    /// The service's periodic turn (deadlines, reconnections), then what it settled.
    fn service_tick(&mut self, now: Instant) {
        let sources = Sources {
            registry: self.poll.registry(),
            first_token: FIRST_SERVICE,
            capacity: SERVICE_SOURCES,
        };
        let app = &mut self.app;
        app.service.tick(&mut app.cx, &sources, now, &mut app.done);
        self.settle_completions();
    }

    /// Delivers jobs the service completed outside a commit and drives their
    /// connections on; connections stopped by the in-flight cap go again once there is
    /// room.
    fn settle_completions(&mut self) {
        let now = Instant::now();
        for owner in self.deliver(now) {
            if let Some(entry) = live(&mut self.conns, owner).filter(|e| !e.held) {
                // A socket read empty needs no read now (bytes arriving since raised an
                // event, which drove it); otherwise the drive reads on until it is empty.
                let next = resume(&mut entry.conn, entry.drained, self.app.draining, now);
                self.settle(owner.slot, next);
            }
        }
        if !self.starved.is_empty() && self.app.in_flight < self.app.max_in_flight {
            let again = self.starved.drain(..).map(|t| (t.slot, t.serial));
            self.deferred.extend(again);
        }
    }

    /// Hands every completed job's answer to its connection (in completion order,
    /// which per connection is request order); returns the connections served. `now`:
    /// a clock read after the jobs completed, the end of their requests' latency.
    fn deliver(&mut self, now: Instant) -> Vec<Ticket> {
        let app = &mut self.app;
        rules::record_commits(&app.worker.counters, &mut app.done);
        let mut served = Vec::new();
        for (owner, done) in app.done.take_done() {
            app.in_flight = app.in_flight.saturating_sub(1);
            // Closed meanwhile (its job is done, but nobody was told: not acknowledged).
            let Some(entry) = live(&mut self.conns, owner) else {
                continue;
            };
            let (service, date) = (&app.service, &mut self.date);
            entry
                .conn
                .session
                .fill_seq(owner.seq, now, |keep_alive, out| {
                    service.encode(&done, keep_alive, date, out);
                });
            let same = |t: &Ticket| (t.slot, t.serial) == (owner.slot, owner.serial);
            if !served.iter().any(same) {
                served.push(owner);
            }
        }
        served
    }

    /// Commits the queued jobs, fills every answer in, and finishes the turn of each
    /// held connection (one write each).
    fn commit(&mut self) {
        let committed = !self.app.group.is_empty();
        if committed {
            let app = &mut self.app;
            app.in_flight += app.group.len();
            app.service
                .commit(&mut app.cx, &mut app.group, &mut app.done);
            app.group.clear();
        }
        // After the commit returned: the end of its jobs' latency, and the held
        // connections' clock.
        let now = Instant::now();
        if committed {
            self.deliver(now);
        }
        for (owner, drained) in std::mem::take(&mut self.held) {
            let draining = self.app.draining;
            let Some(entry) = live(&mut self.conns, owner) else {
                continue;
            };
            entry.held = false;
            let next = resume(&mut entry.conn, drained, draining, now);
            self.settle(owner.slot, next);
        }
    }

    /// Drives the connections whose round budget ran out last iteration.
    fn resume_deferred(&mut self) {
        for (key, serial) in std::mem::take(&mut self.deferred) {
            // The connection may have been closed (and its key reused) meanwhile.
            if self.conns.get(key).is_some_and(|e| e.serial == serial) {
                self.on_ready(key);
            }
        }
    }

    /// After a drive: close the connection, or update its interest and its timer.
    fn settle(&mut self, key: usize, next: io::Result<Next>) {
        let next = match next {
            Ok(Next::Close) | Err(_) => return self.close(key), // an error concerns only this one
            Ok(next) => next,
        };
        let entry = &mut self.conns[key];
        if let Next::Again = next {
            self.deferred.push((key, entry.serial));
        }
        let want_write = !entry.conn.session.pending().is_empty();
        if want_write != entry.writable {
            // WRITABLE only while output waits: a writable socket would wake us for nothing.
            let interest = if want_write {
                READ_WRITE
            } else {
                Interest::READABLE
            };
            let (registry, token) = (self.poll.registry(), Token(key + FIRST_CONN));
            if registry
                .reregister(&mut entry.conn.stream, token, interest)
                .is_err()
            {
                return self.close(key);
            }
            entry.writable = want_write;
        }
        self.arm(key);
    }

    /// Makes sure the connection's timer fires no later than its current deadline.
    fn arm(&mut self, key: usize) {
        let entry = &mut self.conns[key];
        let session = &entry.conn.session;
        let deadline = session.drain_deadline(&self.timeouts, self.app.draining);
        self.timers
            .arm(&mut entry.armed, deadline, key, entry.serial);
    }

    fn close(&mut self, key: usize) {
        let mut entry = self.conns.remove(key);
        // Deregister before the drop closes the fd, as mio asks.
        let _ = self.poll.registry().deregister(&mut entry.conn.stream);
    }

    /// Stop checks, due deadlines and the drain's end, once per iteration.
    fn housekeeping(&mut self, now: Instant) -> Flow {
        let worker = &mut self.app.worker;
        worker.tend_access_log(now);
        match worker.signals.flags.get() {
            Some(Stop::Immediate) => return Flow::Exit,
            Some(Stop::Graceful) => self.begin_drain(now),
            None if self.app.draining || worker.lifeline.master_gone(now) => self.begin_drain(now),
            None => {}
        }
        self.expire_due(now);
        match self.drain_deadline {
            Some(deadline) if self.conns.is_empty() || now >= deadline => Flow::Exit,
            _ => Flow::Continue,
        }
    }

    /// Handles every timer entry due at `now`; stale entries are skipped, entries whose
    /// connection's deadline has moved later re-arm it.
    fn expire_due(&mut self, now: Instant) {
        while let Some(due) = self.timers.pop_due(now) {
            let Some(entry) = self.conns.get_mut(due.key) else {
                continue;
            };
            if entry.serial != due.serial || entry.armed != Some(due.at) {
                continue;
            }
            entry.armed = None;
            let conn = &mut entry.conn;
            if conn
                .session
                .drain_deadline(&self.timeouts, self.app.draining)
                > now
            {
                self.arm(due.key);
                continue;
            }
            if conn.session.drained_out(self.app.draining, now) {
                self.close(due.key);
                continue;
            }
            // 408 (then lingering close) or a silent close; deliver what it wrote.
            conn.session.expire(&mut self.date);
            let next = conn
                .flush_and_settle(self.app.draining, now)
                .map(|settled| match settled {
                    Settle::Close => Next::Close,
                    Settle::Flushed | Settle::Blocked => Next::Wait,
                });
            self.settle(due.key, next);
        }
    }

    /// Starts a graceful stop: no more accepts; connections with nothing in flight close
    /// after a short grace, the others after the answer to the request they are sending.
    fn begin_drain(&mut self, now: Instant) {
        if self.drain_deadline.is_some() {
            return;
        }
        self.drain_deadline = Some(now + self.app.worker.config.graceful_timeout);
        self.app.draining = true;
        // Take what the kernel already queued on this listener first: when the master
        // has closed its copy (TTOU), dropping ours would reset those connections.
        self.accept_all(now);
        if let Some(mut listeners) = self.listeners.take() {
            listeners.deregister(self.poll.registry());
        }
        // Drive each connection once: bytes that already arrived count as a started
        // request, and every connection's timer is re-armed for the drain grace.
        let keys: Vec<usize> = self.conns.iter().map(|(key, _)| key).collect();
        for key in keys {
            self.on_ready(key);
        }
        self.commit();
    }
}

/// The connection `owner` names in `conns`, if it is still open.
fn live(conns: &mut Slab<Entry>, owner: Ticket) -> Option<&mut Entry> {
    conns
        .get_mut(owner.slot)
        .filter(|e| e.serial == owner.serial)
}

//! The acceptor: accepts under the workers' accept rule, keeps every connection no
//! request thread is serving in its poll until it is readable, queues readable ones for
//! the request threads, expires the ones past their deadline, and runs the drain.

use std::io::{self, ErrorKind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, SendTimeoutError, Sender};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use super::client::{Client, Tally};
use super::shared::{Threads, TICK};
use crate::http::response::DateCache;
use crate::listener::Listener;
use crate::worker::accept::Gate;
use crate::worker::conn::Timeouts;
use crate::worker::state::{Stop, Worker};
use crate::worker::stream::Listeners;

/// The listening socket in the acceptor's poll.
const LISTENER: Token = Token(0);
/// The signal self-pipe.
const SIGNAL: Token = Token(1);
/// A request thread handed a connection back, or the count of connections fell.
pub(super) const WAKE: Token = Token(2);
/// Waiting connection `k` has token `FIRST_WAITING + k`.
const FIRST_WAITING: usize = 3;

/// How often waiting connections are checked against their deadlines: well within the
/// drain grace, so a draining worker closes idle connections on time.
const SWEEP: Duration = Duration::from_millis(50);
/// Readiness events taken per poll.
const EVENTS: usize = 1024;

/// The acceptor's state.
struct Acceptor<'a> {
    worker: &'a mut Worker,
    poll: Poll,
    /// `None` once draining: dropped, the master keeps the sockets for the next worker.
    listeners: Option<Listeners>,
    gate: Gate,
    queue: &'a Sender<Client>,
    returns: Receiver<Client>,
    /// Connections waiting in the poll for input.
    waiting: Slab<Client>,
    tally: Arc<Tally>,
    timeouts: Timeouts,
    date: DateCache,
    next_sweep: Instant,
    /// Set when the drain starts: past it the worker exits even with connections left.
    drain_deadline: Option<Instant>,
}

/// The acceptor: accept, hand over, keep waiting connections, beat, drain, until the
/// worker should exit.
pub(super) fn run(
    worker: &mut Worker,
    poll: Poll,
    listeners: Vec<Listener>,
    (queue, returns): (&Sender<Client>, Receiver<Client>),
    threads: &Threads,
    (timeouts, tally): (Timeouts, Arc<Tally>),
) -> io::Result<()> {
    let mut listeners = Listeners::new(listeners)?;
    let registry = poll.registry();
    listeners.register(registry, LISTENER)?;
    registry.register(&mut worker.signals.wake, SIGNAL, Interest::READABLE)?;
    let mut me = Acceptor {
        gate: Gate::new(tally.cap()),
        worker,
        poll,
        listeners: Some(listeners),
        queue,
        returns,
        waiting: Slab::new(),
        tally,
        timeouts,
        date: DateCache::default(),
        next_sweep: Instant::now() + SWEEP,
        drain_deadline: None,
    };
    me.serve(threads)
}

impl Acceptor<'_> {
    /// The poll loop.
    fn serve(&mut self, threads: &Threads) -> io::Result<()> {
        let mut events = Events::with_capacity(EVENTS);
        loop {
            match self
                .poll
                .poll(&mut events, Some(self.timeout(Instant::now())))
            {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            self.worker.heartbeat.beat();
            self.worker.signals.drain();
            let now = Instant::now();
            self.worker.tend_access_log(now);
            match should_stop(self.worker) {
                Some(Stop::Immediate) => return Ok(()),
                Some(Stop::Graceful) => self.begin_drain(now),
                None => {}
            }
            // A request thread or a committer only ends early by panicking: crash so
            // the master respawns us.
            if threads.crashed() {
                return Err(io::Error::other("a worker thread panicked"));
            }
            self.dispatch(&events, now);
            self.sweep(now);
            if self.drained(now) {
                return Ok(());
            }
        }
    }

    /// How long the poll may sleep: a tick, less while connections wait for their
    /// deadlines or the accept backoff runs.
    fn timeout(&self, now: Instant) -> Duration {
        let sweep = (!self.waiting.is_empty()).then_some(self.next_sweep);
        let log = self.worker.access_log.next_flush();
        [sweep, self.gate.wake_at(now), log]
            .into_iter()
            .flatten()
            .map(|at| at.saturating_duration_since(now))
            .fold(TICK, Duration::min)
    }

    /// Handles one poll's events. Readable waiting connections go first: waiting
    /// reuses freed slab keys, and an event of this batch must not reach a newcomer.
    fn dispatch(&mut self, events: &Events, now: Instant) {
        let mut accept = false;
        for event in events {
            match event.token() {
                LISTENER => accept = true,
                SIGNAL | WAKE => {}
                Token(t) => self.readable(t - FIRST_WAITING),
            }
        }
        while let Ok(client) = self.returns.try_recv() {
            self.wait(client);
        }
        if accept || self.gate.due(self.tally.open(), now) {
            self.accept(now);
        }
    }

    /// Accepts under the gate's rule; every new connection waits until readable.
    fn accept(&mut self, now: Instant) {
        let Some(mut listeners) = self.listeners.take() else {
            return;
        };
        let mut gate = std::mem::replace(&mut self.gate, Gate::new(0));
        let next = || listeners.accept();
        gate.accept(self.tally.open(), now, next, |(stream, peer)| {
            self.worker.counters.connection();
            let _ = stream.set_nodelay();
            let meters = (self.worker.counters, self.worker.access_log.clone());
            let client = Client::new(stream, peer, &self.tally, now, meters);
            self.wait(client);
        });
        self.gate = gate;
        self.listeners = Some(listeners);
    }

    /// Puts a connection in the poll until it is readable. Registration reports input
    /// that is already there, so nothing that arrived before it is missed.
    fn wait(&mut self, mut client: Client) {
        let entry = self.waiting.vacant_entry();
        let token = Token(FIRST_WAITING + entry.key());
        let stream = &mut client.conn.stream;
        if self
            .poll
            .registry()
            .register(stream, token, Interest::READABLE)
            .is_ok()
        {
            entry.insert(client);
        } // else dropped: closes it (out of resources; the client reconnects)
    }

    /// A waiting connection is readable: queue it for a request thread.
    fn readable(&mut self, key: usize) {
        if self.waiting.contains(key) {
            let client = self.unwait(key);
            self.hand_off(client);
        }
    }

    /// Removes a waiting connection from the poll and the slab.
    fn unwait(&mut self, key: usize) -> Client {
        let mut client = self.waiting.remove(key);
        let _ = self.poll.registry().deregister(&mut client.conn.stream);
        client
    }

    /// Queues a connection; while every thread is busy and the queue is full, waits in
    /// [`TICK`] steps, still beating. Dropped if the worker is stopping immediately.
    fn hand_off(&self, mut client: Client) {
        loop {
            match self.queue.send_timeout(client, TICK) {
                Ok(()) | Err(SendTimeoutError::Disconnected(_)) => return,
                Err(SendTimeoutError::Timeout(back)) => client = back,
            }
            self.worker.heartbeat.beat();
            if self.worker.signals.flags.get() == Some(Stop::Immediate) {
                return;
            }
        }
    }

    /// At most once per [`SWEEP`]: waiting connections past their deadline get a 408
    /// if a request was still due (then linger), or close silently (keep-alive expiry,
    /// or the drain grace over), as in the event loop.
    fn sweep(&mut self, now: Instant) {
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now + SWEEP;
        let draining = self.drain_deadline.is_some();
        let timeouts = self.timeouts;
        let expired: Vec<usize> = self
            .waiting
            .iter()
            .filter(|(_, c)| c.conn.session.drain_deadline(&timeouts, draining) <= now)
            .map(|(key, _)| key)
            .collect();
        for key in expired {
            let conn = &mut self.waiting[key].conn;
            conn.session.expire(&mut self.date);
            // Non-blocking: a 408 fits any socket buffer; if not, the client is not
            // reading and loses it.
            let done = conn.flush(now).is_err() || conn.settle(now);
            if done {
                drop(self.unwait(key));
            }
        }
    }

    /// On a graceful stop: takes what the kernel already queued on this listener (when
    /// the master has closed its copy, TTOU, dropping ours would reset them), then stops
    /// accepting. Connections go on being served under the drain rule.
    fn begin_drain(&mut self, now: Instant) {
        if self.drain_deadline.is_some() {
            return;
        }
        self.drain_deadline = Some(now + self.worker.config.graceful_timeout);
        self.accept(now);
        if let Some(mut listeners) = self.listeners.take() {
            listeners.deregister(self.poll.registry());
        }
        self.next_sweep = now;
    }

    /// Whether a draining worker is done: no connection left anywhere, or out of time.
    fn drained(&self, now: Instant) -> bool {
        self.drain_deadline
            .is_some_and(|deadline| self.tally.open() == 0 || now >= deadline)
    }
}

/// The stop requested, if any; turns recycling and master death into a graceful stop
/// that the request threads see too.
fn should_stop(worker: &mut Worker) -> Option<Stop> {
    let flags = &worker.signals.flags;
    if flags.get().is_none()
        && (worker.quota.reached() || worker.lifeline.master_gone(Instant::now()))
    {
        flags.request(Stop::Graceful);
    }
    flags.get()
}

//! One load thread (wrk's `thread_main`): its own `mio::Poll`, users and counters.
//! Nothing is shared with other threads on the hot path except one relaxed atomic
//! add per event batch for the progress line.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};

use crate::config::{Pacer, StopWhen};
use crate::conn::{Cx, Settings, User};
use crate::pacing::Schedule;
use crate::payload::Rng;
use crate::request::RequestTemplate;
use crate::stats::Stats;

/// How long a user waits after finding no free local port.
const PORT_BACKOFF: Duration = Duration::from_millis(10);
/// epoll sleeps in whole milliseconds: a timer fires when it is at most this far
/// ahead, rather than after the next tick (which would make every open-loop request
/// up to 1 ms late and add that to its corrected latency). A request sent before its
/// slot counts its latency from the actual send.
const EARLY: Duration = Duration::from_millis(1);
/// Longest sleep in `poll`, so timeouts are checked this often at least.
const MAX_TICK: Duration = Duration::from_millis(100);

/// Everything a thread needs to know about the run, built once and shared read-only.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Per-connection settings.
    pub settings: Settings,
    /// Request bytes.
    pub template: RequestTemplate,
    /// When to stop.
    pub stop: StopWhen,
    /// Closed loop, or the open-loop schedule.
    pub schedule: Option<Schedule>,
    /// Requests per write.
    pub pipeline: u64,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Payload RNG seed.
    pub seed: u64,
}

impl Plan {
    /// Builds the schedule for `pacer`, if any, starting at `start`.
    pub fn schedule(pacer: Pacer, start: Instant, users: usize) -> Option<Schedule> {
        match pacer {
            Pacer::Unlimited => None,
            Pacer::Rate(rate) => Some(Schedule::new(start, users as u64, rate)),
        }
    }
}

/// What a thread hands back after join.
#[derive(Debug)]
pub struct Outcome {
    /// Its counters.
    pub stats: Stats,
    /// When its last user finished (or the run's end).
    pub finished: Instant,
}

/// Runs users `users` (global indices) until the plan says stop.
pub fn run(
    plan: &Plan,
    thread: usize,
    users: Range<usize>,
    progress: &AtomicU64,
) -> io::Result<Outcome> {
    let poll = Poll::new()?;
    let head_request = plan.template.is_head();
    let pipeline = plan.pipeline as usize;
    let local = users
        .enumerate()
        .map(|(slot, index)| User::new(index as u64, Token(slot), pipeline, head_request))
        .collect::<Vec<_>>();
    let mut worker = Worker {
        plan,
        ready: (0..local.len()).collect(),
        active: local.len(),
        users: local,
        stats: Stats::new(plan.schedule.is_some()),
        rng: Rng::new(plan.seed, thread as u64),
        timers: BinaryHeap::new(),
        progress,
        unreported: 0,
        poll,
    };
    worker.run()
}

/// A thread's state.
struct Worker<'p> {
    plan: &'p Plan,
    poll: Poll,
    users: Vec<User>,
    stats: Stats,
    rng: Rng,
    /// Users waiting for a due time (open loop) or a backoff, earliest first.
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Users to dispatch at the next turn of the loop.
    ready: Vec<usize>,
    /// Users not finished yet.
    active: usize,
    /// Progress shared with the main thread, and what this thread has not added yet.
    progress: &'p AtomicU64,
    unreported: u64,
}

impl Worker<'_> {
    fn run(&mut self) -> io::Result<Outcome> {
        let mut events = Events::with_capacity(1024);
        let mut now = Instant::now();
        let mut next_expiry = now + self.tick();
        let end = self.plan.settings.record_until;
        while end.is_none_or(|end| now < end) {
            self.fire_timers(now);
            self.dispatch_ready(now);
            if now >= next_expiry {
                self.expire(now);
                next_expiry = now + self.tick();
            }
            if self.active == 0 {
                break;
            }
            let timeout = self.poll_timeout(now, next_expiry);
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            now = Instant::now();
            for event in events.iter() {
                self.on_event(event.token().0, event.is_read_closed(), now);
            }
            if self.unreported > 0 {
                self.progress
                    .fetch_add(std::mem::take(&mut self.unreported), Ordering::Relaxed);
            }
        }
        Ok(Outcome {
            stats: std::mem::replace(&mut self.stats, Stats::new(false)),
            finished: end.unwrap_or(now).min(now),
        })
    }

    /// How often request timeouts are checked.
    fn tick(&self) -> Duration {
        (self.plan.timeout / 4).clamp(Duration::from_millis(1), MAX_TICK)
    }

    fn poll_timeout(&self, now: Instant, next_expiry: Instant) -> Duration {
        if !self.ready.is_empty() {
            return Duration::ZERO;
        }
        let mut wake = next_expiry;
        if let Some(end) = self.plan.settings.record_until {
            wake = wake.min(end);
        }
        let mut timeout = wake.saturating_duration_since(now);
        if let Some(Reverse((at, _))) = self.timers.peek() {
            // Whole milliseconds, rounded down: see EARLY.
            let until = at.saturating_duration_since(now).as_millis();
            timeout = timeout.min(Duration::from_millis(until as u64));
        }
        timeout
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some(Reverse((at, user))) = self.timers.peek().copied() {
            if at > now + EARLY {
                break;
            }
            self.timers.pop();
            self.ready.push(user);
        }
    }

    fn dispatch_ready(&mut self, now: Instant) {
        let ready = std::mem::take(&mut self.ready);
        for &user in &ready {
            self.dispatch(user, now);
        }
        // Reuse the allocation; dispatch may have queued users again meanwhile.
        let mut ready = ready;
        ready.clear();
        ready.append(&mut self.ready);
        self.ready = ready;
    }

    fn on_event(&mut self, user: usize, read_closed: bool, now: Instant) {
        let finished = {
            let (users, mut cx) = self.split(now);
            users[user].on_event(&mut cx, read_closed);
            cx.finished
        };
        self.report(finished);
        if self.users[user].is_idle() {
            // Its next request goes out after the whole batch is handled, together with
            // the others': the server then finds several connections or requests per
            // wakeup instead of a trickle (measured: fewer context switches on both
            // sides and 5-8% more requests/s than sending right away).
            self.ready.push(user);
        }
    }

    fn expire(&mut self, now: Instant) {
        let timeout = self.plan.timeout;
        let mut idle = Vec::new();
        let finished = {
            let (users, mut cx) = self.split(now);
            for (i, user) in users.iter_mut().enumerate() {
                if !user.is_idle() {
                    user.expire(&mut cx, timeout);
                    if user.is_idle() {
                        idle.push(i);
                    }
                }
            }
            cx.finished
        };
        self.report(finished);
        self.ready.extend(idle);
    }

    /// Decides what an idle user does next: finish, wait for its due time, or send.
    fn dispatch(&mut self, user: usize, now: Instant) {
        let plan = self.plan;
        let u = &mut self.users[user];
        if u.finished || !u.is_idle() {
            return;
        }
        let remaining = match plan.stop {
            StopWhen::Loops(loops) => loops.saturating_sub(u.counted),
            StopWhen::Duration(_) => u64::MAX,
        };
        if remaining == 0 {
            u.finished = true;
            self.active -= 1;
            return;
        }
        if std::mem::take(&mut u.backoff) {
            self.timers.push(Reverse((now + PORT_BACKOFF, user)));
            return;
        }
        let batch = plan.pipeline.min(remaining);
        let (index, seq) = (u.index, u.seq);
        let n = match &plan.schedule {
            None => batch,
            Some(s) if s.due(index, seq) > now + EARLY => {
                self.timers.push(Reverse((s.due(index, seq), user)));
                return;
            }
            Some(s) => s.due_count(index, seq, now + EARLY, batch),
        };
        let finished = {
            let (users, mut cx) = self.split(now);
            match &plan.schedule {
                None => users[user].start(&mut cx, n, |_| now),
                Some(s) => users[user].start(&mut cx, n, |j| s.due(index, seq + j).min(now)),
            }
            cx.finished
        };
        self.report(finished);
        if self.users[user].is_idle() {
            // Failed at once (connect refused…): try again next turn, not recursively.
            self.ready.push(user);
        }
    }

    /// Borrows the users apart from the context they work in.
    fn split(&mut self, now: Instant) -> (&mut [User], Cx<'_>) {
        let cx = Cx {
            registry: self.poll.registry(),
            settings: &self.plan.settings,
            template: &self.plan.template,
            rng: &mut self.rng,
            stats: &mut self.stats,
            now,
            finished: 0,
        };
        (&mut self.users, cx)
    }

    fn report(&mut self, finished: u64) {
        self.unreported += finished;
    }
}

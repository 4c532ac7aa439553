//! Crash-loop backoff of one slot: a worker that dies right after it started waits
//! longer before each new try.

use std::time::{Duration, Instant};

/// A worker that dies younger than this crashed "at once": its slot waits before the
/// next try, so a worker that cannot run does not fork in a tight loop.
const QUICK_CRASH: Duration = Duration::from_secs(1);
/// First wait after a quick crash; doubled on each further one.
const FIRST_DELAY: Duration = Duration::from_millis(100);
/// The longest wait between two tries.
const MAX_DELAY: Duration = Duration::from_secs(5);

/// Crash-loop backoff of one slot.
#[derive(Debug, Default)]
pub(super) struct Backoff {
    /// The current wait; zero while the slot is healthy.
    delay: Duration,
    /// No respawn before this instant.
    not_before: Option<Instant>,
}

impl Backoff {
    /// Records a crash of a worker that lived `lifetime`.
    pub(super) fn crashed(&mut self, lifetime: Duration, now: Instant) {
        if lifetime >= QUICK_CRASH {
            // It ran for a while: an ordinary crash, replace it at once.
            *self = Backoff::default();
            return;
        }
        self.delay = (self.delay * 2).clamp(FIRST_DELAY, MAX_DELAY);
        self.not_before = Some(now + self.delay);
    }

    /// Records that the slot got a worker: the scheduled try is used up (the delay is
    /// kept, so that another quick crash waits twice as long).
    pub(super) fn started(&mut self) {
        self.not_before = None;
    }

    /// Records a clean exit (recycled by --max-requests): no penalty.
    pub(super) fn reset(&mut self) {
        *self = Backoff::default();
    }

    /// Whether a new worker may be started now.
    pub(super) fn is_due(&self, now: Instant) -> bool {
        self.not_before.is_none_or(|at| now >= at)
    }

    /// Time left before the next try, if one is scheduled.
    pub(super) fn due_in(&self, now: Instant) -> Option<Duration> {
        self.not_before.map(|at| at.saturating_duration_since(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Quick crashes double the wait from 100 ms up to 5 s.
    #[test]
    fn quick_crashes_back_off_exponentially() {
        let now = Instant::now();
        let mut backoff = Backoff::default();
        let mut delays = Vec::new();
        for _ in 0..8 {
            backoff.crashed(Duration::from_millis(10), now);
            delays.push(backoff.due_in(now).unwrap().as_millis());
        }
        assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert!(!backoff.is_due(now));
        assert!(backoff.is_due(now + MAX_DELAY));
    }

    /// A crash after a long run, or a clean recycle, respawns at once.
    #[test]
    fn long_lived_crash_and_clean_exit_reset_backoff() {
        let now = Instant::now();
        let mut backoff = Backoff::default();
        backoff.crashed(Duration::ZERO, now);
        backoff.crashed(QUICK_CRASH, now);
        assert!(backoff.is_due(now));
        assert_eq!(backoff.due_in(now), None);
        backoff.crashed(Duration::ZERO, now);
        backoff.reset();
        assert!(backoff.is_due(now));
    }
}

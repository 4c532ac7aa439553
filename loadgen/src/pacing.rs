//! The open-loop schedule (wrk2's model): with U users and a total rate R, user `i`'s
//! `k`-th request is due at `start + (k·U + i) / R`. Users are interleaved evenly, so
//! the whole run issues one request every `1/R` seconds.
//!
//! A user that falls behind (slow responses) sends its overdue requests as soon as it
//! can, and their latency is measured from the due time, not from the late send: the
//! queueing the server caused is counted (coordinated-omission correction).

use std::time::{Duration, Instant};

/// Due times of every user's requests.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    start: Instant,
    users: u64,
    /// Nanoseconds between two consecutive requests of the whole run (1e9 / R).
    gap_ns: f64,
}

impl Schedule {
    /// The schedule of `users` users sharing `rate` requests/s, from `start`.
    pub fn new(start: Instant, users: u64, rate: f64) -> Schedule {
        assert!(users > 0 && rate > 0.0);
        Schedule {
            start,
            users,
            gap_ns: 1e9 / rate,
        }
    }

    /// When user `user`'s `k`-th request (from 0) is due.
    pub fn due(&self, user: u64, k: u64) -> Instant {
        // f64 keeps nanosecond precision for 2^53 ns (104 days) of schedule.
        let slot = k.saturating_mul(self.users).saturating_add(user) as f64;
        self.start + Duration::from_nanos((slot * self.gap_ns) as u64)
    }

    /// How many of user `user`'s requests from the `k`-th on are due at `now`,
    /// at most `max`.
    pub fn due_count(&self, user: u64, k: u64, now: Instant, max: u64) -> u64 {
        let mut n = 0;
        while n < max && self.due(user, k + n) <= now {
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Users are interleaved: 4 users at 1000/s → one request per ms across the run.
    #[test]
    fn interleaved_slots() {
        let t0 = Instant::now();
        let s = Schedule::new(t0, 4, 1000.0);
        let ms = |user, k| s.due(user, k).duration_since(t0).as_micros();
        assert_eq!(
            [ms(0, 0), ms(1, 0), ms(2, 0), ms(3, 0)],
            [0, 1000, 2000, 3000]
        );
        assert_eq!([ms(0, 1), ms(3, 1), ms(1, 5)], [4000, 7000, 21000]);
    }

    /// Each user's own requests are U/R apart; the whole run does R per second.
    #[test]
    fn per_user_period() {
        let t0 = Instant::now();
        let s = Schedule::new(t0, 10, 2500.0);
        let period = s.due(3, 8) - s.due(3, 7);
        assert_eq!(period, Duration::from_millis(4));
        let last_in_first_second = (0..10).map(|u| s.due(u, 249)).max().unwrap();
        assert!(last_in_first_second < t0 + Duration::from_secs(1));
        assert!(s.due(0, 250) >= t0 + Duration::from_secs(1));
    }

    /// A late user finds several requests due at once, capped by `max`.
    #[test]
    fn overdue_requests() {
        let t0 = Instant::now();
        let s = Schedule::new(t0, 2, 100.0); // each user: one request per 20 ms
        let now = t0 + Duration::from_millis(65);
        // User 0 is due at 0, 20, 40, 60 ms; user 1 at 10, 30, 50, 70 ms.
        assert_eq!(s.due_count(0, 0, now, 100), 4);
        assert_eq!(s.due_count(1, 0, now, 100), 3);
        assert_eq!(s.due_count(1, 1, now, 100), 2);
        assert_eq!(s.due_count(0, 0, now, 2), 2);
        assert_eq!(s.due_count(1, 3, now, 100), 0);
    }
}

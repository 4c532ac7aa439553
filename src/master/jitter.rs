//! `--max-requests-jitter`: a small random number per worker.

use std::time::{SystemTime, UNIX_EPOCH};

/// A tiny xorshift64 generator for `--max-requests-jitter`: not for secrets, only to
/// keep workers from being recycled all at once.
#[derive(Debug)]
pub(super) struct XorShift(u64);

impl XorShift {
    /// Seeded from the clock and the pid, so two masters draw different jitters.
    pub(super) fn seeded() -> XorShift {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let pid = u64::from(std::process::id());
        // xorshift must not start at zero.
        XorShift((nanos ^ pid.rotate_left(32)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..=max`.
    pub(super) fn up_to(&mut self, max: u64) -> u64 {
        match max.checked_add(1) {
            Some(bound) => self.next() % bound,
            None => self.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Jitter stays within 0..=max, takes several values, and is 0 when disabled.
    #[test]
    fn jitter_within_bounds() {
        let mut rng = XorShift::seeded();
        let draws: Vec<u64> = (0..1000).map(|_| rng.up_to(10)).collect();
        assert!(draws.iter().all(|&d| d <= 10));
        assert!(draws.contains(&0) && draws.contains(&10));
        assert_eq!(rng.up_to(0), 0);
        rng.up_to(u64::MAX);
    }
}

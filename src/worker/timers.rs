//! Connection deadlines for the event loop: a lazy min-heap, so an iteration looks only
//! at connections whose deadline may have passed instead of scanning all of them.
//!
//! Each connection remembers the time of its one authoritative heap entry (`armed`).
//! A deadline that moves *earlier* pushes a new entry (the old one goes stale); one that
//! moves *later* pushes nothing: when the early entry pops, the owner re-checks the real
//! deadline and re-arms. A keep-alive connection serving many requests therefore touches
//! the heap about once per keep-alive period, not once per request. Stale entries (a
//! different `armed` time, or a slab key reused by a newer connection: a different
//! `serial`) are skipped when they pop.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// One heap entry: when, which slab key, which connection generation.
type Entry = Reverse<(Instant, usize, u64)>;

/// Pending deadlines of all connections.
#[derive(Debug, Default)]
pub(super) struct Timers {
    heap: BinaryHeap<Entry>,
}

/// A popped deadline, to be checked against its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Due {
    /// The time the entry was armed for.
    pub at: Instant,
    /// Slab key of the connection.
    pub key: usize,
    /// Generation of the connection that armed it.
    pub serial: u64,
}

impl Timers {
    /// Makes sure the connection (`key`, `serial`, with its `armed` slot) wakes up no
    /// later than `deadline`.
    pub(super) fn arm(
        &mut self,
        armed: &mut Option<Instant>,
        deadline: Instant,
        key: usize,
        serial: u64,
    ) {
        if armed.is_none_or(|at| deadline < at) {
            self.heap.push(Reverse((deadline, key, serial)));
            *armed = Some(deadline);
        }
    }

    /// The earliest entry's time (possibly stale: waking for it is merely early).
    pub(super) fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Pops one entry due at `now`, if any.
    pub(super) fn pop_due(&mut self, now: Instant) -> Option<Due> {
        if self.next()? > now {
            return None;
        }
        self.heap
            .pop()
            .map(|Reverse((at, key, serial))| Due { at, key, serial })
    }

    /// Number of entries, stale ones included.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn secs(base: Instant, s: u64) -> Instant {
        base + Duration::from_secs(s)
    }

    /// Entries pop in deadline order, and only once due.
    #[test]
    fn pops_in_order_when_due() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        let (mut a, mut b) = (None, None);
        timers.arm(&mut a, secs(t0, 5), 1, 10);
        timers.arm(&mut b, secs(t0, 2), 2, 20);
        assert_eq!(timers.next(), Some(secs(t0, 2)));
        assert_eq!(timers.pop_due(secs(t0, 1)), None);
        assert_eq!(
            timers.pop_due(secs(t0, 6)),
            Some(Due {
                at: secs(t0, 2),
                key: 2,
                serial: 20
            })
        );
        assert_eq!(
            timers.pop_due(secs(t0, 6)),
            Some(Due {
                at: secs(t0, 5),
                key: 1,
                serial: 10
            })
        );
        assert_eq!(timers.pop_due(secs(t0, 6)), None);
    }

    /// A later deadline pushes nothing; an earlier one pushes and becomes authoritative.
    #[test]
    fn only_earlier_deadlines_push() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        let mut armed = None;
        timers.arm(&mut armed, secs(t0, 5), 0, 1);
        timers.arm(&mut armed, secs(t0, 30), 0, 1);
        assert_eq!((timers.len(), armed), (1, Some(secs(t0, 5))));
        timers.arm(&mut armed, secs(t0, 3), 0, 1);
        assert_eq!((timers.len(), armed), (2, Some(secs(t0, 3))));
    }
}

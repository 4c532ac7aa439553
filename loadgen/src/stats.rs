//! Per-thread results (wrk's `stats.c`): latency histograms in microseconds, status
//! and error counters, bytes. Each thread owns one `Stats`; they are merged after join.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Highest latency the histograms hold (1 hour, in µs); longer ones are clamped.
const MAX_LATENCY_US: u64 = 3_600_000_000;
/// Status codes are three digits: one counter per possible code.
const STATUS_SLOTS: usize = 1000;

/// Why a request did not get a (wanted) response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Connection refused, unreachable, or no local port left.
    Connect,
    /// ECONNRESET / EPIPE while writing or reading.
    Reset,
    /// No complete response within `--timeout`.
    Timeout,
    /// The response could not be parsed or framed.
    Malformed,
    /// The peer closed before the response was complete.
    Closed,
    /// A complete response with a status not in `--expect-status`.
    Status,
}

/// Error counters by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Errors {
    /// See [`ErrorKind::Connect`].
    pub connect: u64,
    /// See [`ErrorKind::Reset`].
    pub reset: u64,
    /// See [`ErrorKind::Timeout`].
    pub timeout: u64,
    /// See [`ErrorKind::Malformed`].
    pub malformed: u64,
    /// See [`ErrorKind::Closed`].
    pub closed: u64,
    /// See [`ErrorKind::Status`].
    pub status: u64,
}

impl Errors {
    fn slot(&mut self, kind: ErrorKind) -> &mut u64 {
        match kind {
            ErrorKind::Connect => &mut self.connect,
            ErrorKind::Reset => &mut self.reset,
            ErrorKind::Timeout => &mut self.timeout,
            ErrorKind::Malformed => &mut self.malformed,
            ErrorKind::Closed => &mut self.closed,
            ErrorKind::Status => &mut self.status,
        }
    }

    fn add(&mut self, other: &Errors) {
        self.connect += other.connect;
        self.reset += other.reset;
        self.timeout += other.timeout;
        self.malformed += other.malformed;
        self.closed += other.closed;
        self.status += other.status;
    }

    /// All errors, unexpected statuses included.
    pub fn total(&self) -> u64 {
        self.transport() + self.status
    }

    /// Requests that got no response at all.
    pub fn transport(&self) -> u64 {
        self.connect + self.reset + self.timeout + self.malformed + self.closed
    }
}

/// Latency summary in milliseconds (also read back by the bench runner from the JSON
/// report, hence `Deserialize`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Fastest.
    pub min: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Slowest.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
}

/// One thread's counters.
#[derive(Clone, Debug)]
pub struct Stats {
    /// Latency from the intended send time (= the actual one in closed loop), µs.
    latency: Histogram<u64>,
    /// Latency from the actual send time, µs; only kept in open loop (`--rate`).
    uncorrected: Option<Histogram<u64>>,
    /// Responses by status code.
    statuses: Vec<u64>,
    /// Errors by kind.
    pub errors: Errors,
    /// Bytes received.
    pub bytes_read: u64,
    /// Bytes sent.
    pub bytes_written: u64,
}

impl Stats {
    /// Empty counters; `open_loop` adds the uncorrected histogram.
    pub fn new(open_loop: bool) -> Stats {
        let histogram = || {
            Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
                .expect("static histogram bounds are valid")
        };
        Stats {
            latency: histogram(),
            uncorrected: open_loop.then(histogram),
            statuses: vec![0; STATUS_SLOTS],
            errors: Errors::default(),
            bytes_read: 0,
            bytes_written: 0,
        }
    }

    /// Counts a complete response; `expected` is false for a status outside
    /// `--expect-status`, which is then also a `status` error.
    pub fn record_response(
        &mut self,
        status: u16,
        corrected_us: u64,
        uncorrected_us: u64,
        expected: bool,
    ) {
        self.statuses[usize::from(status).min(STATUS_SLOTS - 1)] += 1;
        self.latency.saturating_record(corrected_us);
        if let Some(h) = &mut self.uncorrected {
            h.saturating_record(uncorrected_us);
        }
        if !expected {
            self.errors.status += 1;
        }
    }

    /// Counts one request that failed with `kind`.
    pub fn record_error(&mut self, kind: ErrorKind) {
        *self.errors.slot(kind) += 1;
    }

    /// Adds another thread's counters to these.
    pub fn merge(&mut self, other: &Stats) {
        self.latency.add(&other.latency).expect("same bounds");
        if let (Some(mine), Some(theirs)) = (&mut self.uncorrected, &other.uncorrected) {
            mine.add(theirs).expect("same bounds");
        }
        for (mine, theirs) in self.statuses.iter_mut().zip(&other.statuses) {
            *mine += theirs;
        }
        self.errors.add(&other.errors);
        self.bytes_read += other.bytes_read;
        self.bytes_written += other.bytes_written;
    }

    /// Complete responses, any status.
    pub fn responses(&self) -> u64 {
        self.statuses.iter().sum()
    }

    /// Requests counted: responses plus requests that got none.
    pub fn requests(&self) -> u64 {
        self.responses() + self.errors.transport()
    }

    /// (status, count) for every status seen, in order.
    pub fn statuses(&self) -> Vec<(u16, u64)> {
        (0..STATUS_SLOTS)
            .filter(|&s| self.statuses[s] > 0)
            .map(|s| (s as u16, self.statuses[s]))
            .collect()
    }

    /// Summary of the (corrected) latency.
    pub fn latency(&self) -> Latency {
        summarize(&self.latency)
    }

    /// Summary of the uncorrected latency (open loop only).
    pub fn uncorrected_latency(&self) -> Option<Latency> {
        self.uncorrected.as_ref().map(summarize)
    }
}

fn summarize(h: &Histogram<u64>) -> Latency {
    if h.is_empty() {
        return Latency::default();
    }
    let ms = |us: u64| us as f64 / 1000.0;
    Latency {
        min: ms(h.min()),
        p50: ms(h.value_at_quantile(0.50)),
        p90: ms(h.value_at_quantile(0.90)),
        p99: ms(h.value_at_quantile(0.99)),
        p999: ms(h.value_at_quantile(0.999)),
        max: ms(h.max()),
        mean: h.mean() / 1000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Percentiles of 1..=1000 ms come out where they should (3 significant digits).
    #[test]
    fn percentiles() {
        let mut s = Stats::new(false);
        for ms in 1..=1000u64 {
            s.record_response(200, ms * 1000, ms * 1000, true);
        }
        let l = s.latency();
        let close = |a: f64, b: f64| (a - b).abs() <= b * 0.001 + 1e-9;
        assert!(close(l.min, 1.0) && close(l.max, 1000.0), "{l:?}");
        assert!(
            close(l.p50, 500.0) && close(l.p90, 900.0) && close(l.p99, 990.0),
            "{l:?}"
        );
        assert!(close(l.p999, 999.0) && close(l.mean, 500.5), "{l:?}");
        assert!(s.uncorrected_latency().is_none());
    }

    /// Merging adds histograms, statuses, errors and bytes.
    #[test]
    fn merge() {
        let mut a = Stats::new(true);
        a.record_response(201, 1000, 500, true);
        a.record_error(ErrorKind::Connect);
        a.bytes_read = 10;
        let mut b = Stats::new(true);
        b.record_response(201, 3000, 1000, true);
        b.record_response(500, 5000, 5000, false);
        b.record_error(ErrorKind::Timeout);
        b.bytes_written = 7;
        a.merge(&b);
        assert_eq!(a.statuses(), vec![(201, 2), (500, 1)]);
        assert_eq!(
            a.errors,
            Errors {
                connect: 1,
                timeout: 1,
                status: 1,
                ..Errors::default()
            }
        );
        assert_eq!((a.bytes_read, a.bytes_written), (10, 7));
        // Histogram buckets: 3 significant digits.
        assert!((a.latency().max - 5.0).abs() < 0.01);
        assert_eq!(a.uncorrected_latency().unwrap().min, 0.5);
        // Status errors are responses; the other kinds are requests without one.
        assert_eq!((a.responses(), a.requests(), a.errors.total()), (3, 5, 3));
    }

    /// No samples: an all-zero summary instead of a panic.
    #[test]
    fn empty() {
        assert_eq!(Stats::new(false).latency(), Latency::default());
    }

    /// Latencies beyond the histogram's range are clamped, not lost.
    #[test]
    fn clamps_huge_latency() {
        let mut s = Stats::new(false);
        s.record_response(200, u64::MAX, 0, true);
        assert_eq!(s.responses(), 1);
        assert!(s.latency().max >= 3_599_000.0);
    }
}

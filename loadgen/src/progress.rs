//! The live progress line on stderr (only when stderr is a terminal; erased at the end
//! so it never mixes with the report).

use std::io::Write;
use std::time::{Duration, Instant};

/// Redraws at most this often.
const REDRAW: Duration = Duration::from_millis(250);

/// A self-erasing status line: done/total and the current rate.
pub struct ProgressLine {
    total: Option<u64>,
    warmup_until: Instant,
    last_draw: Instant,
    last_done: u64,
}

impl ProgressLine {
    /// A line for a run of `total` requests (`None`: a timed run) after `warmup`.
    pub fn new(total: Option<u64>, warmup: Duration) -> ProgressLine {
        let now = Instant::now();
        ProgressLine {
            total,
            warmup_until: now + warmup,
            last_draw: now,
            last_done: 0,
        }
    }

    /// Redraws with `done` counted requests so far, if it is time to.
    pub fn update(&mut self, done: u64) {
        let now = Instant::now();
        let since = now - self.last_draw;
        if since < REDRAW {
            return;
        }
        let rate = (done - self.last_done) as f64 / since.as_secs_f64();
        let text = if now < self.warmup_until {
            "warming up…".to_string()
        } else {
            format_line(done, self.total, rate)
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{text}");
        let _ = err.flush();
        self.last_draw = now;
        self.last_done = done;
    }

    /// Erases the line.
    pub fn clear(&self) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}

fn format_line(done: u64, total: Option<u64>, rate: f64) -> String {
    match total {
        Some(total) => format!("  {done}/{total} requests  {rate:.0} req/s"),
        None => format!("  {done} requests  {rate:.0} req/s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line shows done/total when the total is known, and the rate.
    #[test]
    fn line_text() {
        assert_eq!(format_line(5, Some(10), 99.6), "  5/10 requests  100 req/s");
        assert_eq!(format_line(5, None, 1.0), "  5 requests  1 req/s");
    }
}

//! The human summary of a [`Report`]: the headline (answered requests and their rate,
//! with any request that got no response named beside it), statuses, errors by kind,
//! latency, throughput, and the seed script's two lines.

use std::fmt::Write as _;

use crate::report::Report;
use crate::stats::Errors;

impl Report {
    /// The human summary.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "loadgen: {}  {}", self.url, self.shape());
        let _ = writeln!(out, "  requests      {}", self.headline());
        if let Some(line) = self.rate_line() {
            let _ = writeln!(out, "  rate          {line}");
        }
        let _ = writeln!(out, "  statuses      {}", self.status_list());
        let _ = writeln!(out, "  errors        {}", error_line(&self.errors));
        let _ = writeln!(out, "  latency       {}", latency_line(&self.latency_ms));
        if let Some(l) = &self.latency_uncorrected_ms {
            let _ = writeln!(out, "  (uncorrected) {}", latency_line(l));
        }
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0) / self.elapsed_s.max(1e-9);
        let _ = writeln!(
            out,
            "  throughput    {:.2} MiB/s read, {:.2} MiB/s written",
            mib(self.bytes_read),
            mib(self.bytes_written)
        );
        // The seed script's own two lines, so results line up with the published table.
        let _ = writeln!(out, "\nTotal test time: {:.3} seconds", self.elapsed_s);
        let kind = if self.writes() {
            "Write requests"
        } else {
            "Requests"
        };
        let _ = writeln!(out, "{kind} per second: {:.1}", self.rps);
        out
    }

    /// `4 answered in 2.000s  (2.0 req/s answered)`, or with requests that got no
    /// response: `16806 answered of 123334 in 2.000s  (8403.0 req/s answered); 106528
    /// connect errors`.
    fn headline(&self) -> String {
        let rate = format!(
            "in {:.3}s  ({:.1} req/s answered)",
            self.elapsed_s, self.rps
        );
        let unanswered = unanswered(&self.errors);
        if unanswered.is_empty() {
            return format!("{} answered {rate}", self.responses);
        }
        format!(
            "{} answered of {} {rate}; {}",
            self.responses,
            self.requests,
            unanswered.join(", ")
        )
    }

    /// "10 users × 1000 loops, 2 threads, connection close[, …]".
    fn shape(&self) -> String {
        let mut s = plural(self.users as u64, "user");
        match (self.loops, self.duration_s) {
            (Some(loops), _) => {
                let _ = write!(s, " × {}", plural(loops, "loop"));
            }
            (None, Some(d)) => {
                let _ = write!(s, " for {d}s");
            }
            (None, None) => {}
        }
        let _ = write!(
            s,
            ", {}, connection {}",
            plural(self.threads as u64, "thread"),
            self.connection
        );
        if self.pipeline > 1 {
            let _ = write!(s, ", pipeline {}", self.pipeline);
        }
        if let Some(rate) = self.rate_target {
            let _ = write!(s, ", rate {rate} req/s");
        }
        if self.warmup_s > 0.0 {
            let _ = write!(s, ", warmup {}s", self.warmup_s);
        }
        s
    }

    fn rate_line(&self) -> Option<String> {
        let target = self.rate_target?;
        Some(if self.rate_reached == Some(true) {
            format!(
                "target {target} req/s reached ({:.1} req/s answered)",
                self.rps
            )
        } else {
            format!(
                "target {target} req/s NOT reached: {:.1} req/s answered ({:.0}% of target)",
                self.rps,
                100.0 * self.rps / target
            )
        })
    }

    fn status_list(&self) -> String {
        if self.statuses.is_empty() {
            return "none".into();
        }
        let items: Vec<String> = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        items.join(", ")
    }
}

/// The kinds of request that got no response, those that occurred: `3 connect errors`.
fn unanswered(e: &Errors) -> Vec<String> {
    [
        (e.connect, "connect"),
        (e.reset, "reset"),
        (e.timeout, "timeout"),
        (e.malformed, "malformed"),
        (e.closed, "closed"),
    ]
    .into_iter()
    .filter(|&(n, _)| n > 0)
    .map(|(n, kind)| plural(n, &format!("{kind} error")))
    .collect()
}

fn error_line(e: &Errors) -> String {
    format!(
        "{}   (connect {}, reset {}, timeout {}, malformed {}, closed {}, status {})",
        e.total(),
        e.connect,
        e.reset,
        e.timeout,
        e.malformed,
        e.closed,
        e.status
    )
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn latency_line(l: &crate::stats::Latency) -> String {
    format!(
        "min {}  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  mean {}",
        ms(l.min),
        ms(l.p50),
        ms(l.p90),
        ms(l.p99),
        ms(l.p999),
        ms(l.max),
        ms(l.mean)
    )
}

/// About three significant digits: 0.21ms, 2.90ms, 12.1ms, 250ms.
fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}ms")
    } else if v < 100.0 {
        format!("{v:.1}ms")
    } else {
        format!("{v:.0}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::report;
    use crate::stats::ErrorKind;

    /// The seed-style run prints the agreed layout and the seed script's two lines.
    #[test]
    fn text_layout() {
        let r = report(
            &[],
            |s| {
                for _ in 0..4 {
                    s.record_response(201, 2900, 2900, true);
                }
                s.bytes_read = 1024 * 1024;
            },
            2.0,
        );
        let text = r.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "loadgen: http://127.0.0.1:8000/api/tasks/  10 users × 1000 loops, 2 threads, connection close");
        assert_eq!(
            lines[1],
            "  requests      4 answered in 2.000s  (2.0 req/s answered)"
        );
        assert_eq!(lines[2], "  statuses      201: 4");
        assert_eq!(
            lines[3],
            "  errors        0   (connect 0, reset 0, timeout 0, malformed 0, closed 0, status 0)"
        );
        assert!(
            lines[4].starts_with("  latency       min 2.90ms  p50 2.90ms"),
            "{}",
            lines[4]
        );
        assert_eq!(
            lines[5],
            "  throughput    0.50 MiB/s read, 0.00 MiB/s written"
        );
        assert_eq!(
            &lines[6..],
            [
                "",
                "Total test time: 2.000 seconds",
                "Write requests per second: 2.0"
            ]
        );
        assert!(!r.has_errors());
    }

    /// Requests without a response are named beside the rate and left out of it.
    #[test]
    fn connect_errors_beside_the_rate() {
        let r = report(
            &[],
            |s| {
                s.record_response(201, 1000, 1000, true);
                s.record_response(503, 1000, 1000, true);
                for _ in 0..6 {
                    s.record_error(ErrorKind::Connect);
                }
                s.record_error(ErrorKind::Reset);
            },
            2.0,
        );
        let text = r.text();
        assert!(
            text.contains(
                "  requests      2 answered of 9 in 2.000s  (1.0 req/s answered); \
                 6 connect errors, 1 reset error\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("Write requests per second: 1.0\n"), "{text}");
        assert!(r.has_errors());
    }

    /// Nothing answered: the rate is 0, whatever number of connects failed.
    #[test]
    fn nothing_answered() {
        let r = report(&[], |s| s.record_error(ErrorKind::Connect), 0.001);
        assert_eq!((r.rps, r.requests, r.responses), (0.0, 1, 0));
        assert!(
            r.text().contains("(0.0 req/s answered); 1 connect error\n"),
            "{}",
            r.text()
        );
    }

    /// A GET run's seed line does not call its requests writes.
    #[test]
    fn get_is_not_a_write() {
        let r = report(
            &["--method", "GET"],
            |s| s.record_response(200, 1000, 1000, true),
            1.0,
        );
        let text = r.text();
        assert!(text.ends_with("\nRequests per second: 1.0\n"), "{text}");
        assert!(!text.contains("Write"), "{text}");
    }

    /// With --rate the report says whether the target was reached and shows both histograms.
    #[test]
    fn rate_not_reached() {
        let r = report(
            &["-R", "100", "-d", "1s", "-u", "1"],
            |s| s.record_response(200, 5000, 1000, true),
            1.0,
        );
        let text = r.text();
        assert!(
            text.contains("1 user for 1s, 1 thread, connection close, rate 100 req/s"),
            "{text}"
        );
        assert!(
            text.contains(
                "  rate          target 100 req/s NOT reached: 1.0 req/s answered (1% of target)"
            ),
            "{text}"
        );
        assert!(text.contains("  (uncorrected) min 1.00ms"), "{text}");
        assert_eq!(r.rate_reached, Some(false));
    }

    /// Latency figures keep about three significant digits.
    #[test]
    fn ms_format() {
        assert_eq!(
            [ms(0.214), ms(2.9), ms(12.13), ms(250.4)],
            ["0.21ms", "2.90ms", "12.1ms", "250ms"]
        );
    }
}

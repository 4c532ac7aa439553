//! The result: a human summary (ending with the seed script's two lines) or one JSON
//! object. Both come from the same [`Report`] value.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::config::{Config, Pacer, StopWhen};
use crate::run::Summary;
use crate::stats::{Errors, Latency};

/// Below this share of the target, `--rate` counts as not reached.
const RATE_REACHED: f64 = 0.95;

/// Everything reported about a run; serializes to the agreed JSON keys.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Target URL.
    pub url: String,
    /// Request method.
    pub method: String,
    /// Concurrent users.
    pub users: usize,
    /// Threads.
    pub threads: usize,
    /// `close` or `keep-alive`.
    pub connection: &'static str,
    /// Requests per write.
    pub pipeline: usize,
    /// Requests per user (loops runs).
    pub loops: Option<u64>,
    /// Measured seconds asked for (duration runs).
    pub duration_s: Option<f64>,
    /// Uncounted seconds before measuring.
    pub warmup_s: f64,
    /// `--rate`, requests/s.
    pub rate_target: Option<f64>,
    /// Whether the achieved rate was at least 95% of the target (`None` without --rate).
    pub rate_reached: Option<bool>,
    /// Requests counted: responses plus requests that failed without one.
    pub requests: u64,
    /// Measured seconds.
    pub elapsed_s: f64,
    /// Requests per second.
    pub rps: f64,
    /// Responses by status code.
    pub statuses: BTreeMap<String, u64>,
    /// Errors by kind.
    pub errors: Errors,
    /// Latency from the intended send time, ms.
    pub latency_ms: Latency,
    /// Latency from the actual send time, ms (only with --rate).
    pub latency_uncorrected_ms: Option<Latency>,
    /// Bytes received.
    pub bytes_read: u64,
    /// Bytes sent.
    pub bytes_written: u64,
    /// Payload RNG seed (to reproduce the bodies).
    pub seed: u64,
}

impl Report {
    /// Builds the report of `summary`, a run of `config`.
    pub fn new(config: &Config, summary: &Summary) -> Report {
        let stats = &summary.stats;
        let elapsed_s = summary.elapsed.as_secs_f64();
        let requests = stats.requests();
        let rps = if elapsed_s > 0.0 {
            requests as f64 / elapsed_s
        } else {
            0.0
        };
        let rate_target = match config.pacer {
            Pacer::Rate(r) => Some(r),
            Pacer::Unlimited => None,
        };
        let (loops, duration_s) = match config.stop {
            StopWhen::Loops(l) => (Some(l), None),
            StopWhen::Duration(d) => (None, Some(d.as_secs_f64())),
        };
        Report {
            url: config.target.url.clone(),
            method: config.request.method.clone(),
            users: config.users,
            threads: config.threads,
            connection: config.connection.name(),
            pipeline: config.pipeline,
            loops,
            duration_s,
            warmup_s: config.warmup.as_secs_f64(),
            rate_target,
            rate_reached: rate_target.map(|r| rps >= RATE_REACHED * r),
            requests,
            elapsed_s,
            rps,
            statuses: stats
                .statuses()
                .into_iter()
                .map(|(s, n)| (s.to_string(), n))
                .collect(),
            errors: stats.errors,
            latency_ms: stats.latency(),
            latency_uncorrected_ms: stats.uncorrected_latency(),
            bytes_read: stats.bytes_read,
            bytes_written: stats.bytes_written,
            seed: config.seed,
        }
    }

    /// Whether any error was counted (the exit code is then 1).
    pub fn has_errors(&self) -> bool {
        self.errors.total() > 0
    }

    /// One JSON object, no trailing newline.
    pub fn json(&self) -> String {
        serde_json::to_string(self).expect("a report always serializes")
    }

    /// The human summary.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "loadgen: {}  {}", self.url, self.shape());
        let _ = writeln!(
            out,
            "  requests      {} in {:.3}s  ({:.1} req/s)",
            self.requests, self.elapsed_s, self.rps
        );
        if let Some(line) = self.rate_line() {
            let _ = writeln!(out, "  rate          {line}");
        }
        let _ = writeln!(out, "  statuses      {}", self.status_list());
        let e = &self.errors;
        let _ = writeln!(
            out,
            "  errors        {}   (connect {}, reset {}, timeout {}, malformed {}, closed {}, status {})",
            e.total(),
            e.connect,
            e.reset,
            e.timeout,
            e.malformed,
            e.closed,
            e.status
        );
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
        let _ = writeln!(out, "Write requests per second: {:.1}", self.rps);
        out
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
            format!("target {target} req/s reached ({:.1} req/s)", self.rps)
        } else {
            format!(
                "target {target} req/s NOT reached: {:.1} req/s ({:.0}% of target)",
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

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn latency_line(l: &Latency) -> String {
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
    use crate::cli::Cli;
    use crate::stats::{ErrorKind, Stats};
    use clap::Parser;
    use std::time::Duration;

    fn report(args: &[&str], fill: impl Fn(&mut Stats), secs: f64) -> Report {
        let mut argv = vec![
            "loadgen",
            "http://127.0.0.1:8000/api/tasks/",
            "--seed",
            "1",
            "-t",
            "2",
        ];
        argv.extend_from_slice(args);
        let config = Config::from_cli(Cli::try_parse_from(argv).unwrap()).unwrap();
        let mut stats = Stats::new(matches!(config.pacer, Pacer::Rate(_)));
        fill(&mut stats);
        let summary = Summary {
            stats,
            elapsed: Duration::from_secs_f64(secs),
        };
        Report::new(&config, &summary)
    }

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
        assert_eq!(lines[1], "  requests      4 in 2.000s  (2.0 req/s)");
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
            text.contains("  rate          target 100 req/s NOT reached: 1.0 req/s (1% of target)"),
            "{text}"
        );
        assert!(text.contains("  (uncorrected) min 1.00ms"), "{text}");
        assert_eq!(r.rate_reached, Some(false));
    }

    /// The JSON object has the agreed keys and types.
    #[test]
    fn json_keys() {
        let r = report(
            &["-k", "-l", "5"],
            |s| {
                s.record_response(200, 1000, 1000, true);
                s.record_response(500, 1000, 1000, false);
                s.record_error(ErrorKind::Reset);
            },
            0.5,
        );
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        for key in [
            "url",
            "method",
            "users",
            "threads",
            "connection",
            "pipeline",
            "loops",
            "duration_s",
            "rate_target",
            "rate_reached",
            "requests",
            "elapsed_s",
            "rps",
            "statuses",
            "errors",
            "latency_ms",
            "latency_uncorrected_ms",
            "bytes_read",
            "bytes_written",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["connection"], "keep-alive");
        assert_eq!(v["loops"], 5);
        assert!(v["duration_s"].is_null() && v["rate_reached"].is_null());
        assert_eq!(v["requests"], 3);
        assert_eq!(v["statuses"]["200"], 1);
        assert_eq!(v["errors"]["status"], 1);
        assert_eq!(v["errors"]["reset"], 1);
        for key in ["min", "p50", "p90", "p99", "p999", "max", "mean"] {
            assert!(v["latency_ms"][key].is_f64(), "{key}");
        }
        assert!(r.has_errors());
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

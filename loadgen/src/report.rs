//! The result of a run as one [`Report`] value: printed as one JSON object here, or as
//! the human summary ([`crate::text`]).
//!
//! The rate is answered requests per second (complete responses, any status), as wrk's
//! `Requests/sec`: a request that got no response (refused, reset, timed out, …) is
//! counted by kind beside it, never in it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{Config, Pacer, StopWhen};
use crate::run::Summary;
use crate::stats::{Errors, Latency};

/// Below this share of the target, `--rate` counts as not reached.
const RATE_REACHED: f64 = 0.95;

/// Everything reported about a run; serializes to the agreed JSON keys, and reads them
/// back (the bench runner parses `--report json` through this type).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    pub connection: String,
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
    /// Requests answered: complete responses, any status (what `rps` counts).
    pub responses: u64,
    /// Measured seconds.
    pub elapsed_s: f64,
    /// Answered requests per second (`responses / elapsed_s`).
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
        let responses = stats.responses();
        let rps = if elapsed_s > 0.0 {
            responses as f64 / elapsed_s
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
            connection: config.connection.name().to_string(),
            pipeline: config.pipeline,
            loops,
            duration_s,
            warmup_s: config.warmup.as_secs_f64(),
            rate_target,
            rate_reached: rate_target.map(|r| rps >= RATE_REACHED * r),
            requests: stats.requests(),
            responses,
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

    /// Whether the method writes (POST, PUT, PATCH: the methods that carry the payload);
    /// only then does the seed script's line say "Write requests per second".
    pub fn writes(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PUT" | "PATCH")
    }

    /// Responses with status `code` (`201`: rows a server says it inserted).
    pub fn status_count(&self, code: u16) -> u64 {
        self.statuses.get(&code.to_string()).copied().unwrap_or(0)
    }

    /// One JSON object, no trailing newline.
    pub fn json(&self) -> String {
        serde_json::to_string(self).expect("a report always serializes")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cli::Cli;
    use crate::stats::{ErrorKind, Stats};
    use clap::Parser;
    use std::time::Duration;

    /// The report of a run of `args` whose counters `fill` sets, measured over `secs`.
    pub(crate) fn report(args: &[&str], fill: impl Fn(&mut Stats), secs: f64) -> Report {
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
            "responses",
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
        // The rate counts the two answers (500 included), not the reset: 2 / 0.5 s.
        assert_eq!(
            (v["responses"].as_u64(), v["rps"].as_f64()),
            (Some(2), Some(4.0))
        );
        assert_eq!(v["statuses"]["200"], 1);
        assert_eq!(v["errors"]["status"], 1);
        assert_eq!(v["errors"]["reset"], 1);
        for key in ["min", "p50", "p90", "p99", "p999", "max", "mean"] {
            assert!(v["latency_ms"][key].is_f64(), "{key}");
        }
        assert!(r.has_errors());
        assert_eq!(r.status_count(200), 1);
    }

    /// A printed report reads back into the same value and prints the same bytes.
    #[test]
    fn json_round_trip() {
        let r = report(
            &["-l", "3"],
            |s| {
                s.record_response(201, 1500, 1500, true);
                s.record_error(ErrorKind::Connect);
            },
            0.25,
        );
        let back: Report = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.json(), r.json());
    }
}

//! What a bench measured: per-run records (rates, latency, resources, the workers'
//! counters) and each cell's outcome. Plain data; `run.rs` and `pgbench.rs` fill it,
//! the summary and the reports read it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::cell::Cell;

/// Latency percentiles, ms: loadgen's own type, so producer and reader agree.
pub use loadgen::stats::Latency;

/// What a process tree used during a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Usage {
    /// Peak of the summed RSS over the samples, KiB.
    pub peak_rss_kib: u64,
    /// The largest peak RSS of one process below the root (a worker: prefork's and
    /// Gunicorn's master is the root), KiB; 0 when the tree has no such process. A
    /// worker's RSS counts the pages it shares with the master, as `ps` shows it.
    pub worker_peak_rss_kib: u64,
    /// Summed PSS at the end of the run, KiB.
    pub pss_end_kib: u64,
    /// CPU seconds (user + system) spent during the run.
    pub cpu_s: f64,
    /// Processes in the tree at the end.
    pub processes: usize,
}

/// One prefork worker incarnation's counters, as `GET /stats` lists them.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct WorkerStats {
    /// Listener slot.
    pub slot: u32,
    /// Process id (a respawned worker has a new one, and counters from 0).
    pub pid: u32,
    /// Connections accepted.
    pub connections: u64,
    /// Requests answered.
    pub requests: u64,
    /// Insert commits.
    pub batches: u64,
    /// Rows inserted by those commits.
    pub batched_rows: u64,
}

/// How evenly a count is spread over workers.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct Spread {
    /// The smallest worker's share of the total (1/W when even).
    pub min_share: f64,
    /// The largest worker's share.
    pub max_share: f64,
    /// Coefficient of variation: population standard deviation ÷ mean (0 when even).
    pub cv: f64,
}

/// What a run's `/stats` difference says: the balance between workers and the batching.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Balance {
    /// Workers that answered `/stats` after the run.
    pub workers: usize,
    /// Spread of requests answered.
    pub requests: Option<Spread>,
    /// Spread of connections accepted.
    pub connections: Option<Spread>,
    /// Insert commits during the run.
    pub batches: u64,
    /// Rows they inserted.
    pub batched_rows: u64,
    /// Rows per commit (0 without commits).
    pub mean_batch: f64,
    /// Each worker's counts during the run, by slot.
    pub per_worker: Vec<WorkerStats>,
}

/// What a run's access log (`--access-log FILE`) held once the server had stopped, beside
/// what loadgen counted: a sanity check that a line was written per response.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct AccessLogCheck {
    /// The file's size, bytes.
    pub bytes: u64,
    /// Its lines (one per response: the warm-up's and `/health`'s and `/stats`' too).
    pub lines: u64,
    /// Responses loadgen counted in the measured run.
    pub answered: u64,
}

impl AccessLogCheck {
    /// Whether every response of the measured run can have its line: lines ≥ answered
    /// (the warm-up and the bench's own probes add lines, so not equal).
    pub fn complete(&self) -> bool {
        self.lines >= self.answered
    }

    /// Why the run fails the bench, if lines are missing.
    pub fn failure(&self) -> Option<String> {
        (!self.complete()).then(|| {
            format!(
                "access log short: {} lines for {} responses in the measured run",
                self.lines, self.answered
            )
        })
    }
}

/// One measured run.
#[derive(Clone, Debug, Serialize)]
pub struct RunRecord {
    /// Users (connections) of the measured run.
    pub users: u64,
    /// Requests per user of the measured run.
    pub loops: u64,
    /// Requests per second of the warm-up.
    pub warmup_rps: f64,
    /// Requests (responses + errors).
    pub requests: u64,
    /// `201` responses.
    pub created: u64,
    /// Rows in `task` after the run.
    pub rows: u64,
    /// Responses by status.
    pub statuses: BTreeMap<String, u64>,
    /// Errors by kind (non-expected statuses are `status`).
    pub errors: BTreeMap<String, u64>,
    /// Sum of `errors`.
    pub error_total: u64,
    /// Seconds from the first request to the last response.
    pub elapsed_s: f64,
    /// Answered requests per second.
    pub rps: f64,
    /// Latency, ms (connect included in connection-per-request runs).
    pub latency_ms: Latency,
    /// The server's process tree.
    pub server: Usage,
    /// PostgreSQL's process tree (postmaster and backends).
    pub postgres: Option<Usage>,
    /// nginx's process tree (through-nginx cells).
    pub nginx: Option<Usage>,
    /// The server's log file.
    pub log: String,
    /// Why this run fails the bench: rows ≠ 201s, requests without a response, or no
    /// expected response at all.
    pub failure: Option<String>,
    /// The server's command line (None for pgbench, whose command is in its log).
    pub command: Option<String>,
    /// prefork's per-worker counters during the measured run (`GET /stats`).
    pub balance: Option<Balance>,
    /// Why a prefork run has no [`RunRecord::balance`].
    pub stats_error: Option<String>,
    /// The access log's size and lines (prefork run with `--access-log FILE`).
    pub access_log: Option<AccessLogCheck>,
}

/// How a cell ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Measured, rows matched the 201s.
    Ok,
    /// A run failed (server did not start, loadgen failed, or the count check failed).
    Fail,
    /// Not run: the system is unavailable or left out.
    Skipped,
}

/// A cell and what happened to it.
#[derive(Clone, Debug, Serialize)]
pub struct CellResult {
    /// What was measured.
    pub cell: Cell,
    /// How it ended.
    pub status: Status,
    /// Why it failed or was skipped.
    pub note: Option<String>,
    /// The runs made (`--repeat`), failed ones included.
    pub runs: Vec<RunRecord>,
}

impl RunRecord {
    /// A clean run of `rps` over `elapsed_s` (latency p50 1 ms, p99 3 ms), with `rows`
    /// rows for `created` 201s: the reports' and verdicts' unit tests build on it.
    #[cfg(test)]
    pub fn sample(rps: f64, elapsed_s: f64, rows: u64, created: u64) -> RunRecord {
        let latency = Latency {
            min: 0.1,
            p50: 1.0,
            p90: 2.0,
            p99: 3.0,
            p999: 4.0,
            max: 5.0,
            mean: 1.2,
        };
        RunRecord {
            users: 64,
            loops: 1,
            warmup_rps: rps,
            requests: created,
            created,
            rows,
            statuses: BTreeMap::new(),
            errors: BTreeMap::new(),
            error_total: 0,
            elapsed_s,
            rps,
            latency_ms: latency,
            server: Usage::default(),
            postgres: None,
            nginx: None,
            log: String::new(),
            failure: None,
            command: None,
            balance: None,
            stats_error: None,
            access_log: None,
        }
    }
}

impl CellResult {
    /// An ok cell of `variant` with one clean run of `rps` over `elapsed_s`: at the seed
    /// load 10 × 1000 in the seed rounds (`seed`), else at 64 keep-alive connections in
    /// the group-commit section — for the reports' and picks' unit tests.
    #[cfg(test)]
    pub fn sample(
        variant: super::system::Variant,
        seed: bool,
        rps: f64,
        elapsed_s: f64,
    ) -> CellResult {
        use super::cell::{Load, Route, SaturationLoad, Section, SeedLoad};
        let (load, section) = if seed {
            let load = SeedLoad {
                users: 10,
                loops: 1000,
                warmup_loops: 0,
            };
            (Load::Seed(load), Section::Rounds)
        } else {
            let load = SaturationLoad {
                connections: 64,
                duration: std::time::Duration::from_secs(10),
                warmup: std::time::Duration::from_secs(2),
            };
            (Load::Saturation(load), Section::GroupCommit)
        };
        CellResult {
            cell: Cell {
                variant,
                load,
                route: Route::Direct,
                section,
            },
            status: Status::Ok,
            note: None,
            runs: vec![RunRecord::sample(rps, elapsed_s, 1, 1)],
        }
    }
}

//! One run of one cell: empty the table, start the server (and nginx), warm up, empty
//! the table again, measure with loadgen while sampling the process trees, then check
//! that PostgreSQL holds exactly one row per `201`.
//!
//! Warm-up: a short run of the cell's own load (same client model), whose rows are then
//! truncated, so JITs, connection pools and caches are warm and the measured run's rows
//! can be compared with its 201s exactly. A saturation cell's warm-up also sizes the
//! measured run: loops per connection = warm-up rate × duration ÷ connections. A
//! `--duration` run would leave the requests in flight at its end uncounted by loadgen
//! but possibly committed, and the count check could not be exact.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde::Serialize;

use crate::cell::{Cell, Load, Route};
use crate::db::{Db, DbError};
use crate::loadgen::{self, Latency, LoadError, LoadReport, LoadSpec, Stop};
use crate::net;
use crate::nginx::{self, NginxError};
use crate::procs::{Sampler, Usage};
use crate::server::{Server, ServerError};
use crate::stats::{self, Balance, StatsError, WorkerStats};
use crate::system::Env;

/// How long a server may take to answer `/health` after it was started.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest a seed round's loadgen may run (10,000 requests at 15 req/s).
const SEED_LIMIT: Duration = Duration::from_secs(900);

/// What a run needs from the bench.
pub struct Ctx<'a> {
    /// Where the servers are and how they reach PostgreSQL.
    pub env: Env<'a>,
    /// The bench's own database connection.
    pub db: &'a mut Db,
    /// The postmaster's pid, to measure PostgreSQL's CPU time too.
    pub pg_pid: Option<u32>,
    /// The loadgen binary.
    pub loadgen: PathBuf,
    /// Where server logs and nginx's prefix go.
    pub out: PathBuf,
    /// Set by Ctrl-C/SIGTERM.
    pub interrupted: &'a AtomicBool,
}

/// Why a run produced no measurement.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The server did not come up (or Ctrl-C while waiting).
    #[error(transparent)]
    Server(#[from] ServerError),
    /// nginx did not come up.
    #[error(transparent)]
    Nginx(#[from] NginxError),
    /// loadgen failed.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Truncate or count failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// No free port.
    #[error("no free port: {0}")]
    Port(std::io::Error),
    /// pgbench (the ceiling row) failed.
    #[error(transparent)]
    Pgbench(#[from] crate::pgbench::PgbenchError),
}

impl RunError {
    /// Whether this is Ctrl-C rather than a failure of the cell.
    pub fn is_interrupt(&self) -> bool {
        matches!(
            self,
            RunError::Server(ServerError::Interrupted)
                | RunError::Nginx(NginxError::Server(ServerError::Interrupted))
                | RunError::Load(LoadError::Interrupted)
        )
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
    /// Errors by kind (non-201 statuses are `status`).
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
    /// 201 at all.
    pub failure: Option<String>,
    /// The server's command line (None for pgbench, whose command is in its log).
    pub command: Option<String>,
    /// prefork's per-worker counters during the measured run (`GET /stats`).
    pub balance: Option<Balance>,
    /// Why a prefork run has no [`RunRecord::balance`].
    pub stats_error: Option<String>,
}

/// Runs `cell` once (`rep` numbers the log file).
pub fn run_once(ctx: &mut Ctx, cell: &Cell, rep: usize) -> Result<RunRecord, RunError> {
    let port = net::free_port().map_err(RunError::Port)?;
    let Some(launch) = cell.variant.launch(port, &ctx.env) else {
        // pgbench is a client, not a server: it drives the cluster itself.
        return crate::pgbench::run_once(ctx, cell, rep);
    };
    ctx.db.truncate()?;
    let log = ctx
        .out
        .join("logs")
        .join(format!("{}-{rep}.log", cell.key()));
    let mut server = Server::start(&cell.variant.label(), &launch, &log)?;
    server.wait_healthy(port, READY_TIMEOUT, ctx.interrupted)?;
    let proxy = match cell.route {
        Route::Direct => None,
        Route::Nginx => Some(nginx::start(
            ctx.env.root,
            &ctx.out.join("nginx"),
            &log.with_extension("nginx.log"),
            port,
            ctx.interrupted,
        )?),
    };
    let target = proxy.as_ref().map_or(port, |n| n.port);
    let (spec, warmup_rps) = warm_up(ctx, cell, target)?;
    ctx.db.truncate()?;
    let mut roots = vec![("server".to_string(), server.pid())];
    roots.extend(ctx.pg_pid.map(|pid| ("postgres".to_string(), pid)));
    roots.extend(
        proxy
            .as_ref()
            .map(|n| ("nginx".to_string(), n.server.pid())),
    );
    // Counters are read from the server itself, also when nginx is in front.
    let counters = cell.prefork().map(|_| stats::fetch(port));
    let sampler = Sampler::start(roots);
    let report = loadgen::run(&ctx.loadgen, &spec, ctx.interrupted);
    let mut usage = sampler.finish();
    let report = report?;
    let (balance, stats_error) = match counters.map(|before| balance_since(before, port)) {
        None => (None, None),
        Some(Ok(balance)) => (Some(balance), None),
        Some(Err(e)) => (None, Some(e.to_string())),
    };
    let rows = ctx.db.count()?;
    drop(proxy);
    server.stop();
    let mut record = record(&spec, warmup_rps, report, rows, &mut usage, &log);
    record.command = Some(launch.display());
    record.balance = balance;
    record.stats_error = stats_error;
    Ok(record)
}

/// The workers' balance since the `before` reading of the prefork on `port`.
fn balance_since(
    before: Result<Vec<WorkerStats>, StatsError>,
    port: u16,
) -> Result<Balance, StatsError> {
    Ok(Balance::of(stats::delta(&before?, &stats::fetch(port)?)))
}

/// Runs the warm-up; returns the measured run's spec and the warm-up's rate.
fn warm_up(ctx: &mut Ctx, cell: &Cell, port: u16) -> Result<(LoadSpec, f64), RunError> {
    let (warm, mut measured) = match cell.load {
        Load::Seed(s) => {
            let spec = |loops| LoadSpec {
                port,
                users: s.users,
                stop: Stop::Loops(loops),
                keepalive: false,
                warmup: None,
                limit: SEED_LIMIT,
            };
            (spec(s.warmup_loops), spec(s.loops))
        }
        Load::Saturation(s) => {
            // The rate that sizes the run is that of the warm-up's second half: the
            // first half (loadgen's own --warmup) absorbs JIT compilation and pool growth.
            let half = s.warmup / 2;
            let spec = |stop, warmup, limit| LoadSpec {
                port,
                users: s.connections,
                stop,
                keepalive: true,
                warmup,
                limit,
            };
            let warm_limit = s.warmup * 3 + Duration::from_secs(30);
            let limit = s.duration * 10 + Duration::from_secs(60);
            (
                spec(Stop::Duration(half), Some(half), warm_limit),
                spec(Stop::Loops(0), None, limit),
            )
        }
    };
    let report = loadgen::run(&ctx.loadgen, &warm, ctx.interrupted)?;
    if let Load::Saturation(s) = cell.load {
        measured.stop = Stop::Loops(saturation_loops(report.rps, s.duration, s.connections));
    }
    settle(ctx.db)?;
    Ok((measured, report.rps))
}

/// Waits until the row count stops changing (or 30 s): a `--duration` warm-up drops the
/// requests in flight at its end, but the server still inserts them, possibly after our
/// TRUNCATE — and they would then be counted against the measured run's 201s.
fn settle(db: &mut Db) -> Result<(), RunError> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut last = db.count()?;
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let now = db.count()?;
        if now == last || std::time::Instant::now() >= deadline {
            return Ok(());
        }
        last = now;
    }
}

/// Why a run fails the bench, if it does: rows ≠ 201s, requests that got no response
/// (refused, reset, timed out, …: no cell expects any), or no 201 at all.
pub fn failure(report: &LoadReport, rows: u64) -> Option<String> {
    let created = report.created();
    let unanswered = report.unanswered();
    let mut why = Vec::new();
    if rows != created {
        why.push(format!(
            "count mismatch: {rows} rows in task but {created} responses were 201"
        ));
    }
    if !unanswered.is_empty() {
        let kinds: Vec<String> = unanswered.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let total: u64 = unanswered.iter().map(|(_, n)| n).sum();
        why.push(format!(
            "{total} requests got no response ({}); {} answered",
            kinds.join(", "),
            report.responses
        ));
    }
    if created == 0 && why.is_empty() {
        why.push("no 201 response at all".to_string());
    }
    (!why.is_empty()).then(|| why.join("; "))
}

/// Loops per connection so that a run at `rps` lasts about `duration`.
pub fn saturation_loops(rps: f64, duration: Duration, connections: u64) -> u64 {
    let total = rps * duration.as_secs_f64();
    ((total / connections as f64).ceil() as u64).max(1)
}

fn record(
    spec: &LoadSpec,
    warmup_rps: f64,
    report: LoadReport,
    rows: u64,
    usage: &mut BTreeMap<String, Usage>,
    log: &std::path::Path,
) -> RunRecord {
    let created = report.created();
    let failure = failure(&report, rows);
    let loops = match spec.stop {
        Stop::Loops(n) => n,
        Stop::Duration(_) => 0,
    };
    RunRecord {
        users: spec.users,
        loops,
        warmup_rps,
        requests: report.requests,
        created,
        rows,
        error_total: report.error_total(),
        statuses: report.statuses,
        errors: report.errors,
        elapsed_s: report.elapsed_s,
        rps: report.rps,
        latency_ms: report.latency_ms,
        server: usage.remove("server").unwrap_or_default(),
        postgres: usage.remove("postgres"),
        nginx: usage.remove("nginx"),
        log: log.display().to_string(),
        failure,
        command: None,
        balance: None,
        stats_error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(statuses: &[(&str, u64)], errors: &[(&str, u64)]) -> LoadReport {
        let map = |pairs: &[(&str, u64)]| pairs.iter().map(|&(k, n)| (k.to_string(), n)).collect();
        let responses = statuses.iter().map(|(_, n)| n).sum();
        LoadReport {
            threads: 2,
            connection: "close".into(),
            requests: responses + errors.iter().map(|(_, n)| n).sum::<u64>(),
            responses,
            elapsed_s: 1.0,
            rps: responses as f64,
            statuses: map(statuses),
            errors: map(errors),
            latency_ms: Latency::default(),
        }
    }

    /// A run whose rows match its 201s still fails when requests got no response.
    #[test]
    fn connection_errors_fail() {
        let ok = report(&[("201", 10)], &[("connect", 0), ("status", 0)]);
        assert_eq!(failure(&ok, 10), None);
        let refused = report(&[("201", 10)], &[("connect", 3), ("reset", 1)]);
        assert_eq!(
            failure(&refused, 10).as_deref(),
            Some("4 requests got no response (connect 3, reset 1); 10 answered")
        );
        let dead = report(&[], &[("timeout", 2)]);
        assert_eq!(
            failure(&dead, 0).as_deref(),
            Some("2 requests got no response (timeout 2); 0 answered")
        );
        assert_eq!(
            failure(&ok, 9).as_deref(),
            Some("count mismatch: 9 rows in task but 10 responses were 201")
        );
        let none = report(&[("503", 10)], &[("status", 10)]);
        assert_eq!(failure(&none, 0).as_deref(), Some("no 201 response at all"));
    }

    /// The warm-up rate sizes a saturation run to about its target duration.
    #[test]
    fn sizing() {
        let ten = Duration::from_secs(10);
        assert_eq!(saturation_loops(6400.0, ten, 64), 1000);
        assert_eq!(saturation_loops(100.5, ten, 64), 16);
        assert_eq!(saturation_loops(0.0, ten, 64), 1);
    }
}

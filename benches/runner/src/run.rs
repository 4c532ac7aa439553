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
//!
//! The HTTP ceilings (prefork `--app hello`, nginx alone answering `return 200`) run the
//! same way with `GET` requests and `200` expected, and touch no database.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::ctx::Ctx;
use crate::db::{Db, DbError};
use crate::launch::{self, Launch};
use crate::loadgen::{self, LoadError, LoadSpec, Report, Request, Stop};
use crate::model::{
    AccessLogCheck, Balance, Cell, Load, Route, RunRecord, Usage, Variant, WorkerStats,
};
use crate::net;
use crate::nginx::{self, NginxError, Role, Upstream};
use crate::pgbench::{self, PgbenchError};
use crate::procs::Sampler;
use crate::server::{Server, ServerError};
use crate::stats::{self, StatsError};

/// How long a server may take to answer `/health` after it was started.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest a seed round's loadgen may run (10,000 requests at 15 req/s).
const SEED_LIMIT: Duration = Duration::from_secs(900);

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
    Pgbench(#[from] PgbenchError),
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

/// Runs `cell` once (`rep` numbers the log file).
pub fn run_once(ctx: &mut Ctx, cell: &Cell, rep: usize) -> Result<RunRecord, RunError> {
    if cell.variant == Variant::Pgbench {
        // pgbench is a client, not a server: it drives the cluster itself.
        return Ok(pgbench::run_once(ctx, cell, rep)?);
    }
    let inserts = cell.variant.inserts();
    if inserts {
        ctx.db.truncate()?;
    }
    let log = ctx
        .out
        .join("logs")
        .join(format!("{}-{rep}.log", cell.key()));
    let port = net::free_port().map_err(RunError::Port)?;
    let socket = unix_socket_path(cell);
    if let Some(path) = &socket {
        let _ = std::fs::remove_file(path);
    }
    // Removed when this run ends, however it ends.
    let access_log = AccessLogFile::for_run(&log, cell);
    let launch = server_launch(
        cell,
        port,
        &ctx.env,
        socket.as_deref(),
        access_log.as_ref().map(AccessLogFile::path),
    );
    let mut server = match &launch {
        Some(launch) => {
            let mut server = Server::start(&cell.variant.label(), launch, &log)?;
            server.wait_ready(port, "/health", READY_TIMEOUT, ctx.interrupted)?;
            Some(server)
        }
        None => None,
    };
    let role = match (cell.route, &server) {
        (Route::Direct, Some(_)) => None,
        (Route::Nginx, Some(_)) => Some(Role::Proxy(Upstream::Tcp(port))),
        (Route::NginxUnix, Some(_)) => socket.clone().map(|path| Role::Proxy(Upstream::Unix(path))),
        (_, None) => Some(Role::Alone { unused: port }),
    };
    let proxy = match role {
        None => None,
        Some(role) => Some(nginx::start(
            ctx.env.root,
            &ctx.out.join("nginx"),
            &log.with_extension("nginx.log"),
            role,
            ctx.interrupted,
        )?),
    };
    let target = proxy.as_ref().map_or(port, |n| n.port);
    let request = match cell.variant {
        Variant::Hello { .. } => Request::Get("/"),
        Variant::NginxReturn => Request::Get(nginx::RETURN_200),
        _ => Request::CreateTask,
    };
    let (spec, warmup_rps) = warm_up(ctx, cell, target, request)?;
    if inserts {
        ctx.db.truncate()?;
    }
    // nginx alone is the server of its cell.
    let mut roots = Vec::new();
    roots.extend(server.as_ref().map(|s| ("server".to_string(), s.pid())));
    roots.extend(proxy.as_ref().map(|n| {
        let name = if server.is_some() { "nginx" } else { "server" };
        (name.to_string(), n.server.pid())
    }));
    if inserts {
        roots.extend(ctx.pg_pid.map(|pid| ("postgres".to_string(), pid)));
    }
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
    let rows = if inserts { ctx.db.count()? } else { 0 };
    let command = match (&launch, &proxy) {
        (Some(launch), _) => Some(launch.display()),
        (None, Some(nginx)) => Some(nginx.command.clone()),
        (None, None) => None,
    };
    drop(proxy);
    if let Some(server) = server.as_mut() {
        server.stop();
    }
    // Read once the server has stopped: its workers write what they hold at exit.
    let access_log = access_log.map(|file| file.check(report.responses));
    let mut record = record(&spec, warmup_rps, report, rows, &mut usage, &log);
    record.command = command;
    record.balance = balance;
    record.stats_error = stats_error;
    record.access_log = access_log;
    if let Some(short) = access_log.and_then(|check| check.failure()) {
        record.failure = Some(match record.failure.take() {
            Some(why) => format!("{why}; {short}"),
            None => short,
        });
    }
    Ok(record)
}

/// How to start the server of `cell` on `port`: also on the Unix socket `socket` (nginx
/// over a Unix socket: nginx's workers may run as another user, so anyone may connect;
/// the bench is on loopback only), and writing its access log to `access_log`.
fn server_launch(
    cell: &Cell,
    port: u16,
    env: &launch::Env,
    socket: Option<&Path>,
    access_log: Option<&Path>,
) -> Option<Launch> {
    let mut cmd = launch::launch(&cell.variant, port, env)?;
    if let Some(path) = socket {
        cmd.args.extend([
            "--bind".to_string(),
            format!("unix:{}", path.display()),
            "--socket-mode".to_string(),
            "666".to_string(),
        ]);
    }
    if let Some(path) = access_log {
        cmd.args.extend(launch::access_log_args(path));
    }
    Some(cmd)
}

/// The access log of one run of a cell that keeps one: a file beside the run's server
/// log in the bench's output directory, removed (it can be large) when this is dropped.
struct AccessLogFile {
    path: PathBuf,
}

impl AccessLogFile {
    /// The file for the run logging to `server_log`, if `cell` keeps an access log; any
    /// file left there by an interrupted bench is removed first (prefork appends).
    fn for_run(server_log: &Path, cell: &Cell) -> Option<AccessLogFile> {
        if !cell.variant.keeps_access_log() {
            return None;
        }
        let path = access_log_path(server_log);
        let _ = std::fs::remove_file(&path);
        Some(AccessLogFile { path })
    }

    /// Where prefork writes it.
    fn path(&self) -> &Path {
        &self.path
    }

    /// Its size and lines beside the `answered` responses of the measured run; a
    /// missing or unreadable file counts as empty.
    fn check(self, answered: u64) -> AccessLogCheck {
        let (bytes, lines) = count_lines(&self.path).unwrap_or((0, 0));
        AccessLogCheck {
            bytes,
            lines,
            answered,
        }
    }
}

impl Drop for AccessLogFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `…/logs/sat-direct-evloop-2-alog-1.access.log` beside `…/logs/sat-direct-evloop-2-alog-1.log`,
/// absolute (prefork runs in another directory than the bench may).
fn access_log_path(server_log: &Path) -> PathBuf {
    let path = server_log.with_extension("access.log");
    std::path::absolute(&path).unwrap_or(path)
}

/// A file's size in bytes and its count of newlines.
fn count_lines(path: &Path) -> std::io::Result<(u64, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 16];
    let (mut bytes, mut lines) = (0u64, 0u64);
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok((bytes, lines));
        }
        bytes += n as u64;
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

/// Where prefork's Unix socket goes for a cell through nginx over one: a short path
/// (a Unix socket path has at most 107 bytes), private to this bench process.
fn unix_socket_path(cell: &Cell) -> Option<std::path::PathBuf> {
    (cell.route == Route::NginxUnix && cell.prefork().is_some())
        .then(|| std::env::temp_dir().join(format!("prefork-bench-{}.sock", std::process::id())))
}

/// The workers' balance since the `before` reading of the prefork on `port`.
fn balance_since(
    before: Result<Vec<WorkerStats>, StatsError>,
    port: u16,
) -> Result<Balance, StatsError> {
    Ok(Balance::of(stats::delta(&before?, &stats::fetch(port)?)))
}

/// Runs the warm-up; returns the measured run's spec and the warm-up's rate.
fn warm_up(
    ctx: &mut Ctx,
    cell: &Cell,
    port: u16,
    request: Request,
) -> Result<(LoadSpec, f64), RunError> {
    let (warm, mut measured) = match cell.load {
        Load::Seed(s) => {
            let spec = |loops| LoadSpec {
                port,
                request,
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
                request,
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
    if cell.variant.inserts() {
        settle(ctx.db)?;
    }
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

/// Why a run fails the bench, if it does: rows ≠ 201s (a run of `POST /api/tasks/`),
/// requests that got no response (refused, reset, timed out, …: no cell expects any),
/// or no expected response at all.
pub fn failure(report: &Report, request: Request, rows: u64) -> Option<String> {
    let expected = report.status_count(request.expected());
    let unanswered = loadgen::unanswered(report);
    let mut why = Vec::new();
    if request == Request::CreateTask && rows != expected {
        why.push(format!(
            "count mismatch: {rows} rows in task but {expected} responses were 201"
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
    if expected == 0 && why.is_empty() {
        why.push(format!("no {} response at all", request.expected()));
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
    report: Report,
    rows: u64,
    usage: &mut BTreeMap<String, Usage>,
    log: &std::path::Path,
) -> RunRecord {
    let created = report.status_count(201);
    let failure = failure(&report, spec.request, rows);
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
        error_total: report.errors.total(),
        errors: loadgen::errors_by_kind(&report),
        statuses: report.statuses,
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
        access_log: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(statuses: &[(&str, u64)], errors: &[(&str, u64)]) -> Report {
        let map = |pairs: &[(&str, u64)]| {
            pairs
                .iter()
                .map(|&(k, n)| (k.to_string(), serde_json::Value::from(n)))
                .collect::<serde_json::Map<_, _>>()
        };
        let responses: u64 = statuses.iter().map(|(_, n)| n).sum();
        let mut all_errors = map(&[
            ("connect", 0),
            ("reset", 0),
            ("timeout", 0),
            ("malformed", 0),
            ("closed", 0),
            ("status", 0),
        ]);
        all_errors.extend(map(errors));
        let json = serde_json::json!({
            "url": "http://127.0.0.1:1/api/tasks/", "method": "POST", "users": 2,
            "threads": 2, "connection": "close", "pipeline": 1, "loops": 10,
            "duration_s": null, "warmup_s": 0.0, "rate_target": null, "rate_reached": null,
            "requests": responses + errors.iter().map(|(_, n)| n).sum::<u64>(),
            "responses": responses, "elapsed_s": 1.0, "rps": responses as f64,
            "statuses": map(statuses), "errors": all_errors,
            "latency_ms": {"min": 0.0, "p50": 0.0, "p90": 0.0, "p99": 0.0, "p999": 0.0,
                           "max": 0.0, "mean": 0.0},
            "latency_uncorrected_ms": null, "bytes_read": 0, "bytes_written": 0, "seed": 1,
        });
        serde_json::from_value(json).unwrap()
    }

    /// A run whose rows match its 201s still fails when requests got no response.
    #[test]
    fn connection_errors_fail() {
        let task = Request::CreateTask;
        let failure = |r: &Report, rows| failure(r, task, rows);
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
        // The HTTP ceilings count no rows: 200s, no database.
        let get = Request::Get("/");
        let hello = report(&[("200", 10)], &[]);
        assert_eq!(super::failure(&hello, get, 0), None);
        assert_eq!(
            super::failure(&ok, get, 0).as_deref(),
            Some("no 200 response at all")
        );
    }

    /// The warm-up rate sizes a saturation run to about its target duration.
    #[test]
    fn sizing() {
        let ten = Duration::from_secs(10);
        assert_eq!(saturation_loops(6400.0, ten, 64), 1000);
        assert_eq!(saturation_loops(100.5, ten, 64), 16);
        assert_eq!(saturation_loops(0.0, ten, 64), 1);
    }

    /// Only the cells with an access log get `--access-log PATH`, a path beside their
    /// server log; the file is counted, then removed with its guard.
    #[test]
    fn access_log_launch() {
        use clap::Parser;
        let cfg =
            crate::cli::Config::from_cli(crate::cli::Cli::parse_from(["prefork-bench"])).unwrap();
        let root = PathBuf::from("/repo");
        let env = launch::Env {
            root: &root,
            bin_dir: &root.join("target/release"),
            pg_dir: &root.join("target/pg/bench"),
            db_url: "host=/x",
            pm2_home: &root.join("target/bench/pm2"),
            knobs: crate::model::Knobs::default(),
        };
        let dir = std::env::temp_dir().join(format!("prefork-bench-alog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cells = crate::plan::section_cells(&cfg, crate::model::Section::AccessLog);
        assert_eq!(cells.len(), 8);
        for cell in &cells {
            let server_log = dir.join(format!("{}-1.log", cell.key()));
            let file = AccessLogFile::for_run(&server_log, cell);
            assert_eq!(file.is_some(), cell.variant.keeps_access_log());
            let path = file.as_ref().map(AccessLogFile::path);
            let args = server_launch(cell, 20001, &env, None, path).unwrap().args;
            let at = args.iter().position(|a| a == "--access-log");
            match path {
                Some(path) => {
                    let expected = dir.join(format!("{}-1.access.log", cell.key()));
                    assert_eq!(path, expected);
                    assert_eq!(args[at.unwrap() + 1], expected.display().to_string());
                }
                None => assert_eq!(at, None, "{args:?}"),
            }
        }
        let logged = cells.iter().find(|c| c.variant.keeps_access_log()).unwrap();
        let file = AccessLogFile::for_run(&dir.join("x-1.log"), logged).unwrap();
        std::fs::write(file.path(), "a\nbb\nccc\n").unwrap();
        let path = file.path().to_path_buf();
        let check = file.check(3);
        assert_eq!(
            check,
            AccessLogCheck {
                bytes: 9,
                lines: 3,
                answered: 3
            }
        );
        assert!(check.complete() && !path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! The ceiling rows: PostgreSQL's own `pgbench` running the statement prefork runs
//! (`INSERT … RETURNING`, prepared, one per transaction) against the same private
//! cluster — what the database does with no HTTP in between. At the saturation load it
//! runs the load's client count for its duration (`-T`); at the seed load, users ×
//! loops as clients × transactions (`-c 10 -t 1000`), timed from start to exit. Like a
//! server cell it warms up, truncates, measures, and checks that the table holds
//! exactly one row per transaction pgbench counted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::ctx::Ctx;
use crate::db::DbError;
use crate::launch::find_on_path;
use crate::model::{Cell, Latency, Load, RunRecord};
use crate::procs::Sampler;

/// The transaction: the same statement prefork prepares, with two random ints as the
/// text parameters (pgbench's `\set` has no strings; the server infers `text` from the
/// columns, as for prefork's parameters).
const SCRIPT: &str = "\\set title random(1, 1000000000)\n\
\\set description random(1, 1000000000)\n\
INSERT INTO task (title, description) VALUES (:title, :description) \
RETURNING id, title, description, created_at;\n";
/// pgbench threads (`-j`): one per core of the experiment's 2-core machine.
const THREADS: u64 = 2;
/// Share of transactions whose latency is logged (`--sampling-rate`): enough for
/// percentiles, few enough writes not to slow the client.
const SAMPLING: &str = "0.1";

/// Why pgbench gave no measurement.
#[derive(Debug, thiserror::Error)]
pub enum PgbenchError {
    /// Not installed where we look.
    #[error("pgbench not found (PATH, $PREFORK_PG_BIN, /usr/lib/postgresql/*/bin)")]
    NotFound,
    /// Could not write the script or run the program.
    #[error("pgbench: {0}")]
    Io(#[from] std::io::Error),
    /// It exited non-zero.
    #[error("pgbench failed ({status}): {output}")]
    Failed {
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The end of what it printed.
        output: String,
    },
    /// Its summary lacks a line we need.
    #[error("pgbench printed no `{0}` line")]
    Parse(&'static str),
    /// Truncating or counting the table failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// `pgbench` from the installation the private cluster uses (`pgtmp::program`),
/// else a plain `pgbench` on PATH.
pub fn find() -> Result<PathBuf, PgbenchError> {
    pgtmp::program("pgbench")
        .ok()
        .or_else(|| find_on_path("pgbench"))
        .ok_or(PgbenchError::NotFound)
}

/// What pgbench's summary says.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// `number of transactions actually processed: N`.
    pub processed: u64,
    /// `number of failed transactions: N` (0 when absent, before PostgreSQL 15).
    pub failed: u64,
    /// `tps = X (without initial connection time)`.
    pub tps: f64,
}

/// Reads pgbench's summary from its stdout.
pub fn parse(out: &str) -> Result<Summary, PgbenchError> {
    let after = |prefix: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
    };
    let processed = after("number of transactions actually processed:")
        .and_then(|n| n.split('/').next()?.parse().ok())
        .ok_or(PgbenchError::Parse(
            "number of transactions actually processed",
        ))?;
    let tps = out
        .lines()
        .filter(|l| l.contains("without initial connection time"))
        .find_map(|l| l.trim().strip_prefix("tps = ")?.split_whitespace().next())
        .and_then(|t| t.parse().ok())
        .ok_or(PgbenchError::Parse(
            "tps = … (without initial connection time)",
        ))?;
    let failed = after("number of failed transactions:").map_or(0, |n| n.parse().unwrap_or(0));
    Ok(Summary {
        processed,
        failed,
        tps,
    })
}

/// How long one pgbench invocation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Length {
    /// `-T S`: for S seconds.
    Secs(u64),
    /// `-t N`: N transactions per client.
    Transactions(u64),
}

/// A cell's clients, measured length, warm-up length and `loops` for its record.
fn shape(load: Load) -> (u64, Length, Option<Length>, u64) {
    match load {
        Load::Saturation(l) => (
            l.connections,
            Length::Secs(whole_secs(l.duration)),
            Some(Length::Secs(whole_secs(l.warmup))),
            0,
        ),
        Load::Seed(l) => (
            l.users,
            Length::Transactions(l.loops),
            (l.warmup_loops > 0).then_some(Length::Transactions(l.warmup_loops)),
            l.loops,
        ),
    }
}

/// Runs a pgbench cell once: warm-up, truncate, measured run, count check.
pub fn run_once(ctx: &mut Ctx, cell: &Cell, rep: usize) -> Result<RunRecord, PgbenchError> {
    let (clients, length, warmup, loops) = shape(cell.load);
    let bin = find()?;
    let logs = ctx.out.join("logs");
    let script = logs.join("pgbench-insert.sql");
    std::fs::write(&script, SCRIPT).map_err(PgbenchError::Io)?;
    let log = logs.join(format!("{}-{rep}.log", cell.key()));
    let run = |length, prefix: Option<&Path>| Run {
        bin: &bin,
        script: &script,
        pg_dir: ctx.env.pg_dir,
        clients,
        length,
        log_prefix: prefix.map(Path::to_path_buf),
    };
    ctx.db.truncate()?;
    let warm_tps = match warmup {
        Some(w) => {
            let out = run(w, None).command().output().map_err(PgbenchError::Io)?;
            check(&out, &log)?.tps
        }
        None => 0.0,
    };
    ctx.db.truncate()?;
    let prefix = logs.join(format!("{}-{rep}-latency", cell.key()));
    let started = Instant::now();
    let child = run(length, Some(&prefix))
        .command()
        .spawn()
        .map_err(PgbenchError::Io)?;
    let mut roots = vec![("server".to_string(), child.id())];
    roots.extend(ctx.pg_pid.map(|pid| ("postgres".to_string(), pid)));
    let sampler = Sampler::start(roots);
    let cpu_before = children_cpu_s();
    let output = child.wait_with_output().map_err(PgbenchError::Io);
    let wall_s = started.elapsed().as_secs_f64();
    let mut usage = sampler.finish();
    // The sampler's last look at a process that has exited is before its end: its CPU
    // time comes from the kernel's account of reaped children instead.
    let mut client = usage.remove("server").unwrap_or_default();
    client.cpu_s = children_cpu_s() - cpu_before;
    let summary = check(&output?, &log)?;
    let rows = ctx.db.count()?;
    let latency = sampled_latency(&prefix);
    // A timed run's rate is pgbench's tps; a counted run (the seed load) is judged by its
    // time from start to exit, connections included, like loadgen's total test time.
    let (elapsed_s, rps) = match length {
        Length::Secs(_) => (
            summary.processed as f64 / summary.tps.max(f64::MIN_POSITIVE),
            summary.tps,
        ),
        Length::Transactions(_) => (wall_s, summary.processed as f64 / wall_s.max(1e-9)),
    };
    Ok(RunRecord {
        users: clients,
        loops,
        warmup_rps: warm_tps,
        requests: summary.processed + summary.failed,
        created: summary.processed,
        rows,
        statuses: BTreeMap::new(),
        errors: (summary.failed > 0)
            .then(|| ("failed transactions".to_string(), summary.failed))
            .into_iter()
            .collect(),
        error_total: summary.failed,
        elapsed_s,
        rps,
        latency_ms: latency,
        server: client,
        postgres: usage.remove("postgres"),
        nginx: None,
        log: log.display().to_string(),
        failure: count_failure(rows, summary.processed),
        command: None,
        balance: None,
        stats_error: None,
        access_log: None,
    })
}

/// User + system CPU seconds of this process's reaped children so far.
fn children_cpu_s() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    getrusage(UsageWho::RUSAGE_CHILDREN).map_or(0.0, |u| {
        let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
        secs(u.user_time()) + secs(u.system_time())
    })
}

/// Why the count check fails, if it does.
fn count_failure(rows: u64, processed: u64) -> Option<String> {
    if rows != processed {
        Some(format!(
            "count mismatch: {rows} rows in task but pgbench processed {processed} transactions"
        ))
    } else if processed == 0 {
        Some("pgbench processed no transaction".into())
    } else {
        None
    }
}

/// `-T` takes whole seconds (at least one).
fn whole_secs(d: Duration) -> u64 {
    d.as_secs_f64().ceil().max(1.0) as u64
}

/// One pgbench invocation.
struct Run<'a> {
    bin: &'a Path,
    script: &'a Path,
    pg_dir: &'a Path,
    clients: u64,
    length: Length,
    log_prefix: Option<PathBuf>,
}

impl Run<'_> {
    /// `pgbench -n -M prepared -c C -j 2 (-T S | -t N) -f script -h DIR -p 5432 -U
    /// postgres prefork`.
    fn command(&self) -> Command {
        let mut cmd = Command::new(self.bin);
        let (c, j) = (
            self.clients.to_string(),
            THREADS.min(self.clients).to_string(),
        );
        let (flag, n) = match self.length {
            Length::Secs(s) => ("-T", s),
            Length::Transactions(t) => ("-t", t),
        };
        cmd.args([
            "-n",
            "-M",
            "prepared",
            "-c",
            &c,
            "-j",
            &j,
            flag,
            &n.to_string(),
            "-f",
        ])
        .arg(self.script)
        .arg("-h")
        .arg(self.pg_dir)
        .args(["-p", "5432", "-U", "postgres"]);
        if let Some(prefix) = &self.log_prefix {
            cmd.args(["--log", "--sampling-rate", SAMPLING])
                .arg(format!("--log-prefix={}", prefix.display()));
        }
        cmd.arg("prefork")
            .env_remove("PGPASSWORD")
            .env_remove("PGSERVICE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }
}

/// Appends the run's output to `log`; its summary, or why there is none.
fn check(out: &std::process::Output, log: &Path) -> Result<Summary, PgbenchError> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut text = std::fs::read_to_string(log).unwrap_or_default();
    text.push_str(&format!("{stdout}{stderr}\n"));
    std::fs::write(log, text)?;
    if !out.status.success() {
        let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
        return Err(PgbenchError::Failed {
            status: out.status,
            output: tail.into_iter().rev().collect::<Vec<_>>().join(" / "),
        });
    }
    parse(&stdout)
}

/// Latency (ms) from the per-transaction logs `prefix.*` (third field, µs), which are
/// then removed; zeros when there are none.
fn sampled_latency(prefix: &Path) -> Latency {
    let (Some(dir), Some(stem)) = (prefix.parent(), prefix.file_name()) else {
        return zero_latency();
    };
    let stem = format!("{}.", stem.to_string_lossy());
    let mut us: Vec<f64> = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if !entry.file_name().to_string_lossy().starts_with(&stem) {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        us.extend(
            text.lines()
                .filter_map(|l| l.split_whitespace().nth(2)?.parse::<f64>().ok()),
        );
        let _ = std::fs::remove_file(entry.path());
    }
    latency_of(us)
}

/// Percentiles of latencies in µs, as ms.
fn latency_of(mut us: Vec<f64>) -> Latency {
    if us.is_empty() {
        return zero_latency();
    }
    us.sort_by(f64::total_cmp);
    let at = |q: f64| us[((us.len() - 1) as f64 * q).round() as usize] / 1000.0;
    Latency {
        min: at(0.0),
        p50: at(0.5),
        p90: at(0.9),
        p99: at(0.99),
        p999: at(0.999),
        max: at(1.0),
        mean: us.iter().sum::<f64>() / us.len() as f64 / 1000.0,
    }
}

fn zero_latency() -> Latency {
    latency_of(vec![0.0])
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "transaction type: insert.sql\nscaling factor: 1\n\
query mode: prepared\nnumber of clients: 64\nnumber of threads: 2\n\
maximum number of tries: 1\nduration: 3 s\n\
number of transactions actually processed: 61234\n\
number of failed transactions: 0 (0.000%)\nlatency average = 3.1 ms\n\
initial connection time = 40.2 ms\ntps = 20411.337 (without initial connection time)\n";

    /// The summary lines of a PostgreSQL 15 run are read.
    #[test]
    fn parses_summary() {
        let s = parse(OUTPUT).unwrap();
        assert_eq!((s.processed, s.failed), (61234, 0));
        assert!((s.tps - 20411.337).abs() < 1e-9);
        assert!(parse("tps = 1 (including connections establishing)").is_err());
    }

    /// Percentiles come out in ms, in order; the count check names both numbers.
    #[test]
    fn latency_and_count() {
        let l = latency_of((1..=1000).map(|v| v as f64 * 1000.0).collect());
        assert_eq!((l.min, l.p50, l.max), (1.0, 501.0, 1000.0));
        assert!(l.p99 > l.p90);
        assert_eq!(whole_secs(Duration::from_millis(1500)), 2);
        assert!(count_failure(5, 6).unwrap().contains("5 rows"));
        assert_eq!(count_failure(6, 6), None);
    }

    /// The seed load runs users × loops as clients × transactions, warmed up by its
    /// warm-up loops; the saturation load runs for whole seconds.
    #[test]
    fn shapes() {
        let seed = Load::Seed(crate::model::SeedLoad {
            users: 10,
            loops: 1000,
            warmup_loops: 0,
        });
        assert_eq!(shape(seed), (10, Length::Transactions(1000), None, 1000));
        let sat = Load::Saturation(crate::model::SaturationLoad {
            connections: 64,
            duration: Duration::from_millis(2500),
            warmup: Duration::from_secs(1),
        });
        assert_eq!(shape(sat), (64, Length::Secs(3), Some(Length::Secs(1)), 0));
        let run = Run {
            bin: Path::new("pgbench"),
            script: Path::new("s.sql"),
            pg_dir: Path::new("/pg"),
            clients: 10,
            length: Length::Transactions(1000),
            log_prefix: None,
        };
        let args: Vec<String> = run
            .command()
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args[..10],
            ["-n", "-M", "prepared", "-c", "10", "-j", "2", "-t", "1000", "-f"]
        );
    }
}

//! Command line → validated [`Config`]: the one definition of every knob.
//!
//! `Cli` is what clap parses; `Config::from_cli` validates it once, so the rest of
//! the crate works with plain, already-checked values.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::endpoint::Endpoint;
pub use crate::http::Limits;
use crate::privileges::{PrivilegeError, RunAs};
use crate::unix_socket::{parse_mode, Owner, DEFAULT_MODE};

/// The built-in service the workers serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AppKind {
    /// The task API on PostgreSQL (the experiment's endpoint).
    Tasks,
    /// A fixed small JSON answer on every path, no database (the HTTP ceiling).
    Hello,
}

/// How the task service talks to PostgreSQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DbMode {
    /// A synchronous client per serving thread: each call blocks its thread (in the
    /// event loop, the whole loop) until PostgreSQL answers.
    Sync,
    /// The event loop's own non-blocking connections, inserts pipelined (Node's model;
    /// `--mode evloop` only).
    Evented,
}

/// How a worker moves bytes and connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// One mio event loop per worker, one service context (the Node model).
    Evloop,
    /// An acceptor thread plus T request threads, one service context each
    /// (Gunicorn's gthread model; `--threads 1` is its sync worker).
    Threads,
}

/// How listeners are shared between workers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AcceptMode {
    /// One `SO_REUSEPORT` listener per worker slot: the kernel balances connections.
    Reuseport,
    /// One listener inherited by every worker (the Gunicorn/PM2 model).
    Shared,
}

/// `prefork` command line.
#[derive(Debug, Parser)]
#[command(
    name = "prefork",
    version,
    about = "Prefork HTTP server for the task-insert experiment"
)]
pub struct Cli {
    /// Where to listen: HOST:PORT (a name such as localhost:8000 is resolved; its first
    /// address is used) or unix:PATH (a Unix socket). Repeat it to listen on several;
    /// the first HOST:PORT gets the per-worker SO_REUSEPORT sockets, the others (and
    /// every Unix socket) are shared by all workers. Default: 127.0.0.1:8000
    #[arg(
        long,
        value_name = "ADDRESS",
        default_value = "127.0.0.1:8000",
        hide_default_value = true,
        action = clap::ArgAction::Append
    )]
    pub bind: Vec<String>,

    /// Permission bits of the Unix socket files (octal; connecting needs write
    /// permission). Default: 660
    #[arg(
        long,
        value_name = "MODE",
        default_value = "660",
        hide_default_value = true
    )]
    pub socket_mode: String,

    /// Owner of the Unix socket files, USER[:GROUP] or :GROUP (e.g. `:www-data` so that
    /// nginx may connect; changing the user needs root). Default: the user prefork runs as
    #[arg(long, value_name = "USER[:GROUP]")]
    pub socket_owner: Option<String>,

    /// Number of worker processes, or `auto` for one per CPU. Default: auto
    #[arg(long, default_value = "auto", hide_default_value = true)]
    pub workers: String,

    /// What to serve: `tasks` (the task API on PostgreSQL) or `hello` (a fixed small
    /// answer on every path, no database: the HTTP ceiling). Default: tasks
    #[arg(long, value_enum, default_value_t = AppKind::Tasks, hide_default_value = true)]
    pub app: AppKind,

    /// Worker model: `evloop` (mio event loop) or `threads` (thread pool). Default: evloop
    #[arg(long, value_enum, default_value_t = Mode::Evloop, hide_default_value = true)]
    pub mode: Mode,

    /// Request threads per worker in `--mode threads`. Default: 2 × CPUs
    #[arg(long)]
    pub threads: Option<usize>,

    /// Listener sharing: `reuseport` (one SO_REUSEPORT socket per worker) or `shared`. Default: reuseport
    #[arg(long, value_enum, default_value_t = AcceptMode::Reuseport, hide_default_value = true)]
    pub accept: AcceptMode,

    /// Listen backlog of each listener. Default: 1024
    #[arg(long, default_value_t = 1024, hide_default_value = true)]
    pub backlog: i32,

    /// PostgreSQL URL or key=value string; also read from DATABASE_URL.
    /// Default: a private cluster in --data-dir, started on demand and stopped on exit
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Directory of the private PostgreSQL cluster used without --database-url (created
    /// on first use; delete it, with the `template` and lock files beside it, to start
    /// over); also read from PREFORK_DATA_DIR. Default: as root /var/lib/prefork/pg,
    /// otherwise $XDG_DATA_HOME/prefork/pg or ~/.local/share/prefork/pg
    /// (./prefork-data/pg without a home directory)
    #[arg(long, env = "PREFORK_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Seconds one database call (connect, statement, commit) may wait for PostgreSQL
    /// before the request gets 503 and the connection is dropped; bounds a stalled
    /// database. Must be shorter than --timeout. Default: 5, or half of --timeout if
    /// that is shorter
    #[arg(long)]
    pub db_timeout: Option<f64>,

    /// How the task service talks to PostgreSQL: `sync` (a blocking client per serving
    /// thread) or `evented` (the event loop's own non-blocking, pipelined connections;
    /// `--mode evloop` only). Default: sync
    #[arg(long, value_enum, default_value_t = DbMode::Sync, hide_default_value = true)]
    pub db: DbMode,

    /// With `--db evented`: PostgreSQL connections per worker, each with many inserts
    /// in flight. Default: 16 with --batch 1 (one transaction per request: more
    /// connections commit in parallel), 4 with group commit (one group commits at a time; a
    /// further connection takes one only when a full group waits)
    #[arg(long, value_name = "K")]
    pub db_conns: Option<usize>,

    /// Largest accepted request body in bytes; larger ones get 413. Default: 65536
    #[arg(long, default_value_t = 64 * 1024, hide_default_value = true)]
    pub max_body: usize,

    /// Seconds a client may take to send a whole request (or to start one on a
    /// fresh connection) before it gets 408. Default: 30
    #[arg(long, default_value_t = 30.0, hide_default_value = true)]
    pub read_timeout: f64,

    /// Seconds an idle keep-alive connection is kept open between requests. Default: 5
    #[arg(long, default_value_t = 5.0, hide_default_value = true)]
    pub keepalive_timeout: f64,

    /// Seconds a stopping worker may take to finish in-flight requests before SIGKILL. Default: 30
    #[arg(long, default_value_t = 30.0, hide_default_value = true)]
    pub graceful_timeout: f64,

    /// Seconds without a heartbeat after which a worker is killed and replaced; 0 disables. Default: 30
    #[arg(long, default_value_t = 30.0, hide_default_value = true)]
    pub timeout: f64,

    /// Requests after which a worker is recycled; 0 disables. Default: 0
    #[arg(long, default_value_t = 0, hide_default_value = true)]
    pub max_requests: u64,

    /// Connections one worker holds open at most; beyond it the worker stops accepting
    /// until one closes (the kernel's queue and the other workers take the load).
    /// Default: the file-descriptor limit (RLIMIT_NOFILE, raised to its hard limit at
    /// start) minus 32 minus the worker's PostgreSQL connections
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,

    /// Random extra 0..=J requests added to --max-requests per worker. Default: 0
    #[arg(long, default_value_t = 0, hide_default_value = true)]
    pub max_requests_jitter: u64,

    /// Event loop only: most database jobs one worker has queued or in flight; past it
    /// the worker stops reading from clients (their bytes wait in the kernel) until
    /// answers come back, so an overload cannot grow its memory. Default: 4096
    #[arg(
        long,
        value_name = "N",
        default_value_t = DEFAULT_MAX_IN_FLIGHT,
        hide_default_value = true
    )]
    pub max_in_flight: usize,

    /// Group commit: most inserts a worker commits together in one statement and one
    /// transaction (every 201 is still a durable row). 1 = one commit per request, the
    /// experiment's model. Default: 256
    #[arg(
        long,
        default_value_t = 256,
        value_name = "N",
        hide_default_value = true
    )]
    pub batch: usize,

    /// Bind the worker in slot i to the (i mod N)-th of the N CPUs this process may
    /// run on (sched_setaffinity), for experiments. Default: off
    #[arg(long)]
    pub pin_cpus: bool,

    /// Write an access log line per response to FILE (appended; `-`: standard output):
    /// the Common Log Format plus the request time in microseconds and the worker's
    /// number, buffered per worker (written at 64 KiB, after 1 s, at exit); SIGUSR1
    /// reopens the file. Default: none
    #[arg(long, value_name = "FILE|-")]
    pub access_log: Option<String>,

    /// Write the master's pid to FILE (replaced atomically; removed at exit), for scripts
    /// and init systems; refused while FILE names another running process. Default: none
    #[arg(long = "pid", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,

    /// Apply schema.sql (idempotent: CREATE TABLE IF NOT EXISTS) to the database named by
    /// --database-url / DATABASE_URL (or the private cluster), then exit. Default: off
    #[arg(long)]
    pub init_db: bool,

    /// Run workers as this user (the master binds and starts the private cluster first,
    /// then each worker switches right after fork; needs root). Default: the user
    /// prefork was started as
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,

    /// Run workers with this group (with --user). Default: the --user's primary group
    #[arg(long, value_name = "NAME", requires = "user")]
    pub group: Option<String>,

    /// Run the single worker in the foreground, in this process (no fork, no respawn),
    /// for profilers and debuggers; requires --workers 1. Default: off
    #[arg(long)]
    pub no_fork: bool,

    /// Read settings from this TOML file: its keys are the long flag names
    /// (`workers = 9`, `mode = "evloop"`, `pin-cpus = true`). A flag given on the
    /// command line, then an environment variable (DATABASE_URL, PREFORK_DATA_DIR),
    /// wins over the file. Default: none
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Build the configuration exactly as a start would (file, environment and flags
    /// merged and checked, --bind resolved, --user looked up), print every setting with
    /// its value and source as TOML, and exit: 0 if it is valid, 2 if not. Forks
    /// nothing, binds nothing and never connects to the database. Default: off
    #[arg(long)]
    pub check_config: bool,
}

/// Why a command line was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Bad `--workers`.
    #[error("--workers must be a positive number or `auto`, got {0:?}")]
    Workers(String),
    /// Bad `--threads`.
    #[error("--threads must be at least 1")]
    Threads,
    /// Bad `--backlog`.
    #[error("--backlog must be at least 1")]
    Backlog,
    /// Bad `--batch`.
    #[error("--batch must be from 1 to {MAX_BATCH} rows, got {0}")]
    Batch(usize),
    /// `--db evented` outside the event loop.
    #[error("--db evented needs --mode evloop (the event loop drives its connections); use --db sync with --mode threads")]
    EventedNeedsEvloop,
    /// Bad `--db-conns`.
    #[error("--db-conns must be from 1 to 64, got {0}")]
    DbConns(usize),
    /// Bad `--max-body`.
    #[error("--max-body must be at least 1 byte")]
    MaxBody,
    /// Bad `--max-connections`.
    #[error("--max-connections must be at least 1")]
    MaxConnections,
    /// `--max-in-flight 0`.
    #[error("--max-in-flight must be at least 1 (it bounds the jobs a worker holds)")]
    MaxInFlight,
    /// A duration that is negative or not a number.
    #[error("{flag} must be a finite number of seconds >= 0, got {value}")]
    Seconds {
        /// The flag.
        flag: &'static str,
        /// What was given.
        value: f64,
    },
    /// `--no-fork` with more than one worker.
    #[error(
        "--no-fork runs one worker in the foreground: use it with --workers 1 (got {0} workers)"
    )]
    NoForkWorkers(usize),
    /// `--db-timeout` not shorter than `--timeout`.
    #[error("--db-timeout ({db_timeout:?}) must be shorter than --timeout ({timeout:?}): a worker waiting on the database must not look hung")]
    DbTimeout {
        /// `--db-timeout`.
        db_timeout: Duration,
        /// `--timeout`.
        timeout: Duration,
    },
    /// `--user` / `--group` cannot be resolved.
    #[error(transparent)]
    Privilege(#[from] PrivilegeError),
    /// `--bind` does not name an address.
    #[error(
        "--bind {0}: {1} (give HOST:PORT, e.g. 127.0.0.1:8000 or localhost:8000, or unix:PATH)"
    )]
    Bind(String, String),
    /// The same `--bind` twice.
    #[error("--bind {0} is given twice")]
    BindTwice(String),
    /// Bad `--socket-mode`.
    #[error("--socket-mode {0}")]
    SocketMode(String),
    /// `--access-log` names a path that cannot be made absolute.
    #[error("--access-log {0:?}: {1}")]
    AccessLog(String, String),
    /// Bad `--socket-owner`.
    #[error("--socket-owner {0:?}: {1}")]
    SocketOwner(String, String),
    /// `--no-fork` with `--max-requests`: recycling would end the only process.
    #[error("--no-fork serves from one process that nobody respawns: --max-requests would stop the server; drop one of them")]
    NoForkMaxRequests,
    /// `--no-fork` with `--user`: the one process is also the master.
    #[error("--no-fork serves from the master process, which keeps its identity: drop --user, or start prefork as that user")]
    NoForkUser,
    /// A duration that must not be zero.
    #[error("{flag} must be more than 0 seconds")]
    ZeroSeconds {
        /// The flag.
        flag: &'static str,
    },
}

/// `--db-conns` by default with `--batch 1`: measured with 64 keep-alive clients and
/// 2 workers on the 2-core machine, 4 / 8 / 16 connections per worker gave 6.9–11.7k /
/// 14.4–15.7k / 16.6–19.3k req/s (pgbench at 64 clients: 18.3–19.9k).
pub const DEFAULT_DB_CONNS_BATCH_1: usize = 16;
/// `--db-conns` by default with group commit: one group commits at a time and a further
/// connection takes a group only when a full one (`--batch`) waits, so 4 costs nothing
/// at 64 clients (2 workers: 61.4–64.1k req/s, as 1 connection's 62.1–64.0k, against
/// 57.7–58.5k for 4 connections each taking a group as soon as it was free) and leaves
/// lanes for bigger loads and for a connection that fails.
pub const DEFAULT_DB_CONNS_GROUPED: usize = 4;
/// Default `--max-in-flight`: jobs one event-loop worker holds before it stops reading.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 4096;

/// The default `--db-timeout`: the longest one database call may wait.
pub const DEFAULT_DB_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest `--batch`: one statement's arrays stay well under PostgreSQL's 1 GiB limit
/// even with 64 KiB bodies.
pub const MAX_BATCH: usize = 4096;

/// Validated configuration, plain data that is copied into every worker before fork.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen, in `--bind` order (at least one). The first TCP address is the
    /// one with a socket per slot in `reuseport` mode (port 0: the kernel picks one,
    /// shared by every slot); see [`Config::primary_tcp`].
    pub binds: Vec<Endpoint>,
    /// Permission bits of Unix socket files (`--socket-mode`).
    pub socket_mode: u32,
    /// Owner of Unix socket files (`--socket-owner`).
    pub socket_owner: Option<Owner>,
    /// Number of worker processes (and of listener slots with `AcceptMode::Reuseport`).
    pub workers: usize,
    /// The built-in service to serve (`--app`).
    pub app: AppKind,
    /// Worker model.
    pub mode: Mode,
    /// Request threads per worker (only used in `Mode::Threads`).
    pub threads: usize,
    /// Listener sharing between workers.
    pub accept: AcceptMode,
    /// Listen backlog of each listener.
    pub backlog: i32,
    /// Most inserts committed together (1: one commit per request).
    pub batch: usize,
    /// `None`: use the private cluster in `data_dir`.
    pub database_url: Option<String>,
    /// The private cluster's directory (`--data-dir`, else [`pgtmp::default_dir`]),
    /// chosen when the command line is read; only used without `database_url`.
    pub data_dir: PathBuf,
    /// The longest one database call may wait (`--db-timeout`).
    pub db_timeout: Duration,
    /// How the task service talks to PostgreSQL (`--db`).
    pub db: DbMode,
    /// `--db evented`: connections per worker (`--db-conns`).
    pub db_conns: usize,
    /// Request size limits.
    pub limits: Limits,
    /// Time allowed to send one whole request; then 408.
    pub read_timeout: Duration,
    /// Time an idle keep-alive connection is kept between requests.
    pub keepalive_timeout: Duration,
    /// Time a stopping worker has to finish in-flight requests.
    pub graceful_timeout: Duration,
    /// `None` when hung-worker detection is disabled (`--timeout 0`).
    pub timeout: Option<Duration>,
    /// `None` when recycling is disabled.
    pub max_requests: Option<u64>,
    /// Most connections one worker holds open; `None`: derived from RLIMIT_NOFILE at
    /// start (see `net::connection_cap`).
    pub max_connections: Option<usize>,
    /// Upper bound of the random extra requests added to `max_requests` per worker.
    pub max_requests_jitter: u64,
    /// Event loop: most jobs queued or in flight per worker (`--max-in-flight`).
    pub max_in_flight: usize,
    /// Bind worker slot i to the (i mod N)-th allowed CPU.
    pub pin_cpus: bool,
    /// Serve in the master process itself, without forking (`--workers 1` only).
    pub no_fork: bool,
    /// The account workers switch to after fork (`--user`/`--group`).
    pub run_as: Option<RunAs>,
    /// Apply `schema.sql` and exit (`--init-db`).
    pub init_db: bool,
    /// Where the master writes its pid (`--pid`).
    pub pid_file: Option<PathBuf>,
    /// Where the access log goes (`--access-log`), if anywhere.
    pub access_log: Option<crate::access_log::Target>,
    /// Flags that were accepted but have no effect here, for the start-up log.
    pub warnings: Vec<String>,
}

/// Number of CPUs this process may run on (at least 1).
pub fn cpu_count() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

impl Config {
    /// Validates a parsed command line.
    pub fn from_cli(cli: Cli) -> Result<Config, ConfigError> {
        let workers = parse_workers(&cli.workers)?;
        let threads = cli.threads.unwrap_or(2 * cpu_count());
        if threads == 0 {
            return Err(ConfigError::Threads);
        }
        if cli.backlog < 1 {
            return Err(ConfigError::Backlog);
        }
        if !(1..=MAX_BATCH).contains(&cli.batch) {
            return Err(ConfigError::Batch(cli.batch));
        }
        if cli.max_body == 0 {
            return Err(ConfigError::MaxBody);
        }
        if cli.max_connections == Some(0) {
            return Err(ConfigError::MaxConnections);
        }
        if cli.max_in_flight == 0 {
            return Err(ConfigError::MaxInFlight);
        }
        if cli.db == DbMode::Evented && cli.mode != Mode::Evloop {
            return Err(ConfigError::EventedNeedsEvloop);
        }
        let db_conns = cli.db_conns.unwrap_or(if cli.batch == 1 {
            DEFAULT_DB_CONNS_BATCH_1
        } else {
            DEFAULT_DB_CONNS_GROUPED
        });
        if !(1..=64).contains(&db_conns) {
            return Err(ConfigError::DbConns(db_conns));
        }
        if cli.no_fork && workers != 1 {
            return Err(ConfigError::NoForkWorkers(workers));
        }
        let timeout = seconds("--timeout", cli.timeout)?;
        let run_as = match &cli.user {
            Some(user) => Some(RunAs::resolve(user, cli.group.as_deref())?),
            None => None,
        };
        if cli.no_fork && run_as.is_some() {
            return Err(ConfigError::NoForkUser);
        }
        if cli.no_fork && cli.max_requests > 0 {
            return Err(ConfigError::NoForkMaxRequests);
        }
        let mut warnings = Vec::new();
        if cli.threads.is_some() && cli.mode == Mode::Evloop {
            warnings.push(
                "--threads has no effect with --mode evloop (one thread per worker)".to_string(),
            );
        }
        if cli.max_in_flight != DEFAULT_MAX_IN_FLIGHT && cli.mode == Mode::Threads {
            warnings.push(
                "--max-in-flight has no effect with --mode threads (each request thread holds one job)"
                    .to_string(),
            );
        }
        let db_timeout = match cli.db_timeout {
            Some(seconds) => positive_seconds("--db-timeout", seconds)?,
            None if timeout.is_zero() => DEFAULT_DB_TIMEOUT,
            None => DEFAULT_DB_TIMEOUT.min(timeout / 2),
        };
        if !timeout.is_zero() && db_timeout >= timeout {
            return Err(ConfigError::DbTimeout {
                db_timeout,
                timeout,
            });
        }
        let binds = resolve_binds(&cli.bind)?;
        let access_log = match cli.access_log.as_deref() {
            None | Some("") => None,
            Some(value) => Some(
                crate::access_log::Target::parse(value)
                    .map_err(|e| ConfigError::AccessLog(value.to_string(), e.to_string()))?,
            ),
        };
        let socket_mode = parse_mode(&cli.socket_mode).map_err(ConfigError::SocketMode)?;
        let socket_owner = match &cli.socket_owner {
            Some(value) => Some(
                Owner::parse(value).map_err(|why| ConfigError::SocketOwner(value.clone(), why))?,
            ),
            None => None,
        };
        if !binds.iter().any(|b| matches!(b, Endpoint::Unix(_)))
            && (cli.socket_owner.is_some() || socket_mode != DEFAULT_MODE)
        {
            warnings.push(
                "--socket-mode and --socket-owner have no effect without a --bind unix:PATH"
                    .to_string(),
            );
        }
        Ok(Config {
            binds,
            socket_mode,
            socket_owner,
            workers,
            app: cli.app,
            mode: cli.mode,
            threads,
            accept: cli.accept,
            backlog: cli.backlog,
            batch: cli.batch,
            database_url: cli.database_url.filter(|u| !u.is_empty()),
            data_dir: cli
                .data_dir
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or_else(pgtmp::default_dir),
            db_timeout,
            db: cli.db,
            db_conns,
            limits: Limits {
                max_body: cli.max_body,
                ..Limits::default()
            },
            read_timeout: positive_seconds("--read-timeout", cli.read_timeout)?,
            keepalive_timeout: positive_seconds("--keepalive-timeout", cli.keepalive_timeout)?,
            graceful_timeout: seconds("--graceful-timeout", cli.graceful_timeout)?,
            timeout: (!timeout.is_zero()).then_some(timeout),
            max_requests: (cli.max_requests > 0).then_some(cli.max_requests),
            max_connections: cli.max_connections,
            max_requests_jitter: cli.max_requests_jitter,
            max_in_flight: cli.max_in_flight,
            pin_cpus: cli.pin_cpus,
            no_fork: cli.no_fork,
            run_as,
            init_db: cli.init_db,
            pid_file: cli.pid_file.filter(|p| !p.as_os_str().is_empty()),
            access_log,
            warnings,
        })
    }
}

/// Every `--bind`: an address, a name resolved now (its first address), or a Unix
/// socket path; the same one twice is refused (port 0 may repeat: each gets its own).
fn resolve_binds(values: &[String]) -> Result<Vec<Endpoint>, ConfigError> {
    let mut binds: Vec<Endpoint> = Vec::with_capacity(values.len());
    for value in values {
        let endpoint =
            Endpoint::parse(value).map_err(|why| ConfigError::Bind(value.to_string(), why))?;
        let fixed_port = endpoint.tcp().is_none_or(|addr| addr.port() != 0);
        if fixed_port && binds.contains(&endpoint) {
            return Err(ConfigError::BindTwice(value.to_string()));
        }
        binds.push(endpoint);
    }
    Ok(binds)
}

impl Config {
    /// The first TCP `--bind`: the address whose sockets are per slot in `reuseport`
    /// mode, and the one the `listening on http://…` line names. `None` when every
    /// `--bind` is a Unix socket.
    pub fn primary_tcp(&self) -> Option<SocketAddr> {
        self.binds.iter().find_map(Endpoint::tcp)
    }
}

fn parse_workers(value: &str) -> Result<usize, ConfigError> {
    if value == "auto" {
        return Ok(cpu_count());
    }
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ConfigError::Workers(value.to_string())),
    }
}

fn seconds(flag: &'static str, value: f64) -> Result<Duration, ConfigError> {
    if value.is_finite() && value >= 0.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(ConfigError::Seconds { flag, value })
    }
}

fn positive_seconds(flag: &'static str, value: f64) -> Result<Duration, ConfigError> {
    let d = seconds(flag, value)?;
    if d.is_zero() {
        return Err(ConfigError::ZeroSeconds { flag });
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        let mut argv = vec!["prefork"];
        argv.extend_from_slice(args);
        Config::from_cli(Cli::try_parse_from(argv).expect("clap accepts the arguments"))
    }

    /// `--db evented` is the event loop's; its connection count defaults by `--batch`
    /// and is bounded.
    #[test]
    fn evented_database_options() {
        assert!(matches!(
            parse(&["--db", "evented", "--mode", "threads"]),
            Err(ConfigError::EventedNeedsEvloop)
        ));
        let grouped = parse(&["--db", "evented"]).unwrap();
        assert_eq!(
            (grouped.db, grouped.db_conns),
            (DbMode::Evented, DEFAULT_DB_CONNS_GROUPED)
        );
        let one = parse(&["--db", "evented", "--batch", "1"]).unwrap();
        assert_eq!(one.db_conns, DEFAULT_DB_CONNS_BATCH_1);
        assert_eq!(parse(&["--db-conns", "3"]).unwrap().db_conns, 3);
        assert!(matches!(
            parse(&["--db-conns", "0"]),
            Err(ConfigError::DbConns(0))
        ));
        assert!(matches!(
            parse(&["--db-conns", "65"]),
            Err(ConfigError::DbConns(65))
        ));
        assert_eq!(parse(&[]).unwrap().db, DbMode::Sync);
    }

    #[test]
    fn auto_workers_is_cpu_count() {
        assert_eq!(parse(&["--workers", "auto"]).unwrap().workers, cpu_count());
    }

    #[test]
    fn zero_or_garbage_workers_rejected() {
        assert!(matches!(
            parse(&["--workers", "0"]),
            Err(ConfigError::Workers(_))
        ));
        assert!(matches!(
            parse(&["--workers", "many"]),
            Err(ConfigError::Workers(_))
        ));
    }

    #[test]
    fn timeout_zero_disables_detection() {
        assert_eq!(parse(&["--timeout", "0"]).unwrap().timeout, None);
        assert_eq!(
            parse(&["--timeout", "2.5"]).unwrap().timeout,
            Some(Duration::from_millis(2500))
        );
    }

    #[test]
    fn negative_and_zero_seconds_rejected() {
        assert!(matches!(
            parse(&["--graceful-timeout=-1"]),
            Err(ConfigError::Seconds { .. })
        ));
        assert!(matches!(
            parse(&["--read-timeout", "0"]),
            Err(ConfigError::ZeroSeconds { .. })
        ));
    }

    /// `--no-fork` is only accepted with exactly one worker; both flags default off.
    #[test]
    fn no_fork_requires_one_worker() {
        let c = parse(&["--no-fork", "--workers", "1", "--pin-cpus"]).unwrap();
        assert!(c.no_fork && c.pin_cpus);
        assert!(matches!(
            parse(&["--no-fork", "--workers", "2"]),
            Err(ConfigError::NoForkWorkers(2))
        ));
        let d = parse(&[]).unwrap();
        assert!(!d.no_fork && !d.pin_cpus);
    }

    /// `--db-timeout` defaults to 5 s and must stay below the heartbeat timeout.
    #[test]
    fn db_timeout_below_heartbeat_timeout() {
        assert_eq!(parse(&[]).unwrap().db_timeout, Duration::from_secs(5));
        let short = parse(&["--timeout", "2"]).unwrap();
        assert_eq!(short.db_timeout, Duration::from_secs(1));
        assert!(matches!(
            parse(&["--db-timeout", "30"]),
            Err(ConfigError::DbTimeout { .. })
        ));
        assert!(parse(&["--db-timeout", "30", "--timeout", "0"]).is_ok());
        assert!(matches!(
            parse(&["--db-timeout", "0"]),
            Err(ConfigError::ZeroSeconds { .. })
        ));
    }

    /// `--user` resolves to an account, `--group` needs `--user`, and `--no-fork`
    /// refuses `--user`.
    #[test]
    fn user_and_group() {
        let c = parse(&["--user", "root", "--group", "root"]).unwrap();
        assert_eq!(c.run_as.map(|r| r.user), Some("root".to_string()));
        assert!(parse(&[]).unwrap().run_as.is_none());
        assert!(matches!(
            parse(&["--user", "no-such-user-prefork"]),
            Err(ConfigError::Privilege(_))
        ));
        assert!(Cli::try_parse_from(["prefork", "--group", "root"]).is_err());
        assert!(matches!(
            parse(&["--no-fork", "--workers", "1", "--user", "root"]),
            Err(ConfigError::NoForkUser)
        ));
    }

    /// `--bind` takes addresses and names; `--no-fork` refuses `--max-requests`;
    /// `--threads` with evloop is accepted with a warning.
    #[test]
    fn bind_names_no_fork_recycling_and_ignored_threads() {
        let c = parse(&["--bind", "localhost:8123"]).unwrap();
        let primary = c.primary_tcp().unwrap();
        assert_eq!(primary.port(), 8123);
        assert!(primary.ip().is_loopback());
        assert!(matches!(
            parse(&["--bind", "nowhere"]),
            Err(ConfigError::Bind(..))
        ));
        assert!(matches!(
            parse(&["--no-fork", "--workers", "1", "--max-requests", "5"]),
            Err(ConfigError::NoForkMaxRequests)
        ));
        assert_eq!(parse(&["--threads", "4"]).unwrap().warnings.len(), 1);
        assert!(parse(&["--threads", "4", "--mode", "threads"])
            .unwrap()
            .warnings
            .is_empty());
    }

    /// Several `--bind`s, Unix sockets among them: kept in order; the first TCP one is
    /// primary; the same one twice is refused (port 0 may repeat); the socket options
    /// are parsed, and warned about without a Unix socket.
    #[test]
    fn several_binds_and_unix_sockets() {
        let c = parse(&[
            "--bind",
            "unix:/run/a.sock",
            "--bind",
            "127.0.0.1:0",
            "--bind",
            "[::1]:0",
        ])
        .unwrap();
        assert_eq!(c.binds.len(), 3);
        assert_eq!(c.binds[0], Endpoint::Unix(PathBuf::from("/run/a.sock")));
        assert_eq!(c.primary_tcp(), Some("127.0.0.1:0".parse().unwrap()));
        assert_eq!(c.socket_mode, 0o660);
        let unix_only = parse(&["--bind", "unix:/run/a.sock"]).unwrap();
        assert_eq!(unix_only.primary_tcp(), None);
        assert!(matches!(
            parse(&["--bind", "unix:/a", "--bind", "unix:/a"]),
            Err(ConfigError::BindTwice(_))
        ));
        assert!(matches!(
            parse(&["--bind", "127.0.0.1:9", "--bind", "127.0.0.1:9"]),
            Err(ConfigError::BindTwice(_))
        ));
        assert!(parse(&["--bind", "127.0.0.1:0", "--bind", "127.0.0.1:0"]).is_ok());
        let owned = parse(&[
            "--bind",
            "unix:/a",
            "--socket-mode",
            "600",
            "--socket-owner",
            ":0",
        ])
        .unwrap();
        assert_eq!(owned.socket_mode, 0o600);
        assert_eq!(
            owned.socket_owner.unwrap().gid,
            Some(nix::unistd::Gid::from_raw(0))
        );
        assert!(owned.warnings.is_empty());
        assert!(matches!(
            parse(&["--socket-mode", "888"]),
            Err(ConfigError::SocketMode(_))
        ));
        assert_eq!(parse(&["--socket-mode", "600"]).unwrap().warnings.len(), 1);
    }

    /// `--data-dir` names the private cluster; without it the default is chosen at run
    /// time (never a path inside the source tree the binary was built from).
    #[test]
    fn data_dir_flag_or_run_time_default() {
        let c = parse(&["--data-dir", "/srv/pg"]).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/srv/pg"));
        let d = parse(&[]).unwrap();
        assert_eq!(d.data_dir, pgtmp::default_dir());
        assert!(!d.data_dir.starts_with(env!("CARGO_MANIFEST_DIR")));
    }

    #[test]
    fn max_body_flows_into_limits() {
        let c = parse(&["--max-body", "100"]).unwrap();
        assert_eq!(
            c.limits,
            Limits {
                max_body: 100,
                ..Limits::default()
            }
        );
    }

    /// `--max-connections` must be positive; without it the cap is left to the worker.
    #[test]
    fn max_connections_positive_or_derived() {
        assert_eq!(
            parse(&["--max-connections", "500"])
                .unwrap()
                .max_connections,
            Some(500)
        );
        assert_eq!(parse(&[]).unwrap().max_connections, None);
        assert!(matches!(
            parse(&["--max-connections", "0"]),
            Err(ConfigError::MaxConnections)
        ));
    }

    #[test]
    fn max_in_flight_positive_with_a_default() {
        assert_eq!(parse(&[]).unwrap().max_in_flight, DEFAULT_MAX_IN_FLIGHT);
        assert_eq!(parse(&["--max-in-flight", "64"]).unwrap().max_in_flight, 64);
        assert!(matches!(
            parse(&["--max-in-flight", "0"]),
            Err(ConfigError::MaxInFlight)
        ));
        let threads = parse(&["--mode", "threads", "--max-in-flight", "8"]).unwrap();
        assert!(threads
            .warnings
            .iter()
            .any(|w| w.contains("--max-in-flight")));
    }
}

//! `--no-fork`: the master process runs its single worker itself, in the foreground.
//!
//! For profilers and debuggers: one process to attach to, no fork, no respawn, no
//! heartbeat check (`--timeout` is irrelevant). Everything else is what the master and
//! a forked worker would do: the same service preparation (the task service's private
//! cluster is started if no URL is given, and stopped when the worker returns), the
//! same listener, the same log lines, the same worker code (`App::serve`, which returns
//! instead of exiting so that the cluster can be stopped). Signals that would reload or scale a
//! master's workers (HUP, TTIN, TTOU) are logged and ignored here.

use super::announce::log_listening;
use super::apps::Prepared;
use super::cpu::pin_worker;
use super::error::MasterError;
use crate::access_log::{AccessLog, LogFile, OpenError};
use crate::config::Config;
use crate::listener::Listener;
use crate::net;
use crate::scoreboard::Scoreboard;
use crate::sys;
use crate::worker::WorkerSpec;

/// The only slot there is.
const SLOT: usize = 0;

/// Serves with one in-process worker until it stops; returns the exit code the worker
/// would have exited with (0 after SIGTERM/SIGINT/SIGQUIT, 3 if it cannot boot).
pub(super) fn run(
    mut config: Config,
    (passed, upgraded): (Vec<Listener>, bool),
    prepare: impl FnOnce(&Config) -> Result<Prepared, MasterError>,
) -> Result<i32, MasterError> {
    let descriptors = net::raise_descriptor_limit(&config);
    let access_log = match config.access_log.clone().map(LogFile::open).transpose()? {
        Some(log) => log.for_worker(SLOT).map_err(|source| {
            MasterError::AccessLog(OpenError {
                target: log.target().clone(),
                source,
            })
        })?,
        None => AccessLog::off(),
    };
    let listening = super::listen::listen(&mut config, 1, passed, upgraded)?;
    // Removed when this function returns, like the master's.
    let _socket_files = listening.files;
    // The one worker accepts on every socket (several passed ones included).
    let mut listeners: Vec<Listener> = listening.primary.into_iter().map(Listener::Tcp).collect();
    let shown = listeners.len();
    listeners.extend(listening.shared);
    let _pid_file = match &config.pid_file {
        Some(path) => Some(super::pidfile::PidFile::create(path, std::process::id())?),
        None => None,
    };
    // The worker code beats a heartbeat cell (nobody reads it here) and counts its
    // work in the same cell, which its own `/stats` reads.
    let mut scoreboard = Scoreboard::new(1).map_err(MasterError::Scoreboard)?;
    let cell = scoreboard
        .allocate()
        .expect("a fresh scoreboard has a cell");
    let Prepared { app, cluster } = prepare(&config)?;
    log_listening(listening.addr, &listeners[shown..], &config, &descriptors);
    let pid = nix::unistd::getpid();
    scoreboard.occupy(cell, SLOT, std::process::id());
    if config.pin_cpus {
        pin_worker(SLOT);
    }
    let spec = WorkerSpec {
        slot: SLOT,
        listeners,
        max_requests: config.max_requests,
        config,
        heartbeat: scoreboard.heartbeat(cell),
        counters: scoreboard.counters(cell),
        board: scoreboard.board(),
        access_log,
    };
    crate::signals::ignore_in_foreground().map_err(MasterError::Signals)?;
    // `serve` expects what a forked child has: every signal blocked until the worker's
    // own handlers are installed (it unblocks them itself).
    sys::block_all_signals().map_err(|e| MasterError::Signals(e.into()))?;
    // Only now: a stop signal sent on seeing this line waits for the worker's handlers.
    crate::say!("prefork: worker {SLOT} pid {pid} started");
    let code = app.serve(spec);
    crate::say!("prefork: worker {SLOT} pid {pid} exited with status {code}");
    // Stops the private cluster if this process started it.
    drop(cluster);
    crate::say!("prefork: master pid {pid} exiting with status {code}");
    Ok(code)
}

//! A worker's life after fork: install its signal handling, unblock signals, run the
//! mode the configuration names with the service, and turn the outcome into an exit
//! status. The master's view of a service, type-erased, is [`App`].

use std::path::PathBuf;
use std::sync::Arc;

use super::error::WorkerError;
use super::state::{Lifeline, Quota, Signals, Worker};
use super::{evloop, threads};
use crate::access_log::AccessLog;
use crate::config::{Config, Mode};
use crate::listener::Listener;
use crate::scoreboard::{Board, Counters, Heartbeat};
use crate::service::Service;

/// What a worker needs, prepared by the master before fork.
pub struct WorkerSpec {
    /// Listener slot index (also the worker's number in logs).
    pub slot: usize,
    /// Where it accepts, inherited across fork: this slot's own socket (or the primary
    /// shared one), then every listener all workers share.
    pub listeners: Vec<Listener>,
    /// The validated configuration.
    pub config: Config,
    /// Recycle after this many requests (jitter already applied); `None`: never.
    pub max_requests: Option<u64>,
    /// This worker's cell in the shared scoreboard.
    pub heartbeat: Heartbeat,
    /// The same cell's activity counters.
    pub counters: Counters,
    /// Every worker's cell, read by `GET /stats`.
    pub board: Board,
    /// Its access log (its own descriptor on the master's file), or none.
    pub access_log: AccessLog,
}

/// A service ready to run in forked workers, its type erased for the master: it
/// serves a [`WorkerSpec`] with the service it was made from.
#[derive(Clone)]
pub struct App {
    serve: Arc<dyn Fn(WorkerSpec) -> i32 + Send + Sync>,
    reaches: Vec<PathBuf>,
}

impl App {
    /// Wraps `service` (built before fork; every worker gets the same value).
    pub fn new<S: Service>(service: S) -> App {
        let reaches = service.reaches();
        let service = Arc::new(service);
        App {
            serve: Arc::new(move |spec| serve(spec, Arc::clone(&service))),
            reaches,
        }
    }

    /// Runs a worker in this process until it stops; returns its exit code (the
    /// precondition of [`serve`]).
    pub fn serve(&self, spec: WorkerSpec) -> i32 {
        (self.serve)(spec)
    }

    /// Directories the workers must be able to reach ([`Service::reaches`]).
    pub fn reaches(&self) -> &[PathBuf] {
        &self.reaches
    }
}

/// Runs the worker in the child process; never returns.
pub fn boot(spec: WorkerSpec, app: &App) -> ! {
    std::process::exit(app.serve(spec))
}

/// Serves `service` until told to stop and returns the worker's exit code; called with
/// every signal blocked. `--no-fork` calls it in the master process so that it gets
/// control back to stop its private cluster.
pub fn serve<S: Service>(spec: WorkerSpec, service: Arc<S>) -> i32 {
    let slot = spec.slot;
    match run(spec, service) {
        Ok(()) => 0,
        Err(err) => {
            crate::say!("prefork: worker {slot}: {err}");
            err.exit_code()
        }
    }
}

fn run<S: Service>(spec: WorkerSpec, service: Arc<S>) -> Result<(), WorkerError> {
    // The parent seen first thing after fork; a later change means the master died.
    let lifeline = Lifeline::new();
    // Handlers before unblocking: a SIGTERM queued since fork must hit ours, not the default.
    let signals = Signals::install().map_err(WorkerError::Signals)?;
    crate::sys::unblock_all_signals().map_err(|e| WorkerError::Signals(e.into()))?;
    let access_log = spec.access_log.clone();
    let worker = Worker {
        slot: spec.slot,
        board: spec.board,
        heartbeat: spec.heartbeat,
        counters: spec.counters,
        quota: Arc::new(Quota::new(spec.max_requests)),
        signals,
        lifeline,
        config: spec.config,
        access_log: spec.access_log,
    };
    let served = match worker.config.mode {
        Mode::Evloop => evloop::run(worker, spec.listeners, service),
        Mode::Threads => threads::run(worker, spec.listeners, service),
    };
    // Whatever the way out: the lines still buffered go to the file.
    access_log.flush();
    served
}

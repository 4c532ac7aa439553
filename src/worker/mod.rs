//! Everything that happens in a worker process after fork.
//!
//! CONTRACT: the master builds a [`WorkerSpec`] (plain data, pre-fork) and, in the child,
//! after dropping its own signal registration, closing the other slots' listeners and
//! setting the parent-death signal, calls [`boot`] with every signal still blocked. `boot`
//! installs the worker's own signal handling, unblocks the signal mask, makes the
//! [`Service`]'s context for each serving thread (a [`BootError`]: exit
//! [`EXIT_BOOT_FAILURE`]) and serves until told to stop (SIGTERM graceful,
//! SIGQUIT/SIGINT immediate), the master dies, or `max_requests` is reached; then it
//! exits 0.
//!
//! The two modes ([`crate::config::Mode`]) live in `evloop` and `threads`; both drive the
//! same [`conn::Conn`] / [`session::Session`], follow the same rules around a service
//! call (`rules`, `builtin`) and differ only in how bytes and connections move. Nothing
//! here knows what a service does.

mod accept;
mod builtin;
pub mod conn;
mod evconn;
mod evloop;
mod output;
mod rules;
pub mod session;
mod stats;
mod threads;
mod timers;

use std::io::{self, ErrorKind, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::UnixStream;
use nix::unistd::{getppid, Pid};
use signal_hook::consts::{SIGINT, SIGQUIT, SIGTERM};

use crate::config::{Config, Mode};
use crate::scoreboard::{Board, Counters, Heartbeat};
use crate::service::{BootError, Service};

/// Exit code of a worker that cannot boot because of its configuration (its service
/// refuses: the database rejects the credentials, or the database or table is
/// missing): the master stops instead of respawning it forever. Also the master's own
/// exit code when its start-up check of the database fails. A database that is merely
/// down is never a boot failure.
pub const EXIT_BOOT_FAILURE: i32 = 3;

/// Exit code of a worker whose event loop failed at run time (respawned as a crash).
const EXIT_CRASH: i32 = 1;

/// What a worker needs, prepared by the master before fork.
pub struct WorkerSpec {
    /// Listener slot index (also the worker's number in logs).
    pub slot: usize,
    /// This slot's listener (or the shared one), inherited across fork.
    pub listener: std::net::TcpListener,
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

/// Why a worker stopped other than by being told to.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The signal handlers could not be installed.
    #[error("cannot boot: cannot install signal handlers: {0}")]
    Signals(io::Error),
    /// The service refuses to start (the database rejects us, …): a configuration
    /// error. An unreachable database is not one: the worker boots.
    #[error("cannot boot: {0}")]
    Boot(#[from] BootError),
    /// The event loop or acceptor failed while serving.
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl WorkerError {
    /// The exit status for this failure: boot failures stop the master.
    fn exit_code(&self) -> i32 {
        match self {
            WorkerError::Signals(_) | WorkerError::Boot(_) => EXIT_BOOT_FAILURE,
            WorkerError::Io(_) => EXIT_CRASH,
        }
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

/// Everything a mode needs besides the service.
pub(crate) struct Worker {
    /// The listener slot (the worker's number in logs).
    pub slot: usize,
    /// The validated configuration.
    pub config: Config,
    /// Every worker's counters, for `GET /stats`.
    pub board: Board,
    /// This worker's scoreboard cell.
    pub heartbeat: Heartbeat,
    /// This worker's activity counters (`GET /stats`).
    pub counters: Counters,
    /// Requests served against `--max-requests`.
    pub quota: Arc<Quota>,
    /// Stop requests from signals (and from the worker itself).
    pub signals: Signals,
    /// Notices the master's death.
    pub lifeline: Lifeline,
}

fn run<S: Service>(spec: WorkerSpec, service: Arc<S>) -> Result<(), WorkerError> {
    // The parent seen first thing after fork; a later change means the master died.
    let lifeline = Lifeline::new();
    // Handlers before unblocking: a SIGTERM queued since fork must hit ours, not the default.
    let signals = Signals::install().map_err(WorkerError::Signals)?;
    crate::sys::unblock_all_signals().map_err(|e| WorkerError::Signals(e.into()))?;
    let worker = Worker {
        slot: spec.slot,
        board: spec.board,
        heartbeat: spec.heartbeat,
        counters: spec.counters,
        quota: Arc::new(Quota::new(spec.max_requests)),
        signals,
        lifeline,
        config: spec.config,
    };
    match worker.config.mode {
        Mode::Evloop => evloop::run(worker, spec.listener, service),
        Mode::Threads => threads::run(worker, spec.listener, service),
    }
}

/// How a worker was asked to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Stop accepting, finish what has started, then exit 0.
    Graceful,
    /// Exit now.
    Immediate,
}

/// Stop requests as atomics: set by signal handlers, read by every thread.
#[derive(Clone, Debug, Default)]
pub(crate) struct StopFlags {
    graceful: Arc<AtomicBool>,
    immediate: Arc<AtomicBool>,
}

impl StopFlags {
    /// The strongest stop requested so far, if any.
    pub(crate) fn get(&self) -> Option<Stop> {
        if self.immediate.load(Ordering::SeqCst) {
            Some(Stop::Immediate)
        } else if self.graceful.load(Ordering::SeqCst) {
            Some(Stop::Graceful)
        } else {
            None
        }
    }

    /// Requests a stop from inside the worker (recycling, master gone, drain timeout).
    pub(crate) fn request(&self, stop: Stop) {
        let flag = match stop {
            Stop::Graceful => &self.graceful,
            Stop::Immediate => &self.immediate,
        };
        flag.store(true, Ordering::SeqCst);
    }
}

/// The worker's signal handling: flags plus a self-pipe that wakes a `mio::Poll`.
pub(crate) struct Signals {
    /// Set by the handlers.
    pub flags: StopFlags,
    /// Read end of the self-pipe; readable after any of our signals.
    pub wake: UnixStream,
}

impl Signals {
    /// Installs the handlers: SIGTERM graceful, SIGQUIT and SIGINT immediate.
    fn install() -> io::Result<Signals> {
        let flags = StopFlags::default();
        let (wake, notify) = std::os::unix::net::UnixStream::pair()?;
        // Non-blocking on both ends: the handler must never block, the loop drains until empty.
        wake.set_nonblocking(true)?;
        notify.set_nonblocking(true)?;
        // Flags first: handlers run in registration order, so a woken loop sees the flag.
        signal_hook::flag::register(SIGTERM, Arc::clone(&flags.graceful))?;
        for signal in [SIGQUIT, SIGINT] {
            signal_hook::flag::register(signal, Arc::clone(&flags.immediate))?;
        }
        for signal in [SIGTERM, SIGQUIT, SIGINT] {
            signal_hook::low_level::pipe::register(signal, notify.try_clone()?)?;
        }
        Ok(Signals {
            flags,
            wake: UnixStream::from_std(wake),
        })
    }

    /// Empties the self-pipe (its bytes only mean "look at the flags").
    pub(crate) fn drain(&mut self) {
        let mut buf = [0u8; 64];
        loop {
            match self.wake.read(&mut buf) {
                Ok(n) if n > 0 => continue,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                _ => return, // WouldBlock: empty; Ok(0) or an error cannot happen to a live pair
            }
        }
    }
}

/// Detects the master's death by polling `getppid` (a backup for PR_SET_PDEATHSIG).
pub(crate) struct Lifeline {
    ppid: Pid,
    next_check: Instant,
}

impl Lifeline {
    /// How often `getppid` is asked.
    const EVERY: Duration = Duration::from_secs(1);

    /// Remembers the current parent.
    fn new() -> Lifeline {
        Lifeline {
            ppid: getppid(),
            next_check: Instant::now() + Self::EVERY,
        }
    }

    /// Whether the master is gone (checked at most once per [`Self::EVERY`]).
    pub(crate) fn master_gone(&mut self, now: Instant) -> bool {
        if now < self.next_check {
            return false;
        }
        self.next_check = now + Self::EVERY;
        getppid() != self.ppid
    }
}

/// Requests served by this worker, against its recycling limit (shared by threads).
#[derive(Debug)]
pub(crate) struct Quota {
    served: AtomicU64,
    max: Option<u64>,
}

impl Quota {
    /// A counter for `max` requests (`None`: unlimited).
    fn new(max: Option<u64>) -> Quota {
        Quota {
            served: AtomicU64::new(0),
            max,
        }
    }

    /// Counts one request; true once the limit is reached (this one included). The
    /// request that reaches it logs that the worker is being recycled.
    pub(crate) fn count(&self) -> bool {
        let served = self.served.fetch_add(1, Ordering::Relaxed) + 1;
        if self.max == Some(served) {
            crate::say!(
                "prefork: worker pid {}: served {served} requests (--max-requests): recycling",
                std::process::id()
            );
        }
        self.max.is_some_and(|max| served >= max)
    }

    /// Whether the limit has been reached.
    pub(crate) fn reached(&self) -> bool {
        self.max
            .is_some_and(|max| self.served.load(Ordering::Relaxed) >= max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quota trips on the request that reaches the limit and stays tripped.
    #[test]
    fn quota_trips_at_limit() {
        let q = Quota::new(Some(2));
        assert!(!q.count());
        assert!(!q.reached());
        assert!(q.count());
        assert!(q.reached());
        assert!(q.count());
    }

    /// Without a limit the quota never trips.
    #[test]
    fn unlimited_quota_never_trips() {
        let q = Quota::new(None);
        assert!((0..1000).all(|_| !q.count()));
        assert!(!q.reached());
    }

    /// Immediate wins over graceful once both are requested.
    #[test]
    fn immediate_overrides_graceful() {
        let flags = StopFlags::default();
        assert_eq!(flags.get(), None);
        flags.request(Stop::Graceful);
        assert_eq!(flags.get(), Some(Stop::Graceful));
        flags.request(Stop::Immediate);
        assert_eq!(flags.get(), Some(Stop::Immediate));
    }
}

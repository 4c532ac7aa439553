//! The arbiter: forks the workers, reaps them, respawns, reloads, scales and stops.
//!
//! Modelled on Gunicorn's `arbiter.py`. The master binds every listener before forking,
//! keeps each slot's socket for its whole life (so connections queued on a slot survive a
//! worker crash or a reload), never starts a thread and, past the start-up check of the
//! task service's database, never opens a database connection. What the workers serve
//! is a [`Service`] ([`Master::run_service`]); [`Master::run`] picks a built-in one by
//! `--app` (`apps`). Its loop is a runbook:
//!
//! 1. wait for signals (or a tick), and handle each one;
//! 2. kill workers whose heartbeat went silent ([`Config::timeout`]);
//! 3. give every slot that lacks a worker a new one (with crash-loop backoff).
//!
//! The pieces live in `spawn` (fork, and what the child does before `worker::boot`),
//! `foreground` (`--no-fork`: one worker in this very process, for profilers),
//! `logs` (`--access-log` reopened on `USR1`),
//! `reap` (exits, backoff, hung workers), `scale` (HUP, TTIN, TTOU) and `steer`
//! (which listener gets new connections while the pool shrinks).

mod announce;
mod apps;
mod backoff;
mod cpu;
mod database;
mod error;
mod foreground;
mod group;
mod jitter;
mod listen;
mod logs;
pub mod pidfile;
mod reap;
mod scale;
mod spawn;
mod steer;
mod successor;
mod upgrade;

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use pgtmp::Cluster;

use crate::access_log::LogFile;
use crate::config::{AcceptMode, Config};
use crate::listener::Listener;
use crate::net;
use crate::privileges::RunAs;
use crate::scoreboard::{Cell, Scoreboard, DEFAULT_CAPACITY};
use crate::service::Service;
use crate::signals::{self, MasterSignals, SignalAction};
use crate::unix_socket::SocketFile;
use crate::worker::{App, EXIT_BOOT_FAILURE};
use announce::{count_workers, log_listening};
use apps::Prepared;
use backoff::Backoff;
use group::Group;
use jitter::XorShift;

pub use crate::tasks::db::mask_password;
pub use error::MasterError;

/// The longest the loop sleeps: how often hung workers and deadlines are checked.
const TICK: Duration = Duration::from_secs(1);
/// How long workers get to exit after SIGQUIT before they are killed.
const QUIT_GRACE: Duration = Duration::from_secs(1);

/// How to stop the workers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shutdown {
    /// SIGTERM: finish in-flight requests within `--graceful-timeout`.
    Graceful,
    /// SIGQUIT: exit now; SIGKILL after [`QUIT_GRACE`].
    Immediate,
}

/// A listener slot: where one worker accepts (or the shared listener's n-th worker).
struct Slot {
    /// This slot's own listener; `None` in shared mode, and once TTOU retired the slot.
    listener: Option<SlotSocket>,
    /// `false` once TTOU removed the slot: it gets no new worker and is forgotten once
    /// its last worker has exited. Active slots always form a prefix.
    active: bool,
    /// Set by TTOU: when to close our listener and tell the worker to stop, once new
    /// connections have been steered away from the slot for a while.
    retire_at: Option<Instant>,
    /// Crash-loop backoff before the next respawn.
    backoff: Backoff,
}

/// One slot's `SO_REUSEPORT` socket.
struct SlotSocket {
    socket: TcpListener,
    /// Its name in the [`Group`] model.
    serial: u64,
}

/// One forked worker process (one *incarnation* of a slot).
struct Worker {
    slot: usize,
    pid: Pid,
    /// Its scoreboard cell (heartbeat and `/stats` counters), live while it runs.
    cell: Cell,
    /// Serial of the slot socket it inherited (`None` in shared mode).
    socket: Option<u64>,
    started_at: Instant,
    /// Set once it was told to stop (reload, TTOU): it no longer counts as its slot's
    /// worker, and is killed if still alive at this deadline.
    retiring: Option<Instant>,
    /// It has been sent SIGKILL; do not kill (or log) it again.
    killed: bool,
}

/// The master process.
pub struct Master {
    config: Config,
    /// What every worker serves.
    app: App,
    /// The private cluster, if the master started or reused it: dropping it stops a
    /// cluster this process started, so it lives exactly as long as the master.
    cluster: Option<Cluster>,
    /// `--pid FILE` (moved aside during an upgrade), removed when the master is dropped.
    pid_file: Option<pidfile::PidFile>,
    /// The binary and arguments a `USR2` starts.
    relaunch: successor::Relaunch,
    /// The new master a `USR2` started, while it runs.
    successor: Option<successor::Successor>,
    /// `WINCH` stopped the workers: none is started until `HUP`.
    parked: bool,
    pid: Pid,
    /// The primary TCP address, resolved (port 0 already replaced by the real port);
    /// `None` when every `--bind` is a Unix socket.
    addr: Option<SocketAddr>,
    slots: Vec<Slot>,
    /// The primary address's one listener in `--accept shared` mode.
    shared: Option<TcpListener>,
    /// Every other listener (further `--bind`s, Unix sockets): every worker accepts on
    /// all of them.
    also: Vec<Listener>,
    /// Unix socket files to remove at exit (left alone when a new master took them over).
    socket_files: Vec<SocketFile>,
    /// `--access-log`: the open file every worker inherits (reopened on `USR1`).
    access_log: Option<LogFile>,
    /// The order of the slots' sockets in the kernel's reuseport group.
    group: Group,
    /// Whether new connections can be steered between slots (reuseport mode, and the
    /// kernel accepted the program).
    steering: bool,
    workers: Vec<Worker>,
    scoreboard: Scoreboard,
    /// `None` only in a freshly forked child, which has released it.
    signals: Option<MasterSignals>,
    jitter: XorShift,
    /// A worker exited with [`EXIT_BOOT_FAILURE`]: stop everything.
    boot_failed: bool,
    /// Shutting down: exits are no longer respawned nor treated as failures.
    stopping: bool,
}

impl Master {
    /// Runs the master for the built-in service `--app` names until it is told to stop;
    /// returns the process exit code (0 after a stop by signal, [`EXIT_BOOT_FAILURE`]
    /// when workers cannot boot). With `--no-fork` the one worker runs in this process
    /// instead (see `foreground`).
    pub fn run(config: Config) -> Result<i32, MasterError> {
        if config.init_db {
            print_warnings(&config);
            return database::init(&config).map(|()| 0);
        }
        Self::run_prepared(config, apps::prepare)
    }

    /// [`Master::run`] for a service of your own (see `examples/`): the same master,
    /// workers, signals and flags; `--app`, `--database-url` and `--init-db` are the
    /// built-in services' business and are ignored.
    pub fn run_service<S: Service>(config: Config, service: S) -> Result<i32, MasterError> {
        Self::run_prepared(config, move |_| {
            Ok(Prepared::without_cluster(App::new(service)))
        })
    }

    /// Runs the master (or `--no-fork`'s one worker) for what `prepare` provides.
    fn run_prepared(
        config: Config,
        prepare: impl FnOnce(&Config) -> Result<Prepared, MasterError>,
    ) -> Result<i32, MasterError> {
        print_warnings(&config);
        // First, before any descriptor is opened or closed: descriptors 3, 4, … may be
        // listening sockets passed to us (systemd socket activation).
        let passed = crate::activation::take_listeners()?;
        let upgraded = successor::announce_takeover();
        if config.no_fork {
            return foreground::run(config, (passed, upgraded), prepare);
        }
        let mut master = Master::start(config, (passed, upgraded), prepare)?;
        let pid = master.pid;
        let code = master.serve()?;
        // Drop before the last line: a private cluster started here is stopped now.
        drop(master);
        crate::say!("prefork: master pid {pid} exiting with status {code}");
        Ok(code)
    }

    /// Everything before the first fork: signals, listeners, shared memory, the service
    /// (`prepare`: the task service resolves and checks its database here).
    fn start(
        mut config: Config,
        (passed, upgraded): (Vec<Listener>, bool),
        prepare: impl FnOnce(&Config) -> Result<Prepared, MasterError>,
    ) -> Result<Master, MasterError> {
        // First: workers inherit it, and a low soft limit could fail the binds below.
        let descriptors = net::raise_descriptor_limit(&config);
        if let Some(run_as) = &config.run_as {
            run_as.check_possible()?;
        }
        let signals = MasterSignals::install().map_err(MasterError::Signals)?;
        // Before binding anything: a log the master cannot open is a configuration error.
        let access_log = config.access_log.clone().map(LogFile::open).transpose()?;
        let workers = config.workers;
        let listening = listen::listen(&mut config, workers, passed, upgraded)?;
        let pid_file = match &config.pid_file {
            Some(path) => Some(pidfile::PidFile::create(path, std::process::id())?),
            None => None,
        };
        let scoreboard = Scoreboard::new(DEFAULT_CAPACITY).map_err(MasterError::Scoreboard)?;
        let Prepared { app, cluster } = prepare(&config)?;
        config.run_as = workers_account(config.run_as.take(), &app)?;
        let mut group = Group::default();
        let (slots, shared) = make_slots(listening.primary, &config, &mut group);
        log_listening(listening.addr, &listening.shared, &config, &descriptors);
        Ok(Master {
            app,
            cluster,
            pid_file,
            relaunch: successor::Relaunch::current(),
            successor: None,
            parked: false,
            pid: nix::unistd::getpid(),
            addr: listening.addr,
            slots,
            shared,
            also: listening.shared,
            socket_files: listening.files,
            access_log,
            group,
            steering: config.accept == AcceptMode::Reuseport && listening.addr.is_some(),
            workers: Vec::new(),
            scoreboard,
            signals: Some(signals),
            jitter: XorShift::seeded(),
            boot_failed: false,
            stopping: false,
            config,
        })
    }

    /// The main loop (Gunicorn's `Arbiter.run`); returns the exit code.
    fn serve(&mut self) -> Result<i32, MasterError> {
        self.manage_workers();
        loop {
            for action in self.wait_for_signals(self.sleep_time())? {
                match action {
                    SignalAction::Reap => {
                        self.reap_workers();
                        self.reap_successor();
                    }
                    SignalAction::Graceful => return self.stop(Shutdown::Graceful).map(|()| 0),
                    SignalAction::Immediate => return self.stop(Shutdown::Immediate).map(|()| 0),
                    SignalAction::Reload if self.parked => self.unpark(),
                    SignalAction::Reload => self.reload(),
                    SignalAction::Upgrade => self.begin_upgrade(),
                    SignalAction::StopWorkers => self.park(),
                    SignalAction::ReopenLogs => self.reopen_logs(),
                    SignalAction::AddWorker => self.add_worker(),
                    SignalAction::RemoveWorker => self.remove_worker(),
                    SignalAction::Ignore(signal) => crate::say!(
                        "prefork: master got {}: prefork has no use for it; ignored",
                        signals::signal_name(signal)
                    ),
                }
            }
            if self.boot_failed {
                crate::say!("prefork: worker could not boot; see the error above. Stopping.");
                self.stop(Shutdown::Graceful)?;
                return Ok(EXIT_BOOT_FAILURE);
            }
            self.kill_stale_workers();
            self.manage_workers();
        }
    }

    /// Retires the slots TTOU removed once their settle time is over, gives every
    /// active slot without a worker a new one once its backoff allows, then forgets
    /// removed slots whose workers are all gone.
    fn manage_workers(&mut self) {
        self.retire_removed_slots();
        let now = Instant::now();
        for slot in 0..self.slots.len() {
            let wanted =
                !self.parked && self.slots[slot].active && self.slots[slot].backoff.is_due(now);
            if wanted && self.current_worker(slot).is_none() {
                self.spawn_worker(slot);
            }
        }
        while let Some(last) = self.slots.last() {
            let index = self.slots.len() - 1;
            if last.active || self.workers.iter().any(|w| w.slot == index) {
                break;
            }
            // Its worker has drained: the slot number is free again.
            self.slots.pop();
        }
    }

    /// Stops every worker, and returns once all of them have been reaped.
    fn stop(&mut self, how: Shutdown) -> Result<(), MasterError> {
        self.stopping = true;
        // Nothing new should queue on sockets no worker will accept from again.
        self.slots.iter_mut().for_each(|slot| slot.listener = None);
        self.shared = None;
        self.also.clear();
        if self.successor.is_some() {
            // A binary upgrade's new master serves on them now.
            self.socket_files.iter_mut().for_each(SocketFile::keep);
        }
        let (signal, grace) = match how {
            Shutdown::Graceful => (Signal::SIGTERM, self.config.graceful_timeout),
            Shutdown::Immediate => (Signal::SIGQUIT, QUIT_GRACE),
        };
        crate::say!(
            "prefork: stopping {} ({signal})",
            count_workers(self.workers.len())
        );
        self.signal_workers(signal);
        let deadline = Instant::now() + grace;
        while !self.workers.is_empty() && Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            let actions = self.wait_for_signals(left.min(TICK / 10))?;
            // A second, more impatient request (QUIT during a graceful stop) wins.
            if how == Shutdown::Graceful && actions.contains(&SignalAction::Immediate) {
                return self.stop(Shutdown::Immediate);
            }
            self.reap_workers();
        }
        self.kill_remaining_workers();
        Ok(())
    }

    /// Sends `signal` to every worker (errors mean it is already gone: ignored).
    fn signal_workers(&self, signal: Signal) {
        for worker in &self.workers {
            let _ = kill(worker.pid, signal);
        }
    }

    /// The slot's serving worker: the one not told to stop. At most one per slot.
    fn current_worker(&self, slot: usize) -> Option<Pid> {
        let current = |w: &&Worker| w.slot == slot && w.retiring.is_none();
        self.workers.iter().find(current).map(|w| w.pid)
    }

    /// Number of active slots, i.e. the worker count asked for.
    fn active_slots(&self) -> usize {
        self.slots.iter().filter(|slot| slot.active).count()
    }

    /// How long the loop may sleep: a tick, or less if a respawn or a retirement is
    /// due sooner.
    fn sleep_time(&self) -> Duration {
        let now = Instant::now();
        let active = self.slots.iter().filter(|s| s.active);
        let respawns = active.filter_map(|s| s.backoff.due_in(now));
        let retirements = self.slots.iter().filter_map(|s| s.retire_at);
        let retirements = retirements.map(|at| at.saturating_duration_since(now));
        respawns.chain(retirements).fold(TICK, Duration::min)
    }

    fn wait_for_signals(&mut self, timeout: Duration) -> Result<Vec<SignalAction>, MasterError> {
        let signals = self
            .signals
            .as_mut()
            .expect("the master keeps its signal queue");
        signals.wait(timeout).map_err(MasterError::Signals)
    }
}

/// Who the workers run as: `--user` if given; started as root without it, the
/// unprivileged default (never root unless asked for with `--user root`); else
/// whoever we are.
fn workers_account(given: Option<RunAs>, app: &App) -> Result<Option<RunAs>, MasterError> {
    if given.is_some() || !nix::unistd::Uid::effective().is_root() {
        return Ok(given);
    }
    let run_as = RunAs::unprivileged_default(app.reaches())?;
    crate::say!(
        "prefork: workers run as {} (uid {}), not root: pass --user root to keep root, or --user NAME",
        run_as.user,
        run_as.uid
    );
    Ok(Some(run_as))
}

/// The configuration's warnings, one line each.
fn print_warnings(config: &Config) {
    for warning in &config.warnings {
        crate::say!("prefork: warning: {warning}");
    }
}

/// Turns the bound listeners into slots: one listener per slot (recorded in `group`
/// in the order they were bound), or one shared.
fn make_slots(
    listeners: Vec<TcpListener>,
    config: &Config,
    group: &mut Group,
) -> (Vec<Slot>, Option<TcpListener>) {
    match config.accept {
        AcceptMode::Reuseport => {
            let slot = |socket| {
                Slot::new(Some(SlotSocket {
                    socket,
                    serial: group.joined(),
                }))
            };
            (listeners.into_iter().map(slot).collect(), None)
        }
        AcceptMode::Shared => {
            let slots = (0..config.workers).map(|_| Slot::new(None)).collect();
            (slots, listeners.into_iter().next())
        }
    }
}

impl Slot {
    fn new(listener: Option<SlotSocket>) -> Slot {
        Slot {
            listener,
            active: true,
            retire_at: None,
            backoff: Backoff::default(),
        }
    }
}

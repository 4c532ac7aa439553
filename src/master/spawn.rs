//! Forking a worker: what the master prepares before `fork`, and what the child does
//! between `fork` and [`worker::boot`].

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::{ForkResult, Pid};

use super::cpu::pin_worker;
use super::{Master, Worker};
use crate::access_log::AccessLog;
use crate::listener::Listener;
use crate::scoreboard::Cell;
use crate::sys;
use crate::unix_socket::SocketFile;
use crate::worker::{self, WorkerSpec, EXIT_BOOT_FAILURE};

/// Exit code of a child that panicked before or during `boot` (Rust's panic code);
/// the master treats it as a crash.
const EXIT_PANIC: i32 = 101;

impl Master {
    /// Forks a worker for `slot` and records it; returns its pid. On failure the error
    /// is logged and the slot is retried later, with backoff.
    pub(super) fn spawn_worker(&mut self, slot: usize) -> Option<Pid> {
        let Some(cell) = self.scoreboard.allocate() else {
            self.spawn_failed(slot, "every scoreboard cell is in use".into());
            return None;
        };
        let spec = self.worker_spec(slot, cell);
        match spec.and_then(|spec| self.fork_worker(spec, cell)) {
            Ok(pid) => {
                // The child marks the cell too: whichever of us runs first shows it live.
                self.scoreboard.occupy(cell, slot, pid.as_raw() as u32);
                let socket = self.slots[slot].listener.as_ref().map(|l| l.serial);
                let started_at = Instant::now();
                let (retiring, killed) = (None, false);
                let worker = Worker {
                    slot,
                    pid,
                    cell,
                    socket,
                    started_at,
                    retiring,
                    killed,
                };
                self.workers.push(worker);
                self.slots[slot].backoff.started();
                crate::say!("prefork: worker {slot} pid {pid} started");
                Some(pid)
            }
            Err(e) => {
                self.scoreboard.release(cell);
                self.spawn_failed(slot, e.to_string());
                None
            }
        }
    }

    /// Logs why a worker could not be started; the slot retries after a backoff.
    fn spawn_failed(&mut self, slot: usize, reason: String) {
        crate::say!("prefork: cannot start worker {slot}: {reason}");
        self.slots[slot]
            .backoff
            .crashed(Duration::ZERO, Instant::now());
    }

    /// The plain data the child needs (Gunicorn: "called pre-fork"). The listener is a
    /// duplicate of the slot's (or the shared) socket; the master keeps the original.
    fn worker_spec(&mut self, slot: usize, cell: Cell) -> io::Result<WorkerSpec> {
        // The slot's own socket (or the primary shared one; none without a TCP
        // address), then every listener all workers share.
        let primary = match (&self.shared, &self.slots[slot].listener) {
            (Some(shared), _) => Some(shared),
            (None, Some(own)) => Some(&own.socket),
            (None, None) => None,
        };
        let mut listeners = Vec::with_capacity(1 + self.also.len());
        if let Some(primary) = primary {
            listeners.push(Listener::Tcp(primary.try_clone()?));
        }
        for also in &self.also {
            listeners.push(also.try_clone()?);
        }
        let jitter = self.jitter.up_to(self.config.max_requests_jitter);
        Ok(WorkerSpec {
            slot,
            listeners,
            config: self.config.clone(),
            max_requests: self.config.max_requests.map(|n| n.saturating_add(jitter)),
            heartbeat: self.scoreboard.heartbeat(cell),
            counters: self.scoreboard.counters(cell),
            board: self.scoreboard.board(),
            access_log: match &self.access_log {
                Some(log) => log.for_worker(slot)?,
                None => AccessLog::off(),
            },
        })
    }

    /// Forks with every signal blocked, so that none of the master's handlers runs in
    /// the child; the parent restores its mask (and drops its copy of the spec).
    fn fork_worker(&mut self, spec: WorkerSpec, cell: Cell) -> io::Result<Pid> {
        let mask = sys::block_all_signals()?;
        match sys::fork() {
            Ok(ForkResult::Child) => self.become_worker(spec, cell),
            Ok(ForkResult::Parent { child }) => {
                sys::restore_signal_mask(&mask)?;
                Ok(child)
            }
            Err(e) => {
                sys::restore_signal_mask(&mask)?;
                Err(e.into())
            }
        }
    }

    /// The child's side of fork: shed what belongs to the master, make sure the
    /// worker dies with the master, and hand over to [`worker::boot`] (which installs
    /// its own signal handling and unblocks signals). Never returns.
    fn become_worker(&mut self, spec: WorkerSpec, cell: Cell) -> ! {
        // A panic must not unwind into the master's frames in the child: dropping their
        // values (the cluster handle, above all) is the master's business, not ours.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            // Live in /stats from the start, even before the master's own store.
            self.scoreboard.occupy(cell, spec.slot, std::process::id());
            self.shed_master_state();
            // Before the parent-death signal: a change of identity clears it.
            if let Some(run_as) = &spec.config.run_as {
                if let Err(e) = run_as.switch() {
                    crate::say!("prefork: worker {}: {e}", spec.slot);
                    sys::exit_immediately(EXIT_BOOT_FAILURE);
                }
            }
            if let Err(e) = sys::set_parent_death_signal(Signal::SIGKILL) {
                crate::say!(
                    "prefork: worker {}: cannot set the parent-death signal: {e}",
                    spec.slot
                );
            }
            // The master may have died before the line above took effect.
            if sys::getppid() != self.pid {
                sys::exit_immediately(0);
            }
            if spec.config.pin_cpus {
                pin_worker(spec.slot);
            }
            worker::boot(spec, &self.app)
        }));
        sys::exit_immediately(EXIT_PANIC)
    }

    /// In the child: drops the master's signal registration and every listener (the
    /// spec holds this worker's own duplicate), and forgets the cluster handle.
    fn shed_master_state(&mut self) {
        if let Some(signals) = self.signals.take() {
            signals.release();
        }
        self.slots.clear();
        self.shared = None;
        self.also.clear();
        // The master's to remove, never a worker's.
        self.socket_files.iter_mut().for_each(SocketFile::keep);
        self.socket_files.clear();
        self.workers.clear();
        // The master owns the private cluster; a worker must never stop it.
        if let Some(cluster) = self.cluster.take() {
            std::mem::forget(cluster);
        }
    }
}

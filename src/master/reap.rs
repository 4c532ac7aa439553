//! Collecting exited workers, deciding how soon a slot may get a new one, and killing
//! workers that hang.

use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};

use super::{Master, Worker};
use crate::worker::EXIT_BOOT_FAILURE;

/// A worker that dies younger than this crashed "at once": its slot waits before the
/// next try, so a worker that cannot run does not fork in a tight loop.
const QUICK_CRASH: Duration = Duration::from_secs(1);
/// First wait after a quick crash; doubled on each further one.
const FIRST_DELAY: Duration = Duration::from_millis(100);
/// The longest wait between two tries.
const MAX_DELAY: Duration = Duration::from_secs(5);

/// Crash-loop backoff of one slot.
#[derive(Debug, Default)]
pub(super) struct Backoff {
    /// The current wait; zero while the slot is healthy.
    delay: Duration,
    /// No respawn before this instant.
    not_before: Option<Instant>,
}

impl Backoff {
    /// Records a crash of a worker that lived `lifetime`.
    pub(super) fn crashed(&mut self, lifetime: Duration, now: Instant) {
        if lifetime >= QUICK_CRASH {
            // It ran for a while: an ordinary crash, replace it at once.
            *self = Backoff::default();
            return;
        }
        self.delay = (self.delay * 2).clamp(FIRST_DELAY, MAX_DELAY);
        self.not_before = Some(now + self.delay);
    }

    /// Records that the slot got a worker: the scheduled try is used up (the delay is
    /// kept, so that another quick crash waits twice as long).
    pub(super) fn started(&mut self) {
        self.not_before = None;
    }

    /// Records a clean exit (recycled by --max-requests): no penalty.
    pub(super) fn reset(&mut self) {
        *self = Backoff::default();
    }

    /// Whether a new worker may be started now.
    pub(super) fn is_due(&self, now: Instant) -> bool {
        self.not_before.is_none_or(|at| now >= at)
    }

    /// Time left before the next try, if one is scheduled.
    pub(super) fn due_in(&self, now: Instant) -> Option<Duration> {
        self.not_before.map(|at| at.saturating_duration_since(now))
    }
}

/// How a worker ended, from `waitpid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exit {
    Code(i32),
    Signal(Signal),
}

impl Master {
    /// Collects every worker that has exited (Gunicorn's `reap_workers`).
    ///
    /// Waits on each worker's own pid rather than on -1: other children of this process
    /// (the private cluster's tools) belong to whoever started them.
    pub(super) fn reap_workers(&mut self) {
        let pids: Vec<_> = self.workers.iter().map(|w| w.pid).collect();
        for pid in pids {
            match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(_, code)) => self.worker_exited(pid, Exit::Code(code)),
                Ok(WaitStatus::Signaled(_, signal, _)) => {
                    self.worker_exited(pid, Exit::Signal(signal))
                }
                // Still running (or merely stopped/continued).
                Ok(_) => {}
                // Not our child any more: someone else reaped it; forget it.
                Err(Errno::ECHILD) => self.worker_exited(pid, Exit::Code(-1)),
                Err(e) => crate::say!("prefork: waitpid({pid}) failed: {e}"),
            }
        }
    }

    /// Forgets an exited worker and decides what its exit means for its slot.
    fn worker_exited(&mut self, pid: nix::unistd::Pid, exit: Exit) {
        let Some(index) = self.workers.iter().position(|w| w.pid == pid) else {
            return;
        };
        let worker = self.workers.swap_remove(index);
        self.scoreboard.release(worker.cell);
        log_exit(&worker, exit);
        if self.stopping {
            return;
        }
        self.socket_closed(worker.socket);
        // A worker that was told to stop has been replaced already (or its slot is
        // going away): its exit says nothing about the slot's health.
        if worker.retiring.is_some() {
            return;
        }
        let backoff = &mut self.slots[worker.slot].backoff;
        match exit {
            Exit::Code(EXIT_BOOT_FAILURE) => self.boot_failed = true,
            Exit::Code(0) => backoff.reset(),
            _ => backoff.crashed(worker.started_at.elapsed(), Instant::now()),
        }
    }

    /// Kills workers whose heartbeat is older than `--timeout`, and retiring workers
    /// still alive after `--graceful-timeout` (Gunicorn's `murder_workers`). They are
    /// reaped, and replaced, like any crashed worker.
    pub(super) fn kill_stale_workers(&mut self) {
        let now = Instant::now();
        for worker in self.workers.iter_mut().filter(|w| !w.killed) {
            let age = self.scoreboard.age(worker.cell);
            let hung = self.config.timeout.is_some_and(|timeout| age > timeout);
            let overdue = worker.retiring.is_some_and(|deadline| now >= deadline);
            if hung {
                crate::say!(
                    "prefork: worker {} pid {} timed out, killing",
                    worker.slot,
                    worker.pid
                );
            } else if overdue {
                crate::say!(
                    "prefork: worker {} pid {} did not stop within the graceful timeout, killing",
                    worker.slot,
                    worker.pid
                );
            }
            if hung || overdue {
                let _ = kill(worker.pid, Signal::SIGKILL);
                worker.killed = true;
            }
        }
    }

    /// Sends SIGKILL to every worker still alive and waits for each of them.
    pub(super) fn kill_remaining_workers(&mut self) {
        self.signal_workers(Signal::SIGKILL);
        for worker in std::mem::take(&mut self.workers) {
            let exit = loop {
                match waitpid(worker.pid, None) {
                    Ok(WaitStatus::Exited(_, code)) => break Exit::Code(code),
                    Ok(WaitStatus::Signaled(_, signal, _)) => break Exit::Signal(signal),
                    Err(Errno::EINTR) | Ok(_) => continue,
                    Err(_) => break Exit::Signal(Signal::SIGKILL),
                }
            };
            self.scoreboard.release(worker.cell);
            log_exit(&worker, exit);
        }
    }
}

fn log_exit(worker: &Worker, exit: Exit) {
    let (slot, pid) = (worker.slot, worker.pid);
    match exit {
        Exit::Code(code) => {
            crate::say!("prefork: worker {slot} pid {pid} exited with status {code}")
        }
        Exit::Signal(signal) => {
            crate::say!(
                "prefork: worker {slot} pid {pid} killed by signal {}",
                signal.as_str()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Quick crashes double the wait from 100 ms up to 5 s.
    #[test]
    fn quick_crashes_back_off_exponentially() {
        let now = Instant::now();
        let mut backoff = Backoff::default();
        let mut delays = Vec::new();
        for _ in 0..8 {
            backoff.crashed(Duration::from_millis(10), now);
            delays.push(backoff.due_in(now).unwrap().as_millis());
        }
        assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert!(!backoff.is_due(now));
        assert!(backoff.is_due(now + MAX_DELAY));
    }

    /// A crash after a long run, or a clean recycle, respawns at once.
    #[test]
    fn long_lived_crash_and_clean_exit_reset_backoff() {
        let now = Instant::now();
        let mut backoff = Backoff::default();
        backoff.crashed(Duration::ZERO, now);
        backoff.crashed(QUICK_CRASH, now);
        assert!(backoff.is_due(now));
        assert_eq!(backoff.due_in(now), None);
        backoff.crashed(Duration::ZERO, now);
        backoff.reset();
        assert!(backoff.is_due(now));
    }
}

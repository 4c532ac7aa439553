//! Collecting exited workers, deciding how soon a slot may get a new one, and killing
//! workers that hang.

use std::time::Instant;

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};

use super::{Master, Worker};
use crate::worker::EXIT_BOOT_FAILURE;

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

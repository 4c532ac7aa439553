//! Changing the set of workers while serving: rolling restart (HUP), one worker more
//! (TTIN), one worker less (TTOU).

use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::steer::STEER_SETTLE;
use super::{Master, Slot, SlotSocket};
use crate::config::AcceptMode;
use crate::net;

impl Master {
    /// HUP: replaces every worker, slot by slot: the new worker is forked first, then
    /// the old one is told to drain. The slot's listener stays open in the master the
    /// whole time, so connections queue until the new worker accepts: none is refused.
    pub(super) fn reload(&mut self) {
        crate::say!("prefork: reloading: replacing every worker");
        for slot in 0..self.slots.len() {
            if !self.slots[slot].active {
                continue;
            }
            let old = self.current_worker(slot);
            // If the fork fails the old worker keeps serving; the next HUP retries.
            if self.spawn_worker(slot).is_some() {
                old.into_iter().for_each(|pid| self.retire(pid));
            }
        }
    }

    /// TTIN: one worker more. A slot that TTOU removed but whose worker was not told to
    /// stop yet is simply taken back; otherwise a slot is added (or a drained one
    /// reused) with a new listener on the same port in reuseport mode.
    pub(super) fn add_worker(&mut self) {
        let active = self.active_slots();
        if self
            .slots
            .get(active)
            .is_some_and(|s| s.retire_at.is_some())
        {
            let slot = &mut self.slots[active];
            (slot.active, slot.retire_at) = (true, None);
        } else {
            let listener = match self.new_listener() {
                Ok(listener) => listener,
                Err(e) => return crate::say!("prefork: cannot add a worker: cannot listen: {e}"),
            };
            // A removed slot's number is reused even while its old worker drains.
            match self.slots.get_mut(active) {
                Some(removed) => *removed = Slot::new(listener),
                None => self.slots.push(Slot::new(listener)),
            }
        }
        self.steer();
        crate::say!("prefork: workers: {}", active + 1);
        // manage_workers() forks the worker at the end of this loop iteration.
    }

    /// TTOU: one worker less, never below one. New connections are steered away from
    /// the highest slot at once; after [`STEER_SETTLE`] its worker is told to drain
    /// (see `retire_removed_slots`).
    pub(super) fn remove_worker(&mut self) {
        let active = self.active_slots();
        if active <= 1 {
            return crate::say!("prefork: already at one worker; TTOU ignored");
        }
        let slot = active - 1;
        self.slots[slot].active = false;
        let settle = if self.steer() {
            STEER_SETTLE
        } else {
            Duration::ZERO
        };
        self.slots[slot].retire_at = Some(Instant::now() + settle);
        crate::say!("prefork: workers: {}", active - 1);
    }

    /// For each slot TTOU removed whose settle time is over: closes the master's copy
    /// of its listener (the socket leaves the group when the worker closes its own) and
    /// tells its worker to drain.
    pub(super) fn retire_removed_slots(&mut self) {
        let now = Instant::now();
        for slot in 0..self.slots.len() {
            if self.slots[slot].retire_at.is_none_or(|at| now < at) {
                continue;
            }
            self.slots[slot].retire_at = None;
            let listener = self.slots[slot].listener.take();
            if let Some(pid) = self.current_worker(slot) {
                self.retire(pid);
            }
            self.socket_closed(listener.map(|l| l.serial));
        }
    }

    /// Tells a worker to finish its in-flight requests and exit (SIGTERM); it is
    /// killed if still alive after `--graceful-timeout`.
    pub(super) fn retire(&mut self, pid: Pid) {
        let deadline = Instant::now() + self.config.graceful_timeout;
        if let Some(worker) = self.workers.iter_mut().find(|w| w.pid == pid) {
            worker.retiring = Some(deadline);
            let _ = kill(pid, Signal::SIGTERM);
        }
    }

    /// A listener for a new slot: `None` in shared mode, where every worker uses one.
    fn new_listener(&mut self) -> std::io::Result<Option<SlotSocket>> {
        let Some(addr) = self
            .addr
            .filter(|_| self.config.accept == AcceptMode::Reuseport)
        else {
            return Ok(None);
        };
        let socket = net::bind_one(addr, self.config.backlog)?;
        Ok(Some(SlotSocket {
            socket,
            serial: self.group.joined(),
        }))
    }
}

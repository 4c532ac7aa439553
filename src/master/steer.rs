//! Steering new connections away from a slot before its worker is retired (TTOU).
//!
//! A socket that leaves an `SO_REUSEPORT` group resets every connection still queued
//! on it, and the kernel keeps queueing new ones on it until it is closed. So TTOU
//! first attaches a BPF program that sends new connections only to the active slots'
//! sockets, waits [`STEER_SETTLE`] for handshakes already under way to land and be
//! accepted, and only then tells the worker to stop. The program names sockets by
//! their position in the group, so the master keeps a model of that order ([`Group`]).

use std::time::Duration;

use super::Master;
use crate::net;

/// Time between steering new connections away from a slot and telling its worker to
/// stop: enough for handshakes that started before to complete and be accepted.
pub(super) const STEER_SETTLE: Duration = Duration::from_secs(1);

impl Master {
    /// Points new connections at the active slots' sockets only. Returns whether
    /// steering is in effect (never in shared mode, nor after the kernel refused it).
    pub(super) fn steer(&mut self) -> bool {
        if !self.steering {
            return false;
        }
        let active = self.slots.iter().filter(|s| s.active);
        let listeners: Vec<_> = active.filter_map(|s| s.listener.as_ref()).collect();
        let serials: Vec<u64> = listeners.iter().map(|l| l.serial).collect();
        let Some(first) = listeners.first() else {
            return false;
        };
        match net::steer(&first.socket, &self.group.positions(&serials)) {
            Ok(()) => true,
            Err(e) => {
                crate::say!("prefork: cannot steer connections between slots ({e}); TTOU may reset queued connections");
                self.steering = false;
                false
            }
        }
    }

    /// Notes that one descriptor of socket `serial` was closed (the master's, or a
    /// worker's by its exit). When no one holds the socket any more it has left the
    /// group, which reorders the group, so the program is rebuilt.
    pub(super) fn socket_closed(&mut self, serial: Option<u64>) {
        let Some(serial) = serial else { return };
        let in_slot = self
            .slots
            .iter()
            .any(|s| s.listener.as_ref().is_some_and(|l| l.serial == serial));
        let in_worker = self.workers.iter().any(|w| w.socket == Some(serial));
        if !in_slot && !in_worker {
            self.group.left(serial);
            self.steer();
        }
    }
}

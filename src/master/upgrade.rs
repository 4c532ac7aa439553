//! Replacing the binary without dropping a connection (nginx's "upgrading executable on
//! the fly", Gunicorn's USR2), and stopping the workers while keeping the master.
//!
//! 1. `USR2`: the master starts the binary on disk with its own arguments, handing it
//!    the listening sockets as socket activation does (`LISTEN_FDS`; descriptors 3, 4,
//!    … — see [`crate::activation`]). The new master adopts them instead of binding
//!    and starts its workers: both generations now accept on the same sockets. The
//!    pid file (`--pid FILE`) moves to `FILE.oldbin` so the new master can take `FILE`.
//! 2. `WINCH` to the old master: its workers finish what they have and exit; it keeps
//!    running, without workers, holding its copy of the sockets.
//! 3. `QUIT` or `TERM` to the old master: it exits. Or, to go back, `HUP` it: its
//!    workers start again, and the new master can be stopped.
//!
//! If the new master exits on its own (the binary is broken, its workers cannot boot),
//! the old master says so, takes its pid file back, and — if `WINCH` had stopped its
//! workers — starts them again: a failed upgrade never leaves nobody serving.

use std::process::Command;

use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::successor::{Successor, UPGRADED_FROM};
use super::Master;
use crate::activation::FIRST_FD;
use crate::config::AcceptMode;
use crate::sys;

impl Master {
    /// `USR2`: starts the binary on disk as a new master on this one's sockets.
    pub(super) fn begin_upgrade(&mut self) {
        if let Some(successor) = &self.successor {
            return crate::say!(
                "prefork: USR2 ignored: new master pid {} is running already (QUIT it to try again)",
                successor.pid
            );
        }
        if self.config.database_url.is_none() {
            return crate::say!(
                "prefork: USR2 ignored: a binary upgrade needs --database-url (the private cluster belongs to this master and stops with it)"
            );
        }
        let exe = match &self.relaunch.exe {
            Ok(exe) => exe.clone(),
            Err(e) => {
                return crate::say!("prefork: USR2 ignored: cannot tell which binary runs: {e}")
            }
        };
        let sockets = self.serving_sockets();
        let mut command = Command::new(&exe);
        command
            .args(&self.relaunch.args)
            .env("LISTEN_FDS", sockets.len().to_string())
            .env_remove("LISTEN_PID")
            .env_remove("LISTEN_FDNAMES")
            .env(UPGRADED_FROM, self.pid.to_string());
        if let Some(pid_file) = &mut self.pid_file {
            if let Err(e) = pid_file.step_aside() {
                crate::say!("prefork: cannot move the pid file aside ({e}); upgrading anyway");
            }
        }
        match sys::spawn_with_listeners(&mut command, FIRST_FD, &sockets) {
            Ok(child) => {
                let pid = Pid::from_raw(child.id() as i32);
                crate::say!(
                    "prefork: upgrade: new master pid {pid} started from {} on {} socket(s); \
                     once it serves, WINCH this master (pid {}) to stop its workers, then QUIT it \
                     (HUP it instead to go back)",
                    exe.display(),
                    sockets.len(),
                    self.pid
                );
                self.successor = Some(Successor { pid });
            }
            Err(e) => {
                self.take_pid_file_back();
                crate::say!(
                    "prefork: upgrade failed: cannot start {}: {e}",
                    exe.display()
                );
            }
        }
    }

    /// Collects the new master if it has exited: a failed upgrade, after which this
    /// master serves on as before (its workers started again if `WINCH` stopped them).
    pub(super) fn reap_successor(&mut self) {
        let Some(successor) = &self.successor else {
            return;
        };
        let pid = successor.pid;
        let how = match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => format!("exited with status {code}"),
            Ok(WaitStatus::Signaled(_, signal, _)) => format!("was killed by {signal}"),
            Ok(_) => return,
            Err(e) => format!("cannot be waited for ({e})"),
        };
        self.successor = None;
        // Before the line that says so: whoever reads the log finds the file back.
        self.take_pid_file_back();
        crate::say!(
            "prefork: upgrade failed: new master pid {pid} {how}; this master keeps serving"
        );
        if self.parked {
            self.unpark();
        }
    }

    /// `WINCH`: every worker finishes its in-flight requests and exits; none is
    /// started again until `HUP` (or a failed upgrade).
    pub(super) fn park(&mut self) {
        if self.parked {
            return;
        }
        self.parked = true;
        crate::say!(
            "prefork: stopping {} (WINCH); this master stays: HUP it to start them again, QUIT or TERM it to exit",
            super::announce::count_workers(self.workers.len())
        );
        let serving: Vec<Pid> = self
            .workers
            .iter()
            .filter(|w| w.retiring.is_none())
            .map(|w| w.pid)
            .collect();
        for pid in serving {
            self.retire(pid);
        }
    }

    /// Starts the workers `WINCH` stopped (the next loop iteration forks them).
    pub(super) fn unpark(&mut self) {
        self.parked = false;
        crate::say!("prefork: starting the workers again");
    }

    /// The sockets workers accept on now: the primary address's (in slot order), then
    /// every shared one.
    fn serving_sockets(&self) -> Vec<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        let primary: Vec<_> = match self.config.accept {
            AcceptMode::Shared => self.shared.iter().map(AsRawFd::as_raw_fd).collect(),
            AcceptMode::Reuseport => self
                .slots
                .iter()
                .filter(|slot| slot.active)
                .filter_map(|slot| slot.listener.as_ref())
                .map(|listener| listener.socket.as_raw_fd())
                .collect(),
        };
        let also = self.also.iter().map(AsRawFd::as_raw_fd);
        primary.into_iter().chain(also).collect()
    }

    /// After a failed upgrade: `FILE.oldbin` becomes `FILE` again.
    fn take_pid_file_back(&mut self) {
        if let Some(pid_file) = &mut self.pid_file {
            if let Err(e) = pid_file.take_back() {
                crate::say!("prefork: cannot move the pid file back ({e})");
            }
        }
    }
}

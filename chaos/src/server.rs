//! The prefork under test: started as the leader of its own process group with its
//! stderr in a log file, ready once it has logged its `listening on` line and
//! `GET /health` answers 200; stopped on every path (`Drop` included) by SIGTERM to the
//! group, then SIGKILL to the group after a grace period.

use std::fs::File;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

use crate::{procs, wire};

/// How long prefork may take to log its address and answer `/health`.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a SIGTERM'd prefork may take to stop before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(15);
/// How often readiness and exit are polled.
const POLL: Duration = Duration::from_millis(20);
/// The start of prefork's address line (src/master: `log_listening`).
const LISTENING: &str = "prefork: listening on http://";

/// Why prefork could not be brought up.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The program or its log file could not be opened.
    #[error("cannot start {what}: {source}")]
    Spawn {
        /// The program or file.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// It exited while we waited for it.
    #[error("prefork exited before it was ready ({status}); last lines of {log}:\n{tail}")]
    Exited {
        /// Its exit status.
        status: ExitStatus,
        /// Its log file.
        log: String,
        /// The end of the log.
        tail: String,
    },
    /// No address line, or no 200 from `/health`, in time.
    #[error("prefork not ready after {} s; last lines of {log}:\n{tail}", BOOT_TIMEOUT.as_secs())]
    NotReady {
        /// Its log file.
        log: String,
        /// The end of the log.
        tail: String,
    },
    /// Ctrl-C (or SIGTERM) arrived while waiting.
    #[error("interrupted while waiting for prefork")]
    Interrupted,
}

/// A running prefork master (and, through it, its workers).
pub struct Server {
    child: Child,
    log: PathBuf,
    exit: Option<ExitStatus>,
    stopped: bool,
}

impl Server {
    /// Starts `program args…` as a new process group, stdout and stderr to `log`.
    pub fn start(program: &Path, args: &[String], log: &Path) -> Result<Server, ServerError> {
        let spawn_err = |what: &Path| {
            let what = what.display().to_string();
            move |source| ServerError::Spawn { what, source }
        };
        let out = File::create(log).map_err(spawn_err(log))?;
        let err = out.try_clone().map_err(spawn_err(log))?;
        let child = Command::new(program)
            .args(args)
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Its own group: one signal reaches master and workers, and Ctrl-C at the
            // terminal reaches only us, so we stop it in order.
            .process_group(0)
            .spawn()
            .map_err(spawn_err(program))?;
        Ok(Server {
            child,
            log: log.to_path_buf(),
            exit: None,
            stopped: false,
        })
    }

    /// Waits for the address line in the log and a 200 from `/health`; returns the address.
    pub fn wait_ready(&mut self, interrupted: &AtomicBool) -> Result<SocketAddr, ServerError> {
        let deadline = Instant::now() + BOOT_TIMEOUT;
        loop {
            if interrupted.load(Ordering::Relaxed) {
                return Err(ServerError::Interrupted);
            }
            if let Some(status) = self.exit_status() {
                let (log, tail) = (self.log.display().to_string(), self.log_tail(15));
                return Err(ServerError::Exited { status, log, tail });
            }
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(addr) = text.lines().find_map(parse_listening) {
                if wire::healthy(addr, POLL * 50) {
                    return Ok(addr);
                }
            }
            if Instant::now() >= deadline {
                let (log, tail) = (self.log.display().to_string(), self.log_tail(15));
                return Err(ServerError::NotReady { log, tail });
            }
            std::thread::sleep(POLL);
        }
    }

    /// The master's pid (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The master's living children: its workers.
    pub fn workers(&self) -> Vec<u32> {
        procs::children(self.pid())
    }

    /// Sends `signal` to the master.
    pub fn signal(&self, signal: Signal) -> nix::Result<()> {
        kill(Pid::from_raw(self.pid() as i32), signal)
    }

    /// The master's exit status once it has exited (reaped on the first call that sees it).
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// The last `n` lines of prefork's log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// The log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// SIGTERM to the group (a graceful stop: in-flight requests finish), SIGKILL to
    /// the group after [`STOP_GRACE`] or once the master is gone, for any leftover.
    pub fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        let group = Pid::from_raw(self.pid() as i32);
        if self.exit_status().is_none() {
            let _ = killpg(group, Signal::SIGTERM);
            let deadline = Instant::now() + STOP_GRACE;
            while self.exit_status().is_none() && Instant::now() < deadline {
                std::thread::sleep(POLL);
            }
        }
        let _ = killpg(group, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The address in `prefork: listening on http://ADDR (N workers, …)`.
fn parse_listening(line: &str) -> Option<SocketAddr> {
    let rest = line.strip_prefix(LISTENING)?;
    rest.split_once(" (")?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The address is read from prefork's exact line; other lines are not it.
    #[test]
    fn listening_line() {
        let line = "prefork: listening on http://127.0.0.1:40123 (2 workers, mode evloop, accept reuseport)";
        assert_eq!(
            parse_listening(line),
            Some("127.0.0.1:40123".parse().unwrap())
        );
        assert_eq!(parse_listening("prefork: worker 0 pid 7 started"), None);
    }
}

//! A server process under test (or nginx): started in its own process group with its
//! output in a log file, ready when `GET /health` answers 200, stopped — on every path,
//! `Drop` included — by signalling the group and then every process of its tree.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

use crate::launch::Launch;
use crate::net;
use crate::procs;

/// How long a stopped server may take to exit after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(15);
/// How often readiness and exit are polled.
const POLL: Duration = Duration::from_millis(50);

/// Why a server could not be brought up.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The program could not be executed, or its log file not created.
    #[error("cannot start {what}: {source}")]
    Spawn {
        /// The command line or file.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// It exited while we waited for it to become ready.
    #[error("{name} exited before it was ready ({status}); last lines of {log}:\n{tail}")]
    Exited {
        /// The server's name.
        name: String,
        /// Its exit status.
        status: String,
        /// Its log file.
        log: String,
        /// The end of the log.
        tail: String,
    },
    /// The readiness path did not answer 200 in time.
    #[error(
        "{name} not ready after {secs} s (GET {path} on port {port}); last lines of {log}:\n{tail}"
    )]
    NotReady {
        /// The server's name.
        name: String,
        /// How long we waited.
        secs: u64,
        /// The port polled.
        port: u16,
        /// The path polled.
        path: String,
        /// Its log file.
        log: String,
        /// The end of the log.
        tail: String,
    },
    /// Ctrl-C (or SIGTERM) arrived.
    #[error("interrupted")]
    Interrupted,
}

/// A running server; stopped when dropped.
pub struct Server {
    name: String,
    child: Child,
    log: PathBuf,
    stopped: bool,
    /// SIGTERM-to-SIGKILL wait ([`STOP_GRACE`]; shorter in tests).
    grace: Duration,
}

impl Server {
    /// Starts `launch` as the leader of a new process group, output to `log`.
    pub fn start(name: &str, launch: &Launch, log: &Path) -> Result<Server, ServerError> {
        let spawn_err = |what: String| move |source| ServerError::Spawn { what, source };
        let out = File::create(log).map_err(spawn_err(log.display().to_string()))?;
        let err = out
            .try_clone()
            .map_err(spawn_err(log.display().to_string()))?;
        let mut cmd = Command::new(&launch.program);
        cmd.args(&launch.args)
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&launch.cwd)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Its own group: one signal reaches the server and its workers, and Ctrl-C at
            // the terminal reaches only us, so we stop it in order.
            .process_group(0);
        for name in &launch.unset {
            cmd.env_remove(name);
        }
        let child = cmd.spawn().map_err(spawn_err(launch.display()))?;
        Ok(Server {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
            stopped: false,
            grace: STOP_GRACE,
        })
    }

    /// The leader's pid (also the process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Polls `GET path` on `port` (`/health` for a server) until 200, the process exits,
    /// `timeout` passes or `interrupted` is set.
    pub fn wait_ready(
        &mut self,
        port: u16,
        path: &str,
        timeout: Duration,
        interrupted: &AtomicBool,
    ) -> Result<(), ServerError> {
        let deadline = Instant::now() + timeout;
        loop {
            if interrupted.load(Ordering::Relaxed) {
                return Err(ServerError::Interrupted);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                self.stopped = true;
                return Err(ServerError::Exited {
                    name: self.name.clone(),
                    status: status.to_string(),
                    log: self.log.display().to_string(),
                    tail: log_tail(&self.log, 15),
                });
            }
            if net::answers_200(port, path) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ServerError::NotReady {
                    name: self.name.clone(),
                    secs: timeout.as_secs(),
                    port,
                    path: path.to_string(),
                    log: self.log.display().to_string(),
                    tail: log_tail(&self.log, 15),
                });
            }
            std::thread::sleep(POLL);
        }
    }

    /// Stops the whole tree: SIGTERM to the group (each server stops its workers
    /// gracefully), then SIGKILL to the group and to every process of the tree that is
    /// left — PM2's fork-mode app lives in its own session, outside the group.
    pub fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        let tree: Vec<u32> = procs::tree(self.pid()).iter().map(|s| s.pid).collect();
        let group = Pid::from_raw(self.pid() as i32);
        let _ = killpg(group, Signal::SIGTERM);
        if self.wait_gone(&tree, self.grace) {
            return;
        }
        eprintln!(
            "bench: {} did not stop within {:?} of SIGTERM; killing its processes",
            self.name, self.grace
        );
        let _ = killpg(group, Signal::SIGKILL);
        for &pid in &tree {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
        self.wait_gone(&tree, Duration::from_secs(5));
    }

    /// Reaps the leader and waits until no process of `tree` is alive (zombies of other
    /// parents count as gone).
    fn wait_gone(&mut self, tree: &[u32], timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let leader_done = !matches!(self.child.try_wait(), Ok(None));
            let alive = tree
                .iter()
                .filter(|&&pid| pid != self.pid())
                .any(|&pid| procs::stat(pid).is_some_and(|s| s.state != 'Z'));
            if leader_done && !alive {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The last `n` lines of a log file (empty if unreadable).
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Launch {
        Launch {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            env: vec![],
            unset: vec![],
            cwd: std::env::temp_dir(),
        }
    }

    fn log_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("prefork-bench-{name}-{}.log", std::process::id()))
    }

    /// A server that dies at once is reported with its status and log.
    #[test]
    fn exits_early() {
        let log = log_path("early");
        let mut s = Server::start("dier", &sh("echo boom >&2; exit 7"), &log).unwrap();
        let port = net::free_port().unwrap();
        let err = s
            .wait_ready(
                port,
                "/health",
                Duration::from_secs(5),
                &AtomicBool::new(false),
            )
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("exit status: 7") && text.contains("boom"),
            "{text}"
        );
        let _ = std::fs::remove_file(log);
    }

    /// Stopping kills the whole tree, including a child that ignores SIGTERM.
    #[test]
    fn stop_kills_tree() {
        let log = log_path("tree");
        let script = "sh -c 'trap \"\" TERM; while :; do sleep 0.05; done' & wait";
        let mut s = Server::start("tree", &sh(script), &log).unwrap();
        s.grace = Duration::from_millis(300);
        let deadline = Instant::now() + Duration::from_secs(5);
        while procs::tree(s.pid()).len() < 2 && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
        let tree: Vec<u32> = procs::tree(s.pid()).iter().map(|p| p.pid).collect();
        assert!(tree.len() >= 2, "child started: {tree:?}");
        s.stop();
        for pid in tree {
            assert!(
                procs::stat(pid).is_none_or(|p| p.state == 'Z'),
                "{pid} alive"
            );
        }
        let _ = std::fs::remove_file(log);
    }
}

//! The throwaway PostgreSQL cluster (`pgtmp`) and the two database faults:
//! a fast restart, and a stall (the postmaster and every backend stopped, then resumed).

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use pgtmp::{Cluster, PgError};

use crate::procs;

/// Why a database fault could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum PgFaultError {
    /// pg_ctl (or the cluster's files) failed.
    #[error(transparent)]
    Cluster(#[from] PgError),
    /// `postmaster.pid` is missing or unreadable.
    #[error("no postmaster pid in {path}: {reason}")]
    NoPid {
        /// The pid file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// The postmaster could not be signalled.
    #[error("cannot SIGSTOP the postmaster: {0}")]
    Signal(nix::errno::Errno),
}

/// A fresh cluster; stopped when dropped (and deleted, unless [`Pg::keep_data`]).
pub struct Pg {
    cluster: Option<Cluster>,
}

/// Processes stopped by a stall; continued when dropped, on every path (a panic
/// included), so the cluster can always be shut down.
struct Stalled(Vec<Pid>);

impl Drop for Stalled {
    fn drop(&mut self) {
        // Backends first, the postmaster last: it may not fork while they are stopped.
        for &pid in self.0.iter().rev() {
            let _ = kill(pid, Signal::SIGCONT);
        }
    }
}

impl Pg {
    /// Replaces whatever cluster is in `dir` with a new one, started, with an empty table.
    pub fn fresh(dir: &Path) -> Result<Pg, PgError> {
        Ok(Pg {
            cluster: Some(Cluster::fresh(dir)?),
        })
    }

    fn cluster(&mut self) -> &mut Cluster {
        self.cluster.as_mut().expect("present until keep_data")
    }

    /// The connection string for prefork and for the check.
    pub fn url(&self) -> String {
        self.cluster.as_ref().map(Cluster::url).unwrap_or_default()
    }

    /// `pg_ctl stop -m fast` then `pg_ctl start -w`: every connection is dropped, and
    /// this returns once the server accepts connections again.
    pub fn restart(&mut self) -> Result<String, PgFaultError> {
        self.cluster().stop()?;
        self.cluster().start()?;
        Ok("pg_ctl stop -m fast, start -w".into())
    }

    /// SIGSTOPs the postmaster, then each of its children (backends and auxiliary
    /// processes), sleeps `length`, and SIGCONTs them all.
    pub fn stall(&mut self, length: Duration) -> Result<String, PgFaultError> {
        let postmaster = self.postmaster()?;
        let mut stalled = Stalled(vec![postmaster]);
        kill(postmaster, Signal::SIGSTOP).map_err(PgFaultError::Signal)?;
        for pid in procs::children(postmaster.as_raw() as u32) {
            let pid = Pid::from_raw(pid as i32);
            // A child that exited meanwhile is not an error.
            if kill(pid, Signal::SIGSTOP).is_ok() {
                stalled.0.push(pid);
            }
        }
        let processes = stalled.0.len();
        std::thread::sleep(length);
        drop(stalled);
        Ok(format!(
            "{processes} processes stopped for {} ms",
            length.as_millis()
        ))
    }

    /// The postmaster's pid, the first line of `postmaster.pid`.
    fn postmaster(&mut self) -> Result<Pid, PgFaultError> {
        let file = self.cluster().dir().join("postmaster.pid");
        let no_pid = |reason: String| PgFaultError::NoPid {
            path: file.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(&file).map_err(|e| no_pid(e.to_string()))?;
        let line = text.lines().next().unwrap_or("");
        let pid = line.trim().parse::<i32>();
        pid.map(Pid::from_raw)
            .map_err(|_| no_pid(format!("line 1 is {line:?}")))
    }

    /// Stops the server but leaves its data for inspection (after a failed run).
    pub fn keep_data(&mut self) -> Result<(), PgError> {
        let Some(cluster) = self.cluster.take() else {
            return Ok(());
        };
        let dir = cluster.dir().to_path_buf();
        cluster.keep();
        Cluster::open(dir)?.stop()
    }
}

//! Why a worker stops other than by being told to, and the exit status each means.

use std::io;

use crate::service::BootError;

/// Exit code of a worker that cannot boot because of its configuration (its service
/// refuses: the database rejects the credentials, or the database or table is
/// missing): the master stops instead of respawning it forever. Also the master's own
/// exit code when its start-up check of the database fails. A database that is merely
/// down is never a boot failure.
pub const EXIT_BOOT_FAILURE: i32 = 3;

/// Exit code of a worker whose event loop failed at run time (respawned as a crash).
const EXIT_CRASH: i32 = 1;

/// Why a worker stopped other than by being told to.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The signal handlers could not be installed.
    #[error("cannot boot: cannot install signal handlers: {0}")]
    Signals(io::Error),
    /// The service refuses to start (the database rejects us, …): a configuration
    /// error. An unreachable database is not one: the worker boots.
    #[error("cannot boot: {0}")]
    Boot(#[from] BootError),
    /// The event loop or acceptor failed while serving.
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl WorkerError {
    /// The exit status for this failure: boot failures stop the master.
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            WorkerError::Signals(_) | WorkerError::Boot(_) => EXIT_BOOT_FAILURE,
            WorkerError::Io(_) => EXIT_CRASH,
        }
    }
}

//! Why the master could not start or keep running, and the exit status each means.

use std::io;

use crate::worker::EXIT_BOOT_FAILURE;

/// Exit status for a setting that cannot work here (as for a bad command line).
const EXIT_CONFIG: i32 = 2;

/// Why the master could not start or keep running.
#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    /// The private PostgreSQL cluster could not be provided.
    #[error("cannot provide the default database (or pass --database-url / set DATABASE_URL)")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The start-up check of the database failed (before any worker was forked).
    #[error("cannot use the database {url}: {error}\n  hint: {hint}")]
    DatabaseCheck {
        /// The URL, password masked.
        url: String,
        /// What to do about it.
        hint: &'static str,
        /// What the check found.
        error: crate::tasks::db::DbError,
    },
    /// A listener could not be bound.
    #[error("cannot listen on {endpoint}")]
    Bind {
        /// The `--bind` it was for.
        endpoint: crate::endpoint::Endpoint,
        /// What the OS said.
        source: io::Error,
    },
    /// The sockets passed by socket activation (`LISTEN_FDS`) cannot be used.
    #[error("cannot serve on the sockets passed by socket activation (LISTEN_FDS)")]
    Activation(#[from] crate::activation::ActivationError),
    /// The passed sockets do not fit the worker slots.
    #[error("cannot serve on the sockets passed by socket activation (LISTEN_FDS)")]
    Adopt(#[source] io::Error),
    /// `--access-log FILE` cannot be opened for appending.
    #[error(transparent)]
    AccessLog(#[from] crate::access_log::OpenError),
    /// `--pid FILE` could not be written.
    #[error(transparent)]
    PidFile(#[from] super::pidfile::PidFileError),
    /// The shared scoreboard memory (heartbeats and counters) could not be mapped.
    #[error("cannot map the shared scoreboard memory")]
    Scoreboard(#[source] io::Error),
    /// Workers could not switch to `--user` from this process.
    #[error(transparent)]
    Privileges(#[from] crate::privileges::PrivilegeError),
    /// Signal handling could not be set up, or waiting for signals failed.
    #[error("cannot handle signals")]
    Signals(#[source] io::Error),
}

impl MasterError {
    /// The process exit status for this failure: [`EXIT_BOOT_FAILURE`] when the
    /// database cannot work (the database check), [`EXIT_CONFIG`] for a setting that
    /// cannot work (the access log), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            MasterError::DatabaseCheck { .. } => EXIT_BOOT_FAILURE,
            MasterError::AccessLog(_) => EXIT_CONFIG,
            _ => 1,
        }
    }
}

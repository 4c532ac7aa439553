//! What can go wrong while providing a private cluster, with what to do about it.

use std::path::{Path, PathBuf};
use std::process::ExitStatus;

/// Why the private cluster could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// No PostgreSQL server binaries.
    #[error(
        "cannot find the PostgreSQL programs (initdb, pg_ctl, postgres, psql) on PATH, in \
         $PREFORK_PG_BIN or in /usr/lib/postgresql/*/bin: install postgresql \
         (apt-get install postgresql) or set DATABASE_URL"
    )]
    NotInstalled,
    /// Root without a `postgres` user to run the server as.
    #[error(
        "running as root, but there is no `postgres` user to run the server as (PostgreSQL \
         refuses root): install postgresql (apt-get install postgresql), or set DATABASE_URL"
    )]
    NoServerUser,
    /// The socket path would not fit in `sockaddr_un`.
    #[error("socket path {path} is longer than 107 bytes: use a shorter cluster directory")]
    PathTooLong {
        /// The socket path that does not fit.
        path: PathBuf,
    },
    /// The directory exists but is not a cluster: refuse to touch it.
    #[error("{dir} exists and is not a PostgreSQL cluster: remove it or choose another directory")]
    NotACluster {
        /// The directory.
        dir: PathBuf,
    },
    /// The server did not start.
    #[error("PostgreSQL did not start in {dir} ({reason}); last lines of {dir}/log:\n{log_tail}")]
    StartFailed {
        /// The cluster directory.
        dir: PathBuf,
        /// What pg_ctl said.
        reason: String,
        /// The end of the server log.
        log_tail: String,
    },
    /// A program could not be run at all.
    #[error("cannot run {what}: {source}")]
    Spawn {
        /// The command.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A program ran and failed.
    #[error("{what} failed ({status}): {output}")]
    Command {
        /// The command.
        what: String,
        /// Its exit status.
        status: ExitStatus,
        /// What it printed (stderr, else stdout).
        output: String,
    },
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl PgError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> PgError {
        PgError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

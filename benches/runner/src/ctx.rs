//! What every run needs from the bench: where the servers are, the database, the
//! loadgen binary, the output directory, the interrupt flag.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use crate::db::Db;
use crate::launch::Env;

/// What a run needs from the bench.
pub struct Ctx<'a> {
    /// Where the servers are and how they reach PostgreSQL.
    pub env: Env<'a>,
    /// The bench's own database connection.
    pub db: &'a mut Db,
    /// The postmaster's pid, to measure PostgreSQL's CPU time too.
    pub pg_pid: Option<u32>,
    /// The loadgen binary.
    pub loadgen: PathBuf,
    /// Where server logs and nginx's prefix go.
    pub out: PathBuf,
    /// Set by Ctrl-C/SIGTERM.
    pub interrupted: &'a AtomicBool,
}

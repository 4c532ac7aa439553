//! One PostgreSQL connection per worker (or per thread), created after fork.
//!
//! CONTRACT (stub — being implemented).

/// A validated task to insert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTask {
    /// 1..=255 characters.
    pub title: String,
    /// Non-empty.
    pub description: String,
}

/// A stored row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    /// Primary key.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// `created_at` in RFC 3339, UTC, microseconds (`2026-11-28T01:02:03.456789Z`).
    pub created_at: String,
}

/// Why a database step failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Not connected (or the connection just broke); the caller answers 503.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The table is missing: a boot-time configuration error.
    #[error("table `task` is missing: apply schema.sql ({0})")]
    SchemaMissing(String),
    /// Any other database error (500).
    #[error("database error: {0}")]
    Query(String),
}

/// A connection with its prepared statements, reconnecting with backoff.
pub struct Db {}

impl Db {
    /// Connects and prepares the statements (at worker start, after fork).
    pub fn connect(url: &str) -> Result<Db, DbError> {
        let _ = url;
        unimplemented!("db::Db::connect")
    }
    /// Inserts one row and commits.
    pub fn insert(&mut self, task: &NewTask) -> Result<Task, DbError> {
        let _ = task;
        unimplemented!("db::Db::insert")
    }
    /// Fetches one row.
    pub fn get(&mut self, id: i64) -> Result<Option<Task>, DbError> {
        let _ = id;
        unimplemented!("db::Db::get")
    }
    /// The newest rows, at most `limit`.
    pub fn list(&mut self, limit: i64) -> Result<Vec<Task>, DbError> {
        let _ = limit;
        unimplemented!("db::Db::list")
    }
}

//! Why a database step failed, and how a `tokio-postgres` error is classified: an
//! outage (503), a refusal (configuration), a missing table, or a plain query error.

use tokio_postgres::error::SqlState;

/// Why a database step failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum DbError {
    /// Not connected, the connection just broke, or the database did not answer in
    /// time; the caller answers 503.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The server (or the URL) refuses us: bad URL, authentication failed, no such
    /// database. A configuration error, not an outage.
    #[error("database refused the connection: {0}")]
    Refused(String),
    /// The table is missing.
    #[error("table `task` is missing ({0})")]
    SchemaMissing(String),
    /// Any other database error (500).
    #[error("database error: {0}")]
    Query(String),
}

/// Maps an error while connecting: a server-reported refusal (authentication, no such
/// database) is configuration; other server errors are classified as for a statement;
/// anything not reported by the server is unreachability.
pub(super) fn connect_error(e: &tokio_postgres::Error) -> DbError {
    match e.as_db_error() {
        Some(db) if is_refusal_code(db.code().code()) => DbError::Refused(describe(e)),
        Some(_) => classify(e, false),
        None => DbError::Unavailable(describe(e)),
    }
}

/// Maps an error from a statement; `closed` says whether the client is now closed.
pub(super) fn classify(e: &tokio_postgres::Error, closed: bool) -> DbError {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if code == &SqlState::UNDEFINED_TABLE {
            return DbError::SchemaMissing(db.message().to_string());
        }
        if !closed && !is_unavailable_code(code.code()) {
            return DbError::Query(describe(e));
        }
        return DbError::Unavailable(describe(e));
    }
    let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
    if closed || e.is_closed() || io {
        DbError::Unavailable(describe(e))
    } else {
        DbError::Query(describe(e))
    }
}

/// SQLSTATEs that refuse a connection for good: invalid authorization (28), no such
/// database (3D000).
fn is_refusal_code(code: &str) -> bool {
    code.starts_with("28") || code == "3D000"
}

/// SQLSTATEs that mean "the server cannot serve right now", not "your query is wrong":
/// connection exceptions (08), shutdown/starting up (57P0x), out of resources (53).
fn is_unavailable_code(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("57P0") || code.starts_with("53")
}

/// The error with its cause: `tokio_postgres::Error`'s Display alone says only "db error".
pub(super) fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// Classifies a server error by its SQLSTATE (`code`) and message, for clients that
/// speak the protocol themselves (the evented connection): a missing table, a refusal
/// (at start-up), an outage, or a plain query error.
pub fn from_sqlstate(code: &str, message: &str, at_startup: bool) -> DbError {
    let text = format!("{message} (SQLSTATE {code})");
    if code == "42P01" {
        DbError::SchemaMissing(text)
    } else if at_startup && is_refusal_code(code) {
        DbError::Refused(text)
    } else if is_unavailable_code(code) {
        DbError::Unavailable(text)
    } else {
        DbError::Query(text)
    }
}

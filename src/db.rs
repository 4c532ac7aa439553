//! One PostgreSQL connection per worker (or per thread), created after fork.
//!
//! A [`Db`] owns a synchronous `postgres::Client` and the statements prepared on it. When
//! the connection breaks, the failing call returns [`DbError::Unavailable`] (the caller
//! answers 503) and the next calls reconnect — with exponential backoff, so a database
//! that is down costs one failed connection attempt per backoff period, not one per
//! request. A single `INSERT` is autocommit: when [`Db::insert`] returns, the row is
//! committed.

use std::str::FromStr;
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::{Client, Config, NoTls, Row, Statement};

/// The columns every statement returns, `created_at` already formatted as RFC 3339 UTC.
const COLUMNS: &str = "id, title, description, \
     to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
/// How long a connection attempt may take unless the URL says otherwise.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The first wait after a failed reconnect; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// The longest wait between two reconnect attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

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
#[derive(Clone, Debug, thiserror::Error)]
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
pub struct Db {
    config: Config,
    /// `None` while disconnected.
    conn: Option<Conn>,
    retry: Backoff,
}

/// A live client and the statements prepared on it (statements belong to one connection).
struct Conn {
    client: Client,
    insert: Statement,
    insert_batch: Statement,
    get: Statement,
    list: Statement,
}

impl Db {
    /// Connects and prepares the statements (at worker start, after fork).
    pub fn connect(url: &str) -> Result<Db, DbError> {
        let mut config = Config::from_str(url)
            .map_err(|e| DbError::Query(format!("invalid database URL: {}", describe(&e))))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let conn = Conn::open(&config)?;
        Ok(Db {
            config,
            conn: Some(conn),
            retry: Backoff::new(),
        })
    }

    /// Inserts one row and commits.
    pub fn insert(&mut self, task: &NewTask) -> Result<Task, DbError> {
        self.with_conn(|c| {
            let row = c
                .client
                .query_one(&c.insert, &[&task.title, &task.description])?;
            to_task(&row)
        })
    }

    /// Inserts all rows with one statement (one commit: group commit); returns them in
    /// the order given.
    pub fn insert_batch(&mut self, tasks: &[NewTask]) -> Result<Vec<Task>, DbError> {
        if tasks.is_empty() {
            return Ok(Vec::new());
        }
        let titles: Vec<&str> = tasks.iter().map(|t| t.title.as_str()).collect();
        let descriptions: Vec<&str> = tasks.iter().map(|t| t.description.as_str()).collect();
        let mut rows = self.with_conn(|c| {
            let rows = c.client.query(&c.insert_batch, &[&titles, &descriptions])?;
            rows.iter().map(to_task).collect::<Result<Vec<_>, _>>()
        })?;
        // Rows are inserted in input order, so ids ascend in input order.
        rows.sort_by_key(|t| t.id);
        Ok(rows)
    }

    /// Group commit with per-row outcomes: all rows in one statement and one commit; if
    /// that statement fails for a reason other than the connection (a row the database
    /// refuses), each row is retried on its own so one bad row never fails its
    /// neighbours. A lost connection fails every row (nothing was acknowledged; the
    /// caller answers 503). One row takes the single-row statement.
    pub fn insert_group(&mut self, tasks: &[NewTask]) -> Vec<Result<Task, DbError>> {
        if let [one] = tasks {
            return vec![self.insert(one)];
        }
        match self.insert_batch(tasks) {
            Ok(rows) => rows.into_iter().map(Ok).collect(),
            Err(err @ DbError::Unavailable(_)) => vec![Err(err); tasks.len()],
            Err(_) => tasks.iter().map(|task| self.insert(task)).collect(),
        }
    }

    /// Fetches one row.
    pub fn get(&mut self, id: i64) -> Result<Option<Task>, DbError> {
        self.with_conn(|c| {
            c.client
                .query_opt(&c.get, &[&id])?
                .as_ref()
                .map(to_task)
                .transpose()
        })
    }

    /// The newest rows, at most `limit`.
    pub fn list(&mut self, limit: i64) -> Result<Vec<Task>, DbError> {
        self.with_conn(|c| {
            c.client
                .query(&c.list, &[&limit])?
                .iter()
                .map(to_task)
                .collect()
        })
    }

    /// Whether a connection is currently open (it may still turn out to be broken).
    pub fn is_connected(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| !c.client.is_closed())
    }

    /// Runs `op` on a live connection; a connection-level failure drops the connection.
    fn with_conn<T>(
        &mut self,
        op: impl FnOnce(&mut Conn) -> Result<T, postgres::Error>,
    ) -> Result<T, DbError> {
        let conn = self.live_conn()?;
        let result = op(conn);
        let closed = conn.client.is_closed();
        result.map_err(|e| {
            let err = classify(&e, closed);
            if matches!(err, DbError::Unavailable(_)) {
                self.conn = None;
            }
            err
        })
    }

    /// The open connection, or a new one if the backoff allows an attempt now.
    fn live_conn(&mut self) -> Result<&mut Conn, DbError> {
        if self.conn.as_ref().is_some_and(|c| c.client.is_closed()) {
            self.conn = None;
        }
        if self.conn.is_none() {
            self.retry.check()?;
            match Conn::open(&self.config) {
                Ok(conn) => {
                    self.retry = Backoff::new();
                    self.conn = Some(conn);
                }
                Err(e) => {
                    self.retry.failed(&e);
                    return Err(e);
                }
            }
        }
        self.conn
            .as_mut()
            .ok_or_else(|| DbError::Unavailable("not connected".into()))
    }
}

impl Conn {
    /// Connects and prepares every statement.
    fn open(config: &Config) -> Result<Conn, DbError> {
        let mut client = config.connect(NoTls).map_err(|e| connect_error(&e))?;
        let mut prepare = |sql: &str| client.prepare(sql).map_err(|e| classify(&e, false));
        let insert = prepare(&format!(
            "INSERT INTO task (title, description) VALUES ($1, $2) RETURNING {COLUMNS}"
        ))?;
        // ORDER BY n makes the ids follow the input order.
        let insert_batch = prepare(&format!(
            "INSERT INTO task (title, description) \
             SELECT t, d FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(t, d, n) \
             ORDER BY n RETURNING {COLUMNS}"
        ))?;
        let get = prepare(&format!("SELECT {COLUMNS} FROM task WHERE id = $1"))?;
        // Newest first by id: ids are allocated in insertion order and the primary key
        // index serves the ORDER BY … LIMIT without a sort.
        let list = prepare(&format!(
            "SELECT {COLUMNS} FROM task ORDER BY id DESC LIMIT $1"
        ))?;
        Ok(Conn {
            client,
            insert,
            insert_batch,
            get,
            list,
        })
    }
}

/// Reconnect pacing: after a failed attempt, wait, doubling the wait each time.
struct Backoff {
    /// No attempt before this instant.
    next_attempt: Option<Instant>,
    delay: Duration,
    last_error: String,
}

impl Backoff {
    fn new() -> Backoff {
        Backoff {
            next_attempt: None,
            delay: FIRST_BACKOFF,
            last_error: String::new(),
        }
    }

    /// `Err(Unavailable)` while waiting: the caller must not try to connect yet.
    fn check(&self) -> Result<(), DbError> {
        match self.next_attempt {
            Some(at) if Instant::now() < at => Err(DbError::Unavailable(format!(
                "reconnecting in {} ms (last error: {})",
                at.saturating_duration_since(Instant::now()).as_millis(),
                self.last_error
            ))),
            _ => Ok(()),
        }
    }

    fn failed(&mut self, err: &DbError) {
        self.next_attempt = Some(Instant::now() + self.delay);
        self.delay = (self.delay * 2).min(MAX_BACKOFF);
        self.last_error = err.to_string();
    }
}

fn to_task(row: &Row) -> Result<Task, postgres::Error> {
    Ok(Task {
        id: row.try_get(0)?,
        title: row.try_get(1)?,
        description: row.try_get(2)?,
        created_at: row.try_get(3)?,
    })
}

/// Maps an error while connecting: anything but a server-reported problem is unreachability.
fn connect_error(e: &postgres::Error) -> DbError {
    match e.as_db_error() {
        Some(db) if db.code() == &SqlState::INVALID_CATALOG_NAME => {
            DbError::SchemaMissing(db.message().to_string())
        }
        Some(_) => classify(e, false),
        None => DbError::Unavailable(describe(e)),
    }
}

/// Maps an error from a statement; `closed` says whether the client is now closed.
fn classify(e: &postgres::Error, closed: bool) -> DbError {
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

/// SQLSTATEs that mean "the server cannot serve right now", not "your query is wrong":
/// connection exceptions (08), shutdown/starting up (57P0x), out of resources (53).
fn is_unavailable_code(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("57P0") || code.starts_with("53")
}

/// The error with its cause: `postgres::Error`'s Display alone says only "db error".
fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// The URL with any password replaced by `***`, for logs (URL and key=value forms).
pub fn mask_password(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            if let Some(colon) = rest[..at].find(':') {
                let start = scheme_end + 3 + colon + 1;
                return format!("{}***{}", &url[..start], &url[scheme_end + 3 + at..]);
            }
        }
        return url.to_string();
    }
    mask_keyword_password(url)
}

/// Masks `password=value` / `password='quoted value'` in a key=value string.
fn mask_keyword_password(url: &str) -> String {
    let Some(pos) = url
        .match_indices("password")
        .map(|(i, _)| i)
        .find(|&i| i == 0 || url[..i].ends_with(char::is_whitespace))
    else {
        return url.to_string();
    };
    let after_key = url[pos + "password".len()..].trim_start();
    let Some(value) = after_key.strip_prefix('=').map(str::trim_start) else {
        return url.to_string();
    };
    let value_start = url.len() - value.len();
    let value_len = if let Some(quoted) = value.strip_prefix('\'') {
        let mut escaped = false;
        let end = quoted.char_indices().find(|&(_, c)| {
            let close = c == '\'' && !escaped;
            escaped = c == '\\' && !escaped;
            close
        });
        end.map_or(value.len(), |(i, _)| i + 2)
    } else {
        value.find(char::is_whitespace).unwrap_or(value.len())
    };
    format!(
        "{}***{}",
        &url[..value_start],
        &url[value_start + value_len..]
    )
}

#[cfg(test)]
mod tests;

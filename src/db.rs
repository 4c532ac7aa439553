//! One PostgreSQL connection per worker (or per thread), created after fork.
//!
//! A [`Db`] is a synchronous client: each call blocks the calling thread until the
//! database answers or the call's deadline ([`DbTarget::deadline`], `--db-timeout`)
//! passes. It is built the way the `postgres` crate is built — a private current-thread
//! tokio runtime blocking on `tokio-postgres` futures — because that crate offers no
//! per-call deadline, and a database that stalls (accepts but never answers) must cost
//! a request 503, not a hung worker.
//!
//! When the connection breaks or a call times out, the call returns
//! [`DbError::Unavailable`] (the caller answers 503; an insert whose answer never came
//! is never acknowledged) and the next calls reconnect — with exponential backoff, so a
//! database that is down costs one failed connection attempt per backoff period, not
//! one per request. A single `INSERT` is autocommit: when [`Db::insert`] returns, the
//! row is committed.
//!
//! [`Db::open`] insists on a working connection (the master's start-up check);
//! [`Db::connect`] also accepts a database that is down right now (a worker booting
//! during an outage serves 503 and reconnects, it does not fail).

use std::future::Future;
use std::str::FromStr;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls, Row, Statement};

/// The columns every statement returns, `created_at` already formatted as RFC 3339 UTC.
const COLUMNS: &str = "id, title, description, \
     to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
/// How long a connection attempt may take unless the URL says otherwise.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The first wait after a failed reconnect; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// The longest wait between two reconnect attempts: service comes back within this
/// long of the database accepting connections again, at the cost of one failed
/// connection attempt per connection per period while it is down.
const MAX_BACKOFF: Duration = Duration::from_millis(500);
/// The default per-call deadline (`--db-timeout`).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(5);

/// Which database to use and how long one call may take: plain data, copied into
/// every worker before fork.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbTarget {
    /// A PostgreSQL URL or key=value connection string.
    pub url: String,
    /// The longest one call (connect, statement) may wait for the database.
    pub deadline: Duration,
}

impl DbTarget {
    /// `url` with the default deadline.
    pub fn new(url: impl Into<String>) -> DbTarget {
        DbTarget {
            url: url.into(),
            deadline: DEFAULT_DEADLINE,
        }
    }
}

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

/// A connection with its prepared statements, reconnecting with backoff.
pub struct Db {
    config: Config,
    /// The per-call deadline.
    deadline: Duration,
    /// Drives the connection and the calls; current-thread, so it runs only inside
    /// this `Db`'s calls.
    runtime: Runtime,
    /// `None` while disconnected.
    conn: Option<Conn>,
    retry: Backoff,
}

/// A live client and the statements prepared on it (statements belong to one connection).
struct Conn {
    client: Client,
    /// The task reading and writing the socket; aborted when the connection is dropped.
    io: tokio::task::JoinHandle<()>,
    insert: Statement,
    insert_batch: Statement,
    get: Statement,
    list: Statement,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.io.abort();
    }
}

impl Db {
    /// Connects and prepares the statements now; any failure is an error (the
    /// master's start-up check, and tests).
    pub fn open(target: &DbTarget) -> Result<Db, DbError> {
        let mut db = Db::disconnected(target)?;
        let conn = db.open_conn()?;
        db.conn = Some(conn);
        Ok(db)
    }

    /// Like [`Db::open`], but a database that is unreachable right now is not an
    /// error: the `Db` starts disconnected and reconnects on use (with backoff).
    /// Refusals (authentication, missing database or table) are still errors.
    pub fn connect(target: &DbTarget) -> Result<Db, DbError> {
        let mut db = Db::disconnected(target)?;
        match db.open_conn() {
            Ok(conn) => db.conn = Some(conn),
            Err(err @ DbError::Unavailable(_)) => db.retry.failed(&err),
            Err(err) => return Err(err),
        }
        Ok(db)
    }

    /// A `Db` that has not tried to connect yet.
    fn disconnected(target: &DbTarget) -> Result<Db, DbError> {
        let mut config = Config::from_str(&target.url)
            .map_err(|e| DbError::Refused(format!("invalid database URL: {}", describe(&e))))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT.min(target.deadline));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| DbError::Unavailable(format!("cannot start the client runtime: {e}")))?;
        Ok(Db {
            config,
            deadline: target.deadline,
            runtime,
            conn: None,
            retry: Backoff::new(),
        })
    }

    /// Inserts one row and commits.
    pub fn insert(&mut self, task: &NewTask) -> Result<Task, DbError> {
        self.call(async |c| {
            let row = c
                .client
                .query_one(&c.insert, &[&task.title, &task.description])
                .await?;
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
        let mut rows = self.call(async |c| {
            let rows = c
                .client
                .query(&c.insert_batch, &[&titles, &descriptions])
                .await?;
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
        self.call(async |c| {
            let row = c.client.query_opt(&c.get, &[&id]).await?;
            row.as_ref().map(to_task).transpose()
        })
    }

    /// The newest rows, at most `limit`.
    pub fn list(&mut self, limit: i64) -> Result<Vec<Task>, DbError> {
        self.call(async |c| {
            let rows = c.client.query(&c.list, &[&limit]).await?;
            rows.iter().map(to_task).collect()
        })
    }

    /// Why the last connection attempt failed, while disconnected because of it.
    pub fn outage(&self) -> Option<&str> {
        let waiting = self.conn.is_none() && self.retry.next_attempt.is_some();
        waiting.then_some(self.retry.last_error.as_str())
    }

    /// Whether the database can be used now: `Ok` with a live connection (reconnecting
    /// first if the backoff allows), else why not. Sends no statement (`/health`).
    pub fn check(&mut self) -> Result<(), DbError> {
        self.live_conn().map(|_| ())
    }

    /// Runs `op` on a live connection within the deadline; a connection-level failure
    /// or a timeout drops the connection (its state is unknown).
    fn call<T>(
        &mut self,
        op: impl AsyncFnOnce(&Conn) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, DbError> {
        self.live_conn()?;
        let conn = self.conn.as_ref().expect("live_conn leaves a connection");
        let err = match block_within(&self.runtime, self.deadline, op(conn)) {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) => classify(&e, conn.client.is_closed()),
            Err(elapsed) => DbError::Unavailable(elapsed),
        };
        if matches!(err, DbError::Unavailable(_)) {
            self.conn = None;
        }
        Err(err)
    }

    /// Makes sure a connection is open, opening one if the backoff allows it now.
    fn live_conn(&mut self) -> Result<(), DbError> {
        if self.conn.as_ref().is_some_and(|c| c.client.is_closed()) {
            self.conn = None;
        }
        if self.conn.is_some() {
            return Ok(());
        }
        self.retry.check()?;
        match self.open_conn() {
            Ok(conn) => {
                self.retry = Backoff::new();
                self.conn = Some(conn);
                Ok(())
            }
            Err(e) => {
                self.retry.failed(&e);
                Err(e)
            }
        }
    }

    /// Connects and prepares every statement, within the deadline.
    fn open_conn(&self) -> Result<Conn, DbError> {
        let connect = async {
            let (client, connection) = self.config.connect(NoTls).await?;
            let io = tokio::spawn(async move {
                // Its error resurfaces as a closed client on the next call.
                let _ = connection.await;
            });
            Ok::<_, tokio_postgres::Error>((client, io))
        };
        let (client, io) = block_within(&self.runtime, self.deadline, connect)
            .map_err(DbError::Unavailable)?
            .map_err(|e| connect_error(&e))?;
        let prepare = prepare_all(&client);
        match block_within(&self.runtime, self.deadline, prepare) {
            Ok(Ok([insert, insert_batch, get, list])) => Ok(Conn {
                client,
                io,
                insert,
                insert_batch,
                get,
                list,
            }),
            Ok(Err(e)) => {
                io.abort();
                Err(classify(&e, false))
            }
            Err(elapsed) => {
                io.abort();
                Err(DbError::Unavailable(elapsed))
            }
        }
    }
}

/// Runs `future` on `runtime` for at most `deadline`; `Err` names the deadline.
fn block_within<T>(
    runtime: &Runtime,
    deadline: Duration,
    future: impl Future<Output = T>,
) -> Result<T, String> {
    runtime
        .block_on(async { tokio::time::timeout(deadline, future).await })
        .map_err(|_| format!("no answer within {} ms", deadline.as_millis()))
}

/// Prepares the statements (insert, insert batch, get, list) on a new connection.
async fn prepare_all(client: &Client) -> Result<[Statement; 4], tokio_postgres::Error> {
    let insert = client
        .prepare(&format!(
            "INSERT INTO task (title, description) VALUES ($1, $2) RETURNING {COLUMNS}"
        ))
        .await?;
    // ORDER BY n makes the ids follow the input order.
    let insert_batch = client
        .prepare(&format!(
            "INSERT INTO task (title, description) \
             SELECT t, d FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(t, d, n) \
             ORDER BY n RETURNING {COLUMNS}"
        ))
        .await?;
    let get = client
        .prepare(&format!("SELECT {COLUMNS} FROM task WHERE id = $1"))
        .await?;
    // Newest first by id: ids are allocated in insertion order and the primary key
    // index serves the ORDER BY … LIMIT without a sort.
    let list = client
        .prepare(&format!(
            "SELECT {COLUMNS} FROM task ORDER BY id DESC LIMIT $1"
        ))
        .await?;
    Ok([insert, insert_batch, get, list])
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

fn to_task(row: &Row) -> Result<Task, tokio_postgres::Error> {
    Ok(Task {
        id: row.try_get(0)?,
        title: row.try_get(1)?,
        description: row.try_get(2)?,
        created_at: row.try_get(3)?,
    })
}

/// Maps an error while connecting: a server-reported refusal (authentication, no such
/// database) is configuration; other server errors are classified as for a statement;
/// anything not reported by the server is unreachability.
fn connect_error(e: &tokio_postgres::Error) -> DbError {
    match e.as_db_error() {
        Some(db) if is_refusal_code(db.code().code()) => DbError::Refused(describe(e)),
        Some(_) => classify(e, false),
        None => DbError::Unavailable(describe(e)),
    }
}

/// Maps an error from a statement; `closed` says whether the client is now closed.
fn classify(e: &tokio_postgres::Error, closed: bool) -> DbError {
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

/// The error with its cause: `postgres::Error`'s Display alone says only "db error".
fn describe(e: &tokio_postgres::Error) -> String {
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

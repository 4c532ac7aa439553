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

use crate::scoreboard::Counters;
use tokio_postgres::{Client, Config, NoTls, Row, Statement};

mod conninfo;
mod error;
#[cfg(test)]
pub(crate) mod test_pg;

pub use conninfo::{mask_password, socket_dirs};
use error::{classify, connect_error, describe};
pub use error::{from_sqlstate, DbError};

/// The columns every statement returns, `created_at` already formatted as RFC 3339 UTC.
pub(crate) const COLUMNS: &str = "id, title, description, \
     to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
/// How long a connection attempt may take unless the URL says otherwise.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The first wait after a failed reconnect; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// The longest wait between two reconnect attempts: service comes back within this
/// long of the database accepting connections again, at the cost of one failed
/// connection attempt per connection per period while it is down.
const MAX_BACKOFF: Duration = Duration::from_millis(500);
/// The table's definition (idempotent): the repository's `schema.sql`, the single
/// source of truth, which the private cluster (`pgtmp`) applies too.
pub const SCHEMA: &str = include_str!("../../schema.sql");

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
            deadline: crate::config::DEFAULT_DB_TIMEOUT,
        }
    }
}

/// A validated task to insert.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
    /// Where a connection made again after a loss is counted (`/metrics`).
    meter: Counters,
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

    /// Counts every connection this `Db` makes from now on — each one replaces a
    /// connection lost or never made — as a reconnection on `meter`.
    pub fn count_reconnects_on(&mut self, meter: Counters) {
        self.meter = meter;
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
            meter: Counters::discarded(),
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
                self.meter.db_reconnect();
                Ok(())
            }
            Err(e) => {
                self.retry.failed(&e);
                Err(e)
            }
        }
    }

    /// Applies `schema.sql` (idempotent) to the target's database: `prefork --init-db`.
    pub fn apply_schema(target: &DbTarget) -> Result<(), DbError> {
        let db = Db::disconnected(target)?;
        let (client, io) = db.connect_client()?;
        let applied = block_within(&db.runtime, db.deadline, client.batch_execute(SCHEMA));
        io.abort();
        applied
            .map_err(DbError::Unavailable)?
            .map_err(|e| classify(&e, client.is_closed()))
    }

    /// Opens a client connection within the deadline; its I/O runs as a task on this
    /// `Db`'s runtime (only while a call blocks on it).
    fn connect_client(&self) -> Result<(Client, tokio::task::JoinHandle<()>), DbError> {
        let connect = async {
            let (client, connection) = self.config.connect(NoTls).await?;
            let io = tokio::spawn(async move {
                // Its error resurfaces as a closed client on the next call.
                let _ = connection.await;
            });
            Ok::<_, tokio_postgres::Error>((client, io))
        };
        block_within(&self.runtime, self.deadline, connect)
            .map_err(DbError::Unavailable)?
            .map_err(|e| connect_error(&e))
    }

    /// Connects and prepares every statement, within the deadline.
    fn open_conn(&self) -> Result<Conn, DbError> {
        let (client, io) = self.connect_client()?;
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

#[cfg(test)]
mod tests;

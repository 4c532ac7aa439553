//! The task API as a [`Service`]: `POST /api/tasks` (form or JSON) inserts a row into
//! PostgreSQL, `GET /api/tasks[/{id}]` reads rows back — the experiment's endpoint.
//!
//! Each serving thread owns one [`Db`] connection (its context). Inserts are deferred
//! jobs: [`Service::commit`] writes a group of them with one statement in one
//! transaction (group commit; one row alone is a plain autocommit `INSERT`), reads are
//! answered at once — after the connection's own pending inserts, so a client reads its
//! writes.
//!
//! - [`routes`]: paths, methods, validation and the status of each outcome (no I/O).
//! - `body`: form-urlencoded and JSON bodies into a validated [`NewTask`].
//! - [`db`]: the PostgreSQL client with per-call deadlines and reconnect backoff.
//! - `evented`: [`EventedTaskService`], the same API over the event loop's own
//!   non-blocking, pipelined connections (`--db evented`).

mod answer;
mod body;
pub mod db;
mod evented;
pub mod routes;

use std::path::PathBuf;

use crate::http::request::Request;
use crate::http::response::DateCache;
use crate::scoreboard::Counters;
use crate::service::{
    BootError, Call, Completions, Group, HealthMember, Role, Service, Turn, WorkerInfo,
};
use db::{Db, DbError, DbTarget, NewTask, Task};

pub use body::{validate, MAX_TITLE_CHARS};
pub use evented::EventedTaskService;
pub use routes::{DEFAULT_LIMIT, MAX_LIMIT};

/// The task service: which database to use (plain data, copied into every worker).
#[derive(Clone, Debug)]
pub struct TaskService {
    target: DbTarget,
}

impl TaskService {
    /// A service storing tasks in the database `target` names.
    pub fn new(target: DbTarget) -> TaskService {
        TaskService { target }
    }
}

/// A serving thread's state: its own database connection, and the worker's counters
/// for database errors and reconnections.
pub struct TaskContext {
    db: Db,
    meter: Counters,
}

impl Service for TaskService {
    type Context = TaskContext;
    type Job = NewTask;
    type Done = Result<Task, DbError>;

    /// Connects, leniently: a database that is down is not a boot failure (the thread
    /// answers 503 and reconnects with backoff); one that refuses us is.
    fn context(&self, info: WorkerInfo) -> Result<TaskContext, BootError> {
        let mut db = Db::connect(&self.target).map_err(|e| BootError(e.to_string()))?;
        db.count_reconnects_on(info.counters);
        // Once per worker: every thread of it sees the same outage.
        let first = matches!(info.role, Role::EventLoop | Role::Request(0));
        if let (true, Some(why)) = (first, db.outage()) {
            answer::say_outage_at_boot(info.slot, &why);
        }
        Ok(TaskContext {
            db,
            meter: info.counters,
        })
    }

    fn call(&self, cx: &mut TaskContext, req: &Request, turn: Turn) -> Call<NewTask> {
        answer::call(req, turn, &cx.meter, || Ok(&mut cx.db))
    }

    /// One row: a plain autocommit `INSERT`. More: one statement in one transaction,
    /// falling back to one commit per row if that fails (see [`Db::insert_group`]).
    fn commit(
        &self,
        cx: &mut TaskContext,
        jobs: &mut Group<NewTask>,
        done: &mut Completions<Self::Done>,
    ) {
        let outcomes = match jobs.as_slice() {
            [(_, task)] => vec![cx.db.insert(task)],
            _ => {
                let tasks: Vec<NewTask> = jobs.iter_mut().map(|(_, t)| std::mem::take(t)).collect();
                cx.db.insert_group(&tasks)
            }
        };
        answer::count_failures(&cx.meter, &outcomes);
        let (commits, rows) = commits(&outcomes);
        for _ in 0..commits {
            done.committed(rows);
        }
        for ((ticket, _), outcome) in jobs.drain(..).zip(outcomes) {
            done.complete(ticket, outcome);
        }
    }

    fn encode(&self, done: &Self::Done, keep_alive: bool, date: &mut DateCache, out: &mut Vec<u8>) {
        answer::encode_outcome(done, keep_alive, date, out);
    }

    /// `"database":"up"`, or `"down"` while it cannot be reached (no statement is sent).
    fn health(&self, cx: &mut TaskContext) -> Vec<HealthMember> {
        let state = if cx.db.check().is_ok() { "up" } else { "down" };
        vec![("database", state)]
    }

    /// The database's Unix socket directories, if it is reached through one.
    fn reaches(&self) -> Vec<PathBuf> {
        db::socket_dirs(&self.target.url)
    }
}

/// `(commits, rows in each)` behind a group's outcomes: every row committed means one
/// commit of them all; otherwise the group fell back to one commit per row (or the
/// connection failed and nothing committed), so one per row that committed. (A group
/// statement that failed for a transient reason while every row then committed alone
/// counts as one commit: too rare to matter.)
fn commits(outcomes: &[Result<Task, DbError>]) -> (u64, u64) {
    let ok = outcomes.iter().filter(|o| o.is_ok()).count() as u64;
    if ok == outcomes.len() as u64 {
        (u64::from(ok > 0), ok)
    } else {
        (ok, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64) -> Task {
        Task {
            id,
            title: "t".into(),
            description: "d".into(),
            created_at: "2026-01-01T00:00:00.000000Z".into(),
        }
    }

    /// Commit accounting: all rows in one commit, one per committed row after a
    /// fallback, none when nothing committed.
    #[test]
    fn commits_follow_the_outcomes() {
        let failed = || Err(DbError::Query("x".into()));
        assert_eq!(commits(&[Ok(row(1)), Ok(row(2)), Ok(row(3))]), (1, 3));
        assert_eq!(commits(&[Ok(row(1)), failed(), Ok(row(3))]), (2, 1));
        let down = || Err(DbError::Unavailable("x".into()));
        assert_eq!(commits(&[down(), down()]), (0, 1));
    }
}

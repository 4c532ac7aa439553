//! Routes, validation and status mapping, on plain data with no I/O of its own.
//!
//! CONTRACT (stub — being implemented):
//! `route(&Request) -> Action` decides what a request needs; the worker performs the
//! database step with [`crate::db::Db`] and turns its result into a `Response` with
//! `inserted`, `found`, `listed` or `db_failed`. `handle` does both in one call.

use crate::db::{Db, DbError, NewTask, Task};
use crate::http::request::Request;
use crate::http::response::Response;

/// What a request needs done.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Answer right away (health, errors, 404/405/415/400 …).
    Respond(Response),
    /// Insert a validated task, then answer 201.
    Insert(NewTask),
    /// Fetch a task by id.
    Get(i64),
    /// List the newest tasks, at most this many.
    List(i64),
}

/// Decides what a request needs, validating its body.
pub fn route(req: &Request) -> Action {
    let _ = req;
    unimplemented!("app::route")
}

/// 201 with the created row and `Location`.
pub fn inserted(task: &Task) -> Response {
    let _ = task;
    unimplemented!("app::inserted")
}

/// 200 with the row, or 404.
pub fn found(task: Option<&Task>) -> Response {
    let _ = task;
    unimplemented!("app::found")
}

/// 200 with a JSON array of rows.
pub fn listed(tasks: &[Task]) -> Response {
    let _ = tasks;
    unimplemented!("app::listed")
}

/// 503 + `Retry-After` when the database is unreachable, 500 otherwise.
pub fn db_failed(err: &DbError) -> Response {
    let _ = err;
    unimplemented!("app::db_failed")
}

/// Routes `req` and performs its database step on `db`.
pub fn handle(req: &Request, db: &mut Db) -> Response {
    match route(req) {
        Action::Respond(resp) => resp,
        Action::Insert(new) => db.insert(&new).map_or_else(|e| db_failed(&e), |t| inserted(&t)),
        Action::Get(id) => db.get(id).map_or_else(|e| db_failed(&e), |t| found(t.as_ref())),
        Action::List(n) => db.list(n).map_or_else(|e| db_failed(&e), |ts| listed(&ts)),
    }
}

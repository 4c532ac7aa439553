//! The task API's routes, validation and status mapping, on plain data with no I/O.
//!
//! [`route`] decides what a request needs; the services (`TaskService`,
//! `EventedTaskService`) perform the database step and turn its result into a response
//! with [`encode_inserted`] (the 201, encoded in place), [`found`], [`listed`] or
//! [`db_failed`].
//!
//! `HEAD` is routed like `GET`; the worker drops the body when it encodes the answer.

use super::db::{DbError, NewTask, Task};
use crate::http::json::{self, TaskJson};
use crate::http::request::{Method, Request};
use crate::http::response::{encode_json_with, DateCache, HeaderValue, Response};

use super::body::{self, invalid};

/// `Allow` for the collection.
const ALLOW_TASKS: &str = "GET, HEAD, POST";
/// `Allow` for a single task.
const ALLOW_READ: &str = "GET, HEAD";
/// Rows listed when the query names no `limit`.
pub const DEFAULT_LIMIT: i64 = 20;
/// Most rows one list request may ask for.
pub const MAX_LIMIT: i64 = 100;

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

/// The resources the API knows, by path.
enum Resource {
    Tasks,
    Task(i64),
}

/// Decides what a request needs, validating its body.
pub fn route(req: &Request) -> Action {
    let Some(resource) = resource(&req.path) else {
        return Action::Respond(Response::error(404, "not found"));
    };
    match (resource, &req.method) {
        (Resource::Tasks, Method::Post) => body::new_task(req.content_type.as_deref(), &req.body)
            .map_or_else(Action::Respond, Action::Insert),
        (Resource::Tasks, Method::Get | Method::Head) => {
            list_limit(&req.query).map_or_else(Action::Respond, Action::List)
        }
        (Resource::Task(id), Method::Get | Method::Head) => Action::Get(id),
        (Resource::Tasks, _) => Action::Respond(method_not_allowed(ALLOW_TASKS)),
        (Resource::Task(_), _) => Action::Respond(method_not_allowed(ALLOW_READ)),
    }
}

/// The resource at `path` (raw, not percent-decoded; a trailing slash is allowed on
/// the task paths). An id that is not a plain positive-looking `i64` names nothing.
fn resource(path: &str) -> Option<Resource> {
    match path {
        "/api/tasks" | "/api/tasks/" => Some(Resource::Tasks),
        _ => {
            let rest = path.strip_prefix("/api/tasks/")?;
            let id = rest.strip_suffix('/').unwrap_or(rest);
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            id.parse().ok().map(Resource::Task)
        }
    }
}

fn method_not_allowed(allow: &'static str) -> Response {
    Response::error(405, "method not allowed").with_header("Allow", allow)
}

/// `limit=N` from the query string: 1..=MAX_LIMIT, DEFAULT_LIMIT when absent.
fn list_limit(query: &str) -> Result<i64, Response> {
    let mut values = query
        .split('&')
        .filter_map(|pair| match pair.split_once('=') {
            Some(("limit", value)) => Some(value),
            _ if pair == "limit" => Some(""),
            _ => None,
        });
    let Some(value) = values.next() else {
        return Ok(DEFAULT_LIMIT);
    };
    let bad = || invalid("limit must be an integer from 1 to 100");
    if values.next().is_some() || value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match value.parse() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(bad()),
    }
}

/// 201 with the created row and `Location`, encoded straight into `out` with no
/// `Response` built (group commit's hot path).
pub fn encode_inserted(task: &Task, keep_alive: bool, date: &mut DateCache, out: &mut Vec<u8>) {
    let headers = [("Location", location(task))];
    encode_json_with(201, &headers, keep_alive, date, out, |body| {
        json::push_task(body, task)
    });
}

/// `/api/tasks/{id}`, without `format!`.
fn location(task: &Task) -> HeaderValue {
    HeaderValue::with_number("/api/tasks/", task.id)
}

/// 200 with the row, or 404.
pub fn found(task: Option<&Task>) -> Response {
    match task {
        Some(task) => Response::json(200, json::task_body(task)),
        None => Response::error(404, "task not found"),
    }
}

/// 200 with a JSON array of rows.
pub fn listed(tasks: &[Task]) -> Response {
    Response::json(200, json::tasks_body(tasks))
}

/// 503 + `Retry-After` when the database is unreachable, 500 otherwise.
pub fn db_failed(err: &DbError) -> Response {
    match err {
        DbError::Unavailable(_) => Response::error(503, "database unavailable, retry later")
            .with_header("Retry-After", "1"),
        // The details are for the server's log, not for the client.
        DbError::Refused(_) | DbError::SchemaMissing(_) | DbError::Query(_) => {
            Response::error(500, "internal server error")
        }
    }
}

/// A stored task in a JSON response: its fields, borrowed (the `http` codec knows the
/// shape, not where tasks are kept).
impl<'a> From<&'a Task> for TaskJson<'a> {
    fn from(task: &'a Task) -> TaskJson<'a> {
        TaskJson {
            id: task.id,
            title: &task.title,
            description: &task.description,
            created_at: &task.created_at,
        }
    }
}

#[cfg(test)]
mod tests;

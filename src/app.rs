//! Routes, validation and status mapping, on plain data with no I/O of its own.
//!
//! CONTRACT: `route(&Request) -> Action` decides what a request needs; the worker performs
//! the database step with [`crate::db::Db`] and turns its result into a `Response` with
//! `inserted`, `found`, `listed` or `db_failed`. `handle` does both in one call.
//! [`rejected`] and [`timed_out`] answer requests that never parsed.
//!
//! `HEAD` is routed like `GET` (and gets the same response, body included): the worker
//! must encode it with [`crate::http::response::encode_for_head`], which drops the body.

use crate::db::{Db, DbError, NewTask, Task};
use crate::http::json;
use crate::http::request::{Method, ParseError, Request};
use crate::http::response::Response;

mod body;

pub use body::{validate, MAX_TITLE_CHARS};

/// `Allow` for the collection.
const ALLOW_TASKS: &str = "GET, HEAD, POST";
/// `Allow` for a single task and for `/health`.
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
    Health,
    Tasks,
    Task(i64),
}

/// Decides what a request needs, validating its body.
pub fn route(req: &Request) -> Action {
    let Some(resource) = resource(&req.path) else {
        return Action::Respond(Response::error(404, "not found"));
    };
    match (resource, &req.method) {
        (Resource::Health, Method::Get | Method::Head) => {
            Action::Respond(Response::json(200, br#"{"status":"ok"}"#.to_vec()))
        }
        (Resource::Tasks, Method::Post) => body::new_task(req.content_type.as_deref(), &req.body)
            .map_or_else(Action::Respond, Action::Insert),
        (Resource::Tasks, Method::Get | Method::Head) => {
            list_limit(&req.query).map_or_else(Action::Respond, Action::List)
        }
        (Resource::Task(id), Method::Get | Method::Head) => Action::Get(id),
        (Resource::Tasks, _) => Action::Respond(method_not_allowed(ALLOW_TASKS)),
        (Resource::Health | Resource::Task(_), _) => {
            Action::Respond(method_not_allowed(ALLOW_READ))
        }
    }
}

/// The resource at `path` (raw, not percent-decoded; a trailing slash is allowed on
/// the task paths). An id that is not a plain positive-looking `i64` names nothing.
fn resource(path: &str) -> Option<Resource> {
    match path {
        "/health" => Some(Resource::Health),
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

/// 400 for a well-framed request with bad content: the stream is still in sync, so
/// unlike a framing error the connection stays open.
fn invalid(message: &str) -> Response {
    Response {
        close: false,
        ..Response::error(400, message)
    }
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

/// 201 with the created row and `Location`.
pub fn inserted(task: &Task) -> Response {
    Response::json(201, json::task_body(task))
        .with_header("Location", format!("/api/tasks/{}", task.id))
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
        DbError::SchemaMissing(_) | DbError::Query(_) => {
            Response::error(500, "internal server error")
        }
    }
}

/// The answer to a request that failed to parse (its status, connection closed as the
/// status requires).
pub fn rejected(err: &ParseError) -> Response {
    Response::error(err.status(), &err.to_string())
}

/// 408 for a client that did not send a whole request within the read timeout.
pub fn timed_out() -> Response {
    Response::error(408, "request timeout")
}

/// Routes `req` and performs its database step on `db`.
pub fn handle(req: &Request, db: &mut Db) -> Response {
    match route(req) {
        Action::Respond(resp) => resp,
        Action::Insert(new) => db
            .insert(&new)
            .map_or_else(|e| db_failed(&e), |t| inserted(&t)),
        Action::Get(id) => db
            .get(id)
            .map_or_else(|e| db_failed(&e), |t| found(t.as_ref())),
        Action::List(n) => db.list(n).map_or_else(|e| db_failed(&e), |ts| listed(&ts)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: Method, target: &str) -> Request {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Request {
            method,
            path: path.into(),
            query: query.into(),
            content_type: None,
            keep_alive: true,
            body: Vec::new(),
        }
    }

    fn post(content_type: Option<&str>, body: &[u8]) -> Request {
        let content_type = content_type.map(str::to_owned);
        Request {
            content_type,
            body: body.to_vec(),
            ..req(Method::Post, "/api/tasks")
        }
    }

    fn respond(action: Action) -> Response {
        match action {
            Action::Respond(resp) => resp,
            other => panic!("expected an immediate response, got {other:?}"),
        }
    }

    fn status(action: Action) -> u16 {
        respond(action).status
    }

    fn header<'a>(resp: &'a Response, name: &str) -> Option<&'a str> {
        resp.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    fn task(id: i64) -> Task {
        Task {
            id,
            title: "t".into(),
            description: "d".into(),
            created_at: "2026-01-01T00:00:00.000000Z".into(),
        }
    }

    fn new_task(title: &str, description: &str) -> Action {
        Action::Insert(NewTask {
            title: title.into(),
            description: description.into(),
        })
    }

    /// GET and HEAD /health answer 200 without the database.
    #[test]
    fn health() {
        for m in [Method::Get, Method::Head] {
            let resp = respond(route(&req(m, "/health")));
            assert_eq!(
                (resp.status, resp.body.as_slice()),
                (200, &br#"{"status":"ok"}"#[..])
            );
        }
    }

    /// Unknown paths and ids that are not plain in-range integers are 404.
    #[test]
    fn not_found() {
        for path in [
            "/",
            "/api",
            "/api/tasksx",
            "/api/tasks//",
            "/api/tasks/abc",
            "/api/tasks/-1",
            "/api/tasks/+1",
            "/api/tasks/1x",
            "/api/tasks/99999999999999999999",
            "/health/",
            "/api/tasks/1/2",
        ] {
            assert_eq!(status(route(&req(Method::Get, path))), 404, "{path}");
        }
    }

    /// A task id, with or without a trailing slash, for GET and HEAD.
    #[test]
    fn get_by_id() {
        assert_eq!(route(&req(Method::Get, "/api/tasks/7")), Action::Get(7));
        assert_eq!(
            route(&req(Method::Head, "/api/tasks/0042/?x=1")),
            Action::Get(42)
        );
    }

    /// A wrong method on a known path is 405 with the right Allow.
    #[test]
    fn method_not_allowed() {
        let other = |m: &str| Method::Other(m.into());
        for (method, path, allow) in [
            (other("PUT"), "/api/tasks", ALLOW_TASKS),
            (other("DELETE"), "/api/tasks/", ALLOW_TASKS),
            (Method::Post, "/api/tasks/1", ALLOW_READ),
            (other("DELETE"), "/api/tasks/1", ALLOW_READ),
            (Method::Post, "/health", ALLOW_READ),
        ] {
            let resp = respond(route(&req(method, path)));
            assert_eq!(
                (resp.status, header(&resp, "Allow"), resp.close),
                (405, Some(allow), false),
                "{path}"
            );
        }
    }

    /// List limit: default, bounds, both collection paths, other parameters ignored.
    #[test]
    fn list_limits() {
        assert_eq!(
            route(&req(Method::Get, "/api/tasks")),
            Action::List(DEFAULT_LIMIT)
        );
        assert_eq!(
            route(&req(Method::Get, "/api/tasks/?limit=1")),
            Action::List(1)
        );
        assert_eq!(
            route(&req(Method::Head, "/api/tasks?x=y&limit=100&z")),
            Action::List(100)
        );
        assert_eq!(
            route(&req(Method::Get, "/api/tasks?limits=0")),
            Action::List(DEFAULT_LIMIT)
        );
        for q in [
            "limit=0",
            "limit=101",
            "limit=",
            "limit",
            "limit=abc",
            "limit=-1",
            "limit=+5",
            "limit=99999999999999999999",
            "limit=5&limit=6",
        ] {
            let resp = respond(route(&req(Method::Get, &format!("/api/tasks?{q}"))));
            assert_eq!((resp.status, resp.close), (400, false), "{q}");
        }
    }

    /// Form and JSON bodies insert; media type parameters and case are accepted.
    #[test]
    fn post_form_and_json() {
        let form = "application/x-www-form-urlencoded";
        assert_eq!(
            route(&post(Some(form), b"title=a+b&description=c%21")),
            new_task("a b", "c!")
        );
        let body = br#"{"title":"a","description":" "}"#;
        assert_eq!(
            route(&post(Some("Application/JSON ; charset=utf-8"), body)),
            new_task("a", " ")
        );
        let slash = Request {
            path: "/api/tasks/".into(),
            ..post(Some(form), b"title=a&description=b")
        };
        assert_eq!(route(&slash), new_task("a", "b"));
    }

    /// 201 with Location and the row; 200/404 for one row; 200 array for a list.
    #[test]
    fn db_results() {
        let resp = inserted(&task(9));
        assert_eq!(
            (resp.status, header(&resp, "Location")),
            (201, Some("/api/tasks/9"))
        );
        assert_eq!(resp.body, json::task_body(&task(9)));
        assert_eq!(found(Some(&task(1))).status, 200);
        let missing = found(None);
        assert_eq!((missing.status, missing.close), (404, false));
        let list = listed(&[task(2), task(1)]);
        assert_eq!((list.status, list.body.first()), (200, Some(&b'[')));
    }

    /// An unreachable database is 503 with Retry-After; other failures are 500.
    #[test]
    fn db_failures() {
        let resp = db_failed(&DbError::Unavailable("down".into()));
        assert_eq!(
            (resp.status, header(&resp, "Retry-After")),
            (503, Some("1"))
        );
        assert_eq!(
            resp.body,
            json::error_body("database unavailable, retry later")
        );
        assert_eq!(db_failed(&DbError::Query("x".into())).status, 500);
        assert_eq!(db_failed(&DbError::SchemaMissing("x".into())).status, 500);
    }

    /// Parse errors and timeouts keep their status and close the connection.
    #[test]
    fn rejected_and_timed_out() {
        let resp = rejected(&ParseError::BodyTooLarge);
        assert_eq!((resp.status, resp.close), (413, true));
        assert_eq!(rejected(&ParseError::UnsupportedVersion).status, 505);
        let resp = timed_out();
        assert_eq!((resp.status, resp.close), (408, true));
    }
}

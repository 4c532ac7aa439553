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

/// The 201 of a committed insert built as a `Response`: the reference the hot path's
/// direct encoding ([`encode_inserted`]) is checked against.
fn inserted(task: &Task) -> Response {
    Response::json(201, json::task_body(task)).with_header("Location", location(task))
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

/// The direct encoding of a 201 is byte for byte the encoding of `inserted`'s response.
#[test]
fn encode_inserted_matches_inserted() {
    use crate::http::response::{encode, DateCache};
    for keep_alive in [true, false] {
        let mut date = DateCache::default();
        let (mut direct, mut built) = (Vec::new(), Vec::new());
        encode_inserted(&task(1234567), keep_alive, &mut date, &mut direct);
        encode(&inserted(&task(1234567)), keep_alive, &mut date, &mut built);
        // The two calls may straddle a second boundary: compare without the Date line.
        let strip = |b: &[u8]| -> String {
            String::from_utf8_lossy(b)
                .lines()
                .filter(|l| !l.starts_with("Date:"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(strip(&direct), strip(&built));
        assert!(strip(&direct).contains("Location: /api/tasks/1234567"));
    }
}

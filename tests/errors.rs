//! Every error case of the API returns its status, and the server keeps serving after it.

mod support;

use std::time::{Duration, Instant};

use support::http::post_bytes;
use support::{assert_created, assert_error, get_request, Cfg, Conn, Response, TestDb};

support::matrix!(error_cases, read_timeout_408);

const FORM: &str = "application/x-www-form-urlencoded";

/// One request and the status it must get.
struct Case {
    name: &'static str,
    request: Vec<u8>,
    status: u16,
    /// For 405: a method the `Allow` header must list.
    allow: Option<&'static str>,
    /// For 201: the title the row must hold (decoded), read back from the database.
    stored: Option<String>,
}

fn case(name: &'static str, request: impl Into<Vec<u8>>, status: u16) -> Case {
    Case {
        name,
        request: request.into(),
        status,
        allow: None,
        stored: None,
    }
}

/// A boundary case that must be stored with exactly `title`.
fn stored(name: &'static str, request: Vec<u8>, title: String) -> Case {
    Case {
        stored: Some(title),
        ..case(name, request, 201)
    }
}

fn form(body: &str) -> Vec<u8> {
    post_bytes("/api/tasks", FORM, body.as_bytes(), "")
}

fn json(body: &str) -> Vec<u8> {
    post_bytes("/api/tasks", "application/json", body.as_bytes(), "")
}

/// A POST head announcing `length` body bytes, sent without the body.
fn head_only(length: usize) -> Vec<u8> {
    format!("POST /api/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\nContent-Length: {length}\r\n\r\n").into()
}

fn cases() -> Vec<Case> {
    let many_headers: String = (0..70).map(|i| format!("X-Header-{i}: v\r\n")).collect();
    vec![
        case("malformed request line", "GARBAGE\r\n\r\n", 400),
        case(
            "malformed header line",
            "GET /health HTTP/1.1\r\nno colon here\r\n\r\n",
            400,
        ),
        case("missing description", form("title=t"), 400),
        case("missing title", form("description=d"), 400),
        case("JSON missing description", json(r#"{"title":"t"}"#), 400),
        case("empty title", form("title=&description=d"), 400),
        case("empty description", form("title=t&description="), 400),
        case(
            "JSON empty title",
            json(r#"{"title":"","description":"d"}"#),
            400,
        ),
        stored(
            "title of 255 chars is fine",
            form(&format!("title={}&description=d", "a".repeat(255))),
            "a".repeat(255),
        ),
        case(
            "title of 256 chars",
            form(&format!("title={}&description=d", "a".repeat(256))),
            400,
        ),
        stored(
            "title of 255 two-byte chars is fine",
            form(&format!("title={}&description=d", "%C3%A9".repeat(255))),
            "é".repeat(255),
        ),
        case(
            "title of 256 two-byte chars",
            form(&format!("title={}&description=d", "%C3%A9".repeat(256))),
            400,
        ),
        case(
            "bad percent-encoding %zz",
            form("title=%zz&description=d"),
            400,
        ),
        case(
            "truncated percent-encoding",
            form("title=t&description=d%2"),
            400,
        ),
        case("invalid UTF-8 %ff", form("title=%ff&description=d"), 400),
        case("NUL byte %00", form("title=a%00b&description=d"), 400),
        case(
            "JSON NUL byte",
            json(r#"{"title":"a\u0000b","description":"d"}"#),
            400,
        ),
        case("malformed JSON", json(r#"{"title": "#), 400),
        case("unknown path", get_request("/nope"), 404),
        case("unknown task id", get_request("/api/tasks/987654321"), 404),
        Case {
            allow: Some("POST"),
            ..case(
                "DELETE /api/tasks",
                "DELETE /api/tasks HTTP/1.1\r\nHost: x\r\n\r\n",
                405,
            )
        },
        Case {
            allow: Some("GET"),
            ..case("POST /health", post_bytes("/health", FORM, b"a=b", ""), 405)
        },
        case(
            "POST without length",
            format!("POST /api/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\n\r\n"),
            411,
        ),
        case(
            "Content-Length 10 MB, body not sent",
            head_only(10 * 1024 * 1024),
            413,
        ),
        case(
            "Content-Length just over 64 KiB, body not sent",
            head_only(64 * 1024 + 1),
            413,
        ),
        case(
            "text/plain body",
            post_bytes("/api/tasks", "text/plain", b"title=t&description=d", ""),
            415,
        ),
        case(
            "head over 8 KiB",
            format!(
                "GET /health HTTP/1.1\r\nX-Big: {}\r\n\r\n",
                "a".repeat(9000)
            ),
            431,
        ),
        case(
            "70 headers",
            format!("GET /health HTTP/1.1\r\n{many_headers}\r\n"),
            431,
        ),
    ]
}

/// Runs one case on a fresh connection; `Err` describes the failure.
fn run_case(port: u16, db: &TestDb, case: &Case) -> Result<(), String> {
    let resp = exchange_tolerant(port, &case.request)?;
    if resp.status != case.status {
        return Err(format!("got {} {:?}", resp.status, resp.text()));
    }
    let result = std::panic::catch_unwind(|| check_body(&resp, db, case));
    result.map_err(|e| panic_message(&e))
}

fn check_body(resp: &Response, db: &TestDb, case: &Case) {
    if let Some(title) = &case.stored {
        // The boundary cases: exactly 255 characters (of 1 or 2 bytes each) are stored.
        let id = assert_created(resp, title, "d");
        db.assert_row(id, title, "d");
        return;
    }
    assert_error(resp, case.status);
    if let Some(method) = case.allow {
        let allow = resp
            .header("allow")
            .unwrap_or_else(|| panic!("405 without Allow"));
        assert!(
            allow.split(',').any(|m| m.trim() == method),
            "Allow: {allow:?} lacks {method}"
        );
    }
}

/// Sends on a fresh connection; a write error (server closed early) still lets us read its answer.
fn exchange_tolerant(port: u16, request: &[u8]) -> Result<Response, String> {
    let mut conn = Conn::open(port).map_err(|e| format!("connect: {e}"))?;
    let sent = conn.send(request);
    conn.read_response()
        .map_err(|e| format!("no response ({e}; send: {sent:?})"))
}

fn panic_message(e: &Box<dyn std::any::Any + Send>) -> String {
    let text = e
        .downcast_ref::<String>()
        .map(String::as_str)
        .or(e.downcast_ref::<&str>().copied());
    text.unwrap_or("panic").to_string()
}

/// Each error case gets its status as JSON, and a fresh POST is still served after it.
fn error_cases(cfg: Cfg) {
    let db = TestDb::fresh();
    // A short read timeout: a server that waited for the unsent 10 MB body would answer 408.
    let server = cfg.start(&db, &["--read-timeout", "1"]);
    let mut failures = Vec::new();
    for (i, case) in cases().iter().enumerate() {
        if let Err(why) = run_case(server.port, &db, case) {
            failures.push(format!("{} (expected {}): {why}", case.name, case.status));
        }
        let title = format!("after case {i}");
        match exchange_tolerant(server.port, &support::form_request(&title, "still serving")) {
            Ok(resp) if resp.status == 201 => {}
            Ok(resp) => failures.push(format!(
                "after {}: POST got {} {:?}",
                case.name,
                resp.status,
                resp.text()
            )),
            Err(why) => failures.push(format!("after {}: POST failed: {why}", case.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A client that stops mid-request gets 408 after `--read-timeout`; a broken request closes only its own connection.
fn read_timeout_408(cfg: Cfg) {
    let db = TestDb::fresh();
    let server = cfg.start(&db, &["--read-timeout", "1"]);
    let mut idle_peer = Conn::open(server.port).expect("connect");
    idle_peer.send(&get_request("/health")).unwrap();
    assert_eq!(idle_peer.read_response().expect("health").status, 200);

    let mut slow = Conn::open(server.port).expect("connect");
    let started = Instant::now();
    slow.send(b"POST /api/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: applic")
        .unwrap();
    slow.set_read_timeout(Duration::from_secs(10));
    let resp = slow
        .read_response()
        .expect("a 408, not silence or a bare close");
    assert_error(&resp, 408);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "408 before the read timeout"
    );
    assert!(slow.closed_by_server(), "connection left open after 408");

    let title = "after 408";
    assert_created(&support::post_form(server.port, title, "d"), title, "d");
    // The other client's kept-alive connection was not affected (it is within the keep-alive timeout).
    idle_peer
        .send(&support::form_request("peer", "d"))
        .expect("peer connection still open");
    assert_created(
        &idle_peer.read_response().expect("peer response"),
        "peer",
        "d",
    );
}

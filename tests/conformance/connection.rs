//! Pipelining, persistence (HTTP/1.1 and HTTP/1.0), `Expect: 100-continue` and `HEAD`.
//!
//! One case per line (`rustfmt::skip`): a table reads better than one call over six lines.

use super::After::{Closed, Open};
use super::Step::{HeadStatus, Header, Send, Status};
use super::{case, health, post_form, post_raw, req, script, Case, FORM};

pub fn cases() -> Vec<Case> {
    [pipelining(), persistence(), expect(), head()]
        .into_iter()
        .flatten()
        .collect()
}

/// `GET {path}` on HTTP/1.1 with `Host` and extra header lines.
fn get(path: &str, fields: &str) -> String {
    req(
        &format!("GET {path} HTTP/1.1"),
        &format!("Host: h\r\n{fields}"),
        "",
    )
}

/// A form POST head with `Expect: 100-continue` (and `fields`), without its body.
fn expecting(version: &str, fields: &str) -> Vec<u8> {
    let line = format!("POST /api/tasks HTTP/{version}");
    let fields = format!("Host: h\r\nContent-Type: application/x-www-form-urlencoded\r\n{fields}");
    req(&line, &fields, "").into_bytes()
}

#[rustfmt::skip]
fn pipelining() -> Vec<Case> {
    let ten = health().repeat(10);
    let post = post_form();
    let split = post.split_at(30);
    vec![
        case("RFC 9112 §9.3.2", "POST, GET 404, GET in one write, answered in order", [post_form(), get("/nope", ""), health()].concat(), &[201, 404, 200], Open),
        case("RFC 9112 §9.3.2", "ten GETs in one write", ten, &[200; 10], Open),
        case("RFC 9112 §9.3.2", "a bad request ends the pipeline", [health(), "BAD\r\n\r\n".into(), health()].concat(), &[200, 400], Closed),
        script("RFC 9112 §9.3.2", "a request split across writes, another behind it", vec![Send(split.0.into()), Send([split.1, &health()].concat().into()), Status(201), Status(200)], Open),
    ]
}

#[rustfmt::skip]
fn persistence() -> Vec<Case> {
    let v10 = |fields: &str| req("GET /health HTTP/1.0", fields, "");
    let post10 = req("POST /api/tasks HTTP/1.0", "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 21\r\nConnection: keep-alive\r\n", FORM);
    vec![
        script("RFC 9112 §9.3", "HTTP/1.1 stays open by default", vec![Send(health().into()), Status(200), Header("connection", "keep-alive")], Open),
        script("RFC 9112 §9.6", "Connection: close is answered and closed", vec![Send(get("/health", "Connection: close\r\n").into()), Status(200), Header("connection", "close")], Closed),
        case("RFC 9110 §7.6.1", "connection options are case-insensitive, in a list", get("/health", "Connection: foo, CLOSE\r\n"), &[200], Closed),
        case("RFC 9112 §9.6", "nothing after a request with Connection: close is answered", [get("/health", "Connection: close\r\n"), health()].concat(), &[200], Closed),
        script("RFC 9112 §9.3", "HTTP/1.0 closes by default", vec![Send(v10("").into()), Status(200), Header("connection", "close")], Closed),
        script("RFC 9112 §9.3", "HTTP/1.0 with Connection: keep-alive stays open", vec![Send(v10("Connection: keep-alive\r\n").into()), Status(200), Header("connection", "keep-alive")], Open),
        case("RFC 9112 §9.3", "HTTP/1.0 keep-alive POST with Content-Length", post10, &[201], Open),
        case("RFC 9110 §15.5.12", "HTTP/1.0 POST without Content-Length", req("POST /api/tasks HTTP/1.0", "Content-Type: application/x-www-form-urlencoded\r\n", ""), &[411], Closed),
    ]
}

#[rustfmt::skip]
fn expect() -> Vec<Case> {
    let cl = "Content-Length: 21\r\n";
    vec![
        script("RFC 9110 §10.1.1", "100 Continue before the body, then the answer", vec![Send(expecting("1.1", &format!("Expect: 100-continue\r\n{cl}"))), Status(100), Send(FORM.into()), Status(201)], Open),
        script("RFC 9110 §10.1.1", "the expectation is case-insensitive", vec![Send(expecting("1.1", &format!("Expect: 100-Continue\r\n{cl}"))), Status(100), Send(FORM.into()), Status(201)], Open),
        script("RFC 9110 §10.1.1", "chunked body after 100 Continue", vec![Send(expecting("1.1", "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n")), Status(100), Send(b"15\r\ntitle=t&description=d\r\n0\r\n\r\n".to_vec()), Status(201)], Open),
        script("RFC 9110 §10.1.1", "no 100 Continue to HTTP/1.0", vec![Send(expecting("1.0", &format!("Expect: 100-continue\r\n{cl}"))), Send(FORM.into()), Status(201)], Closed),
        script("RFC 9110 §10.1.1", "a final status instead of 100 for a body too large", vec![Send(expecting("1.1", "Expect: 100-continue\r\nContent-Length: 65537\r\n")), Status(413)], Closed),
        case("RFC 9110 §10.1.1", "no 100 Continue for a request without a body", get("/health", "Expect: 100-continue\r\n"), &[200], Open),
        case("RFC 9110 §10.1.1", "another expectation is ignored", post_raw(&format!("Expect: x-other\r\n{cl}"), FORM), &[201], Open),
    ]
}

#[rustfmt::skip]
fn head() -> Vec<Case> {
    let head = |path: &str| req(&format!("HEAD {path} HTTP/1.1"), "Host: h\r\n", "");
    vec![
        script("RFC 9110 §9.3.2", "HEAD: GET's headers, no body", vec![Send(head("/health").into()), HeadStatus(200), Header("content-length", "31")], Open),
        script("RFC 9110 §9.3.2", "HEAD then GET in one write", vec![Send([head("/health"), health()].concat().into()), HeadStatus(200), Status(200)], Open),
        script("RFC 9110 §9.3.2", "HEAD of a missing task", vec![Send(head("/api/tasks/987654").into()), HeadStatus(404)], Open),
        script("RFC 9110 §9.3.2", "HEAD of the task list", vec![Send(head("/api/tasks/").into()), HeadStatus(200)], Open),
    ]
}

//! The request line, the request-target's forms, `Host`, and field syntax.
//!
//! One case per line (`rustfmt::skip`): a table reads better than one call over six lines.

use super::After::{Closed, Open};
use super::{case, req, Case, FORM};

/// `GET /health` with this request line's version and these header lines.
fn health_with(line: &str, fields: &str) -> String {
    req(line, fields, "")
}

/// `GET /health HTTP/1.1` with `Host: h` and one more header line.
fn with_field(field: &[u8]) -> Vec<u8> {
    [
        &b"GET /health HTTP/1.1\r\nHost: h\r\n"[..],
        field,
        b"\r\n\r\n",
    ]
    .concat()
}

pub fn cases() -> Vec<Case> {
    [request_line(), targets(), host(), fields()]
        .into_iter()
        .flatten()
        .collect()
}

#[rustfmt::skip]
fn request_line() -> Vec<Case> {
    let v11 = "Host: h\r\n";
    vec![
        case("RFC 9112 §3", "origin-form GET", health_with("GET /health HTTP/1.1", v11), &[200], Open),
        case("RFC 9112 §2.2", "empty line before the request line", format!("\r\n{}", health_with("GET /health HTTP/1.1", v11)), &[200], Open),
        case("RFC 9112 §2.2", "bare LF line endings", "GET /health HTTP/1.1\nHost: h\n\n", &[200], Open),
        case("RFC 9112 §2.2", "bare CR ending the request line", "GET /health HTTP/1.1\rHost: h\r\n\r\n", &[400], Closed),
        case("RFC 9112 §3", "two spaces after the method", health_with("GET  /health HTTP/1.1", v11), &[400], Closed),
        case("RFC 9112 §3", "tab as separator", health_with("GET\t/health HTTP/1.1", v11), &[400], Closed),
        case("RFC 9112 §3", "space after the version", health_with("GET /health HTTP/1.1 ", v11), &[400], Closed),
        case("RFC 9112 §3", "space inside the target", health_with("GET /hea lth HTTP/1.1", v11), &[400], Closed),
        case("RFC 9112 §3", "no target", health_with("GET HTTP/1.1", v11), &[400], Closed),
        case("RFC 9112 §3", "no version (HTTP/0.9 shape)", "GET /health\r\n\r\n", &[400], Closed),
        case("RFC 9112 §3.2", "NUL in the target", &b"GET /hea\0lth HTTP/1.1\r\nHost: h\r\n\r\n"[..], &[400], Closed),
        case("RFC 9112 §3.2", "non-ASCII byte in the target", &b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n"[..], &[400], Closed),
        case("RFC 9112 §2.3", "lowercase http/1.1", health_with("GET /health http/1.1", v11), &[400], Closed),
        case("RFC 9112 §2.3", "two-digit minor version", health_with("GET /health HTTP/1.10", v11), &[400], Closed),
        case("RFC 9110 §15.6.6", "HTTP/1.2", health_with("GET /health HTTP/1.2", v11), &[505], Closed),
        case("RFC 9110 §15.6.6", "HTTP/2.0", health_with("GET /health HTTP/2.0", v11), &[505], Closed),
        case("RFC 9110 §15.6.6", "HTTP/2 prior-knowledge preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &[505], Closed),
        case("RFC 9110 §9.1", "lowercase method (methods are case-sensitive)", health_with("get /health HTTP/1.1", v11), &[501], Closed),
        case("RFC 9110 §15.6.2", "unknown method", health_with("BREW /health HTTP/1.1", v11), &[501], Closed),
        case("RFC 9110 §9.3.6", "CONNECT (authority-form)", health_with("CONNECT h:443 HTTP/1.1", "Host: h:443\r\n"), &[501], Closed),
        case("RFC 9110 §15.5.6", "known method the resource does not allow", health_with("DELETE /api/tasks HTTP/1.1", v11), &[405], Open),
    ]
}

#[rustfmt::skip]
fn targets() -> Vec<Case> {
    let v11 = "Host: h\r\n";
    let form = "Host: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 21\r\n";
    assert_eq!(FORM.len(), 21);
    vec![
        case("RFC 9112 §3.2.2", "absolute-form GET", health_with("GET http://h/health HTTP/1.1", v11), &[200], Open),
        case("RFC 9112 §3.2.2", "absolute-form POST routes like /api/tasks/, its authority over Host", req("POST http://example.com:8080/api/tasks/ HTTP/1.1", form, FORM), &[201], Open),
        case("RFC 9110 §4.2.3", "absolute-form, scheme and host in uppercase", health_with("GET HTTPS://H:8000/health HTTP/1.1", v11), &[200], Open),
        case("RFC 9112 §3.2.1", "absolute-form without a path is /", health_with("GET http://h HTTP/1.1", v11), &[404], Open),
        case("RFC 9110 §4.2.4", "absolute-form with userinfo", health_with("GET http://u@h/health HTTP/1.1", v11), &[400], Closed),
        case("RFC 9110 §4.2.1", "absolute-form with an empty host", health_with("GET http:///health HTTP/1.1", v11), &[400], Closed),
        case("RFC 9112 §3.2", "absolute-form with another scheme", health_with("GET ftp://h/health HTTP/1.1", v11), &[400], Closed),
        case("RFC 9112 §3.2", "relative target", health_with("GET health HTTP/1.1", v11), &[400], Closed),
        case("RFC 9112 §3.2.4", "asterisk-form with GET", health_with("GET * HTTP/1.1", v11), &[400], Closed),
        case("RFC 9112 §3.2.1", "fragment in the target", health_with("GET /health#top HTTP/1.1", v11), &[400], Closed),
    ]
}

#[rustfmt::skip]
fn host() -> Vec<Case> {
    vec![
        case("RFC 9112 §3.2", "HTTP/1.1 without Host", health_with("GET /health HTTP/1.1", ""), &[400], Closed),
        case("RFC 9112 §3.2", "two Host fields", health_with("GET /health HTTP/1.1", "Host: a\r\nHost: b\r\n"), &[400], Closed),
        case("RFC 9112 §3.2", "two equal Host fields", health_with("GET /health HTTP/1.1", "Host: a\r\nhost: a\r\n"), &[400], Closed),
        case("RFC 9112 §3.2", "Host with a path", health_with("GET /health HTTP/1.1", "Host: h/x\r\n"), &[400], Closed),
        case("RFC 9112 §3.2", "Host with userinfo", health_with("GET /health HTTP/1.1", "Host: u@h\r\n"), &[400], Closed),
        case("RFC 9112 §3.2", "Host with a bad port", health_with("GET /health HTTP/1.1", "Host: h:80x\r\n"), &[400], Closed),
        case("RFC 9112 §3.2", "empty Host", health_with("GET /health HTTP/1.1", "Host:\r\n"), &[200], Open),
        case("RFC 9112 §3.2", "Host with an IPv6 literal and port", health_with("GET /health HTTP/1.1", "Host: [::1]:8000\r\n"), &[200], Open),
        case("RFC 9112 §3.2", "absolute-form still needs Host", health_with("GET http://h/health HTTP/1.1", ""), &[400], Closed),
        case("RFC 9112 §3.2.2", "absolute-form authority differs from Host", health_with("GET http://other.example/health HTTP/1.1", "Host: h\r\n"), &[200], Open),
        case("RFC 9112 §3.2", "HTTP/1.0 without Host", health_with("GET /health HTTP/1.0", ""), &[200], Closed),
        case("RFC 9112 §3.2", "HTTP/1.0 with two Host fields", health_with("GET /health HTTP/1.0", "Host: a\r\nHost: a\r\n"), &[400], Closed),
    ]
}

#[rustfmt::skip]
fn fields() -> Vec<Case> {
    vec![
        case("RFC 9112 §5.1", "space between field name and colon", with_field(b"X-A : b"), &[400], Closed),
        case("RFC 9112 §5.1", "tab between field name and colon", with_field(b"X-A\t: b"), &[400], Closed),
        case("RFC 9112 §5.1", "no whitespace after the colon", with_field(b"X-A:b"), &[200], Open),
        case("RFC 9112 §5.1", "trailing whitespace in a value", with_field(b"X-A: b \t"), &[200], Open),
        case("RFC 9110 §5.1", "field names are case-insensitive", health_with("GET /health HTTP/1.1", "hOsT: h\r\n"), &[200], Open),
        case("RFC 9112 §5.2", "obs-fold continuation line", with_field(b"X-A: b\r\n c"), &[400], Closed),
        case("RFC 9112 §2.2", "whitespace line before the first field", "GET /health HTTP/1.1\r\n X: y\r\nHost: h\r\n\r\n", &[400], Closed),
        case("RFC 9112 §5", "field line without a colon", with_field(b"X-A b"), &[400], Closed),
        case("RFC 9110 §5.1", "empty field name", with_field(b": b"), &[400], Closed),
        case("RFC 9110 §5.1", "delimiter in a field name", with_field(b"X(A): b"), &[400], Closed),
        case("RFC 9110 §5.1", "non-ASCII byte in a field name", with_field(b"X-\xc3\xa9: b"), &[400], Closed),
        case("RFC 9112 §2.2", "bare CR in a value", with_field(b"X-A: b\rc"), &[400], Closed),
        case("RFC 9110 §5.5", "NUL in a value", with_field(b"X-A: b\0c"), &[400], Closed),
        case("RFC 9110 §5.5", "control character in a value", with_field(b"X-A: b\x01c"), &[400], Closed),
        case("RFC 9110 §5.5", "DEL in a value", with_field(b"X-A: b\x7fc"), &[400], Closed),
        case("RFC 9110 §5.5", "obs-text in a value", with_field(b"X-A: caf\xe9"), &[200], Open),
    ]
}

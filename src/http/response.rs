//! Response encoding (status line, headers, cached `Date`, JSON body).
//!
//! CONTRACT: [`encode`] appends one whole response to a write buffer; [`encode_for_head`]
//! does the same for a `HEAD` request (same headers, no body), which only the caller
//! knows about, so the worker picks the function by the request's method.
//! [`encode_json_with`] appends a response whose body a closure writes in place (the
//! 201 of a committed insert, with no `Response` built). Numbers are written with
//! itoa, never `format!`; header values with [`HeaderValue`] need no allocation.

pub use super::date::DateCache;
pub use super::header::{Header, HeaderValue, Headers};
use super::json::error_body;
use super::numbers::push_u64;

/// The interim response sent once per request that asked for it.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// What a response's body is: its `Content-Type`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Media {
    /// `application/json` (every answer but one).
    #[default]
    Json,
    /// Prometheus' text exposition format 0.0.4 (`GET /metrics`).
    PrometheusText,
}

impl Media {
    /// The `Content-Type` value.
    pub fn content_type(self) -> &'static str {
        match self {
            Media::Json => "application/json",
            Media::PrometheusText => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// A response before encoding; the body is JSON unless [`Response::media`] says otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Extra headers (e.g. `Location`, `Allow`, `Retry-After`); `Content-Type`,
    /// `Content-Length`, `Date`, `Server` and `Connection` are added by [`encode`].
    pub headers: Headers,
    /// JSON body bytes.
    pub body: Vec<u8>,
    /// Close the connection after this response even if the client wanted keep-alive
    /// (set for errors after which the rest of the stream cannot be trusted).
    pub close: bool,
    /// The body's media type.
    pub media: Media,
}

impl Response {
    /// A response with a JSON body and no extra headers.
    pub fn json(status: u16, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: Headers::default(),
            body,
            close: false,
            media: Media::Json,
        }
    }

    /// A 200 in Prometheus' text exposition format.
    pub fn prometheus_text(body: Vec<u8>) -> Response {
        Response {
            media: Media::PrometheusText,
            ..Response::json(200, body)
        }
    }

    /// `{"error": message}`; closes the connection for statuses after which the
    /// request framing, and so the rest of the byte stream, cannot be trusted.
    pub fn error(status: u16, message: &str) -> Response {
        let close = matches!(status, 400 | 408 | 411 | 413 | 431 | 501 | 505);
        Response {
            close,
            ..Response::json(status, error_body(message))
        }
    }

    /// Adds an extra header (the value must not contain CR or LF); see [`HeaderValue`]
    /// for values that cost no allocation.
    pub fn with_header(mut self, name: &'static str, value: impl Into<HeaderValue>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    /// Whether the connection stays open after this response, given the client's wish.
    pub fn keeps_alive(&self, client_keep_alive: bool) -> bool {
        client_keep_alive && !self.close
    }
}

/// The reason phrase for each status the server uses (`""` for others, which RFC 9112
/// allows).
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Appends the encoded response to `out`.
pub fn encode(resp: &Response, keep_alive: bool, date: &mut DateCache, out: &mut Vec<u8>) {
    push_head(resp, keep_alive, date.now(), out);
    out.extend_from_slice(&resp.body);
}

/// Appends the response to a `HEAD` request: the headers `encode` would write,
/// `Content-Length` included, without the body (RFC 9110 §9.3.2).
pub fn encode_for_head(resp: &Response, keep_alive: bool, date: &mut DateCache, out: &mut Vec<u8>) {
    push_head(resp, keep_alive, date.now(), out);
}

/// Appends a JSON response whose body `body` writes straight into `out`: the hot path's
/// alternative to building a [`Response`] (no body `Vec`, no header list). `keep_alive`
/// is final (the caller has already combined the client's wish with its own).
pub fn encode_json_with(
    status: u16,
    headers: &[Header],
    keep_alive: bool,
    date: &mut DateCache,
    out: &mut Vec<u8>,
    body: impl FnOnce(&mut Vec<u8>),
) {
    push_json_with(status, headers, keep_alive, date.now(), out, body);
}

/// Status line and headers, up to and including the empty line.
fn push_head(resp: &Response, keep_alive: bool, date: &[u8], out: &mut Vec<u8>) {
    push_head_start(out, resp.status, resp.media, date);
    push_u64(out, resp.body.len() as u64);
    push_head_end(out, resp.keeps_alive(keep_alive), resp.headers.iter());
}

/// [`encode_json_with`] at a given `Date`.
///
/// `Content-Length` precedes the body, so its digits are reserved for a 3-digit body
/// (a task's JSON is 100–999 bytes) and set once the body is written; a body of another
/// size shifts itself once to fit.
fn push_json_with(
    status: u16,
    headers: &[Header],
    keep_alive: bool,
    date: &[u8],
    out: &mut Vec<u8>,
    body: impl FnOnce(&mut Vec<u8>),
) {
    const GUESS: usize = 3;
    push_head_start(out, status, Media::Json, date);
    let length_at = out.len();
    out.extend_from_slice(&[b'0'; GUESS]);
    push_head_end(out, keep_alive, headers.iter());
    let body_at = out.len();
    body(out);
    let mut length = itoa::Buffer::new();
    let digits = length.format(out.len() - body_at).as_bytes();
    if digits.len() == GUESS {
        out[length_at..length_at + GUESS].copy_from_slice(digits);
    } else {
        out.splice(length_at..length_at + GUESS, digits.iter().copied());
    }
}

/// The status line and fixed headers, up to `Content-Length: ` (its digits are next).
#[inline]
fn push_head_start(out: &mut Vec<u8>, status: u16, media: Media, date: &[u8]) {
    out.extend_from_slice(b"HTTP/1.1 ");
    push_u64(out, u64::from(status));
    out.push(b' ');
    out.extend_from_slice(reason(status).as_bytes());
    out.extend_from_slice(b"\r\nServer: prefork\r\nDate: ");
    out.extend_from_slice(date);
    out.extend_from_slice(b"\r\nContent-Type: ");
    out.extend_from_slice(media.content_type().as_bytes());
    out.extend_from_slice(b"\r\nContent-Length: ");
}

/// The rest of the head after the `Content-Length` digits, up to the empty line.
#[inline]
fn push_head_end<'h>(
    out: &mut Vec<u8>,
    keep_alive: bool,
    headers: impl Iterator<Item = &'h Header>,
) {
    out.extend_from_slice(if keep_alive {
        b"\r\nConnection: keep-alive\r\n"
    } else {
        b"\r\nConnection: close\r\n"
    });
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &[u8] = b"Sun, 06 Nov 1994 08:49:37 GMT";

    fn head_text(resp: &Response, keep_alive: bool) -> String {
        let mut out = Vec::new();
        push_head(resp, keep_alive, DATE, &mut out);
        String::from_utf8(out).unwrap()
    }

    /// The full wire format of a keep-alive response with an extra header.
    #[test]
    fn encodes_status_headers_and_body() {
        let resp = Response::json(201, b"{}".to_vec()).with_header("Location", "/api/tasks/7");
        let mut out = Vec::new();
        push_head(&resp, true, DATE, &mut out);
        out.extend_from_slice(&resp.body);
        let expected =
            "HTTP/1.1 201 Created\r\nServer: prefork\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
            Content-Type: application/json\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\
            Location: /api/tasks/7\r\n\r\n{}";
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    /// `Connection: close` when the client or the response asks for it.
    #[test]
    fn connection_close() {
        let ok = Response::json(200, Vec::new());
        assert!(head_text(&ok, false).contains("\r\nConnection: close\r\n"));
        let bad = Response::error(400, "x");
        assert!(head_text(&bad, true).contains("\r\nConnection: close\r\n"));
        assert!(!bad.keeps_alive(true) && ok.keeps_alive(true) && !ok.keeps_alive(false));
    }

    /// `encode` appends the body; `encode_for_head` keeps Content-Length but drops it.
    #[test]
    fn encode_and_encode_for_head() {
        let resp = Response::json(200, br#"{"status":"ok"}"#.to_vec());
        let (mut full, mut head) = (b"prev".to_vec(), Vec::new());
        encode(&resp, true, &mut DateCache::default(), &mut full);
        encode_for_head(&resp, true, &mut DateCache::default(), &mut head);
        assert!(
            full.starts_with(b"prevHTTP/1.1 200 OK\r\n") && full.ends_with(br#"{"status":"ok"}"#)
        );
        assert!(head.ends_with(b"Content-Length: 15\r\nConnection: keep-alive\r\n\r\n"));
        assert_eq!(full.len() - 4, head.len() + resp.body.len());
    }

    /// The direct encoder writes exactly what `encode` writes for the same response, for
    /// bodies whose length has fewer, as many or more digits than reserved.
    #[test]
    fn encode_json_with_matches_encode() {
        for len in [0, 9, 10, 99, 100, 999, 1000, 12_345] {
            let body = vec![b'x'; len];
            for keep_alive in [true, false] {
                let resp = Response::json(201, body.clone())
                    .with_header("Location", HeaderValue::with_number("/api/tasks/", 7))
                    .with_header("Retry-After", "1");
                let mut expected = b"prev".to_vec();
                push_head(&resp, keep_alive, DATE, &mut expected);
                expected.extend_from_slice(&body);
                let headers: Vec<Header> = resp.headers.iter().cloned().collect();
                let mut direct = b"prev".to_vec();
                push_json_with(201, &headers, keep_alive, DATE, &mut direct, |out| {
                    out.extend_from_slice(&body)
                });
                assert_eq!(direct, expected, "{len} {keep_alive}");
            }
        }
        let mut out = Vec::new();
        encode_json_with(200, &[], true, &mut DateCache::default(), &mut out, |o| {
            o.extend_from_slice(b"{}")
        });
        assert!(
            out.starts_with(b"HTTP/1.1 200 OK\r\n")
                && out.ends_with(b"Content-Length: 2\r\nConnection: keep-alive\r\n\r\n{}")
        );
    }

    /// A `Response` stays small enough to return by value in a `Result` (clippy's
    /// `result_large_err` draws the line at 128 bytes).
    #[test]
    fn response_stays_small() {
        assert!(std::mem::size_of::<Response>() <= 128);
    }

    /// Error responses: JSON body; close exactly for the untrustworthy-stream statuses.
    #[test]
    fn error_responses() {
        let resp = Response::error(404, "no \"such\" task");
        assert_eq!(resp.body, br#"{"error":"no \"such\" task"}"#);
        for status in [400, 404, 405, 408, 411, 413, 415, 431, 500, 501, 503, 505] {
            let close = [400, 408, 411, 413, 431, 501, 505].contains(&status);
            assert_eq!(Response::error(status, "x").close, close, "{status}");
        }
    }

    /// Statuses outside 100..=999 still get a well-formed status line.
    #[test]
    fn odd_status_codes() {
        for (status, line) in [(42, "HTTP/1.1 42 \r\n"), (1000, "HTTP/1.1 1000 \r\n")] {
            let text = head_text(&Response::json(status, Vec::new()), true);
            assert!(text.starts_with(line), "{text}");
        }
    }

    /// Every status the server uses has its reason phrase.
    #[test]
    fn reason_phrases() {
        for status in [
            100, 200, 201, 400, 404, 405, 408, 411, 413, 415, 431, 500, 501, 503, 505,
        ] {
            assert!(!reason(status).is_empty(), "{status}");
        }
        assert_eq!(reason(413), "Content Too Large");
        assert_eq!(reason(299), "");
    }
}

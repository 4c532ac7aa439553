//! Response encoding (status line, headers, cached `Date`, JSON body).
//!
//! CONTRACT: [`encode`] appends one whole response to a write buffer; [`encode_for_head`]
//! does the same for a `HEAD` request (same headers, no body), which only the caller
//! knows about, so the worker picks the function by the request's method.

use std::time::{SystemTime, UNIX_EPOCH};

use super::json::error_body;
use super::numbers::push_u64;

/// The interim response sent once per request that asked for it.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// A response before encoding; the body is always JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Extra headers (e.g. `Location`, `Allow`, `Retry-After`); `Content-Type`,
    /// `Content-Length`, `Date`, `Server` and `Connection` are added by [`encode`].
    pub headers: Vec<(&'static str, String)>,
    /// JSON body bytes.
    pub body: Vec<u8>,
    /// Close the connection after this response even if the client wanted keep-alive
    /// (set for errors after which the rest of the stream cannot be trusted).
    pub close: bool,
}

impl Response {
    /// A response with a JSON body and no extra headers.
    pub fn json(status: u16, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body,
            close: false,
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

    /// Adds an extra header (the value must not contain CR or LF).
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
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

/// The `Date` header value, formatted at most once per second.
#[derive(Debug, Default)]
pub struct DateCache {
    /// The second `value` was formatted for (`None` before first use).
    secs: Option<u64>,
    value: [u8; 29],
}

impl DateCache {
    /// The current time as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
    pub fn now(&mut self) -> &[u8] {
        // A clock before 1970 is a broken machine; 1970 is as good a date as any there.
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.at(secs)
    }

    /// The IMF-fixdate for `unix_secs`, reformatted only when the second changed.
    pub fn at(&mut self, unix_secs: u64) -> &[u8] {
        if self.secs != Some(unix_secs) {
            self.value = imf_fixdate(unix_secs);
            self.secs = Some(unix_secs);
        }
        &self.value
    }
}

/// Formats seconds since the Unix epoch as an IMF-fixdate (RFC 9110 §5.6.7).
pub fn imf_fixdate(unix_secs: u64) -> [u8; 29] {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let days = unix_secs / 86_400;
    let secs_of_day = unix_secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    // 1970-01-01 was a Thursday.
    out[0..3].copy_from_slice(DAYS[(days % 7) as usize]);
    put_digits(&mut out[5..7], day);
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    put_digits(&mut out[12..16], year);
    put_digits(&mut out[17..19], secs_of_day / 3600);
    put_digits(&mut out[20..22], secs_of_day / 60 % 60);
    put_digits(&mut out[23..25], secs_of_day % 60);
    out
}

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01, by Howard
/// Hinnant's `civil_from_days` (eras of 400 years, years starting in March).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Writes `n` as zero-padded decimal filling `out` (high digits dropped if too long).
fn put_digits(out: &mut [u8], mut n: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
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

/// Status line and headers, up to and including the empty line.
fn push_head(resp: &Response, keep_alive: bool, date: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"HTTP/1.1 ");
    push_u64(out, u64::from(resp.status));
    out.push(b' ');
    out.extend_from_slice(reason(resp.status).as_bytes());
    out.extend_from_slice(b"\r\nServer: prefork\r\nDate: ");
    out.extend_from_slice(date);
    out.extend_from_slice(b"\r\nContent-Type: application/json\r\nContent-Length: ");
    push_u64(out, resp.body.len() as u64);
    out.extend_from_slice(if resp.keeps_alive(keep_alive) {
        b"\r\nConnection: keep-alive\r\n"
    } else {
        b"\r\nConnection: close\r\n"
    });
    for (name, value) in &resp.headers {
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

    /// IMF-fixdate for known instants: epoch, RFC example, leap days, century, year 9999.
    #[test]
    fn imf_fixdate_known_instants() {
        for (secs, text) in [
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (1_709_164_799, "Wed, 28 Feb 2024 23:59:59 GMT"),
            (1_709_164_800, "Thu, 29 Feb 2024 00:00:00 GMT"),
            (4_102_444_800, "Fri, 01 Jan 2100 00:00:00 GMT"),
            (253_402_300_799, "Fri, 31 Dec 9999 23:59:59 GMT"),
        ] {
            assert_eq!(
                std::str::from_utf8(&imf_fixdate(secs)).unwrap(),
                text,
                "{secs}"
            );
        }
    }

    /// The cache reformats only when the second changes; `now` is a plausible date.
    #[test]
    fn date_cache_follows_the_second() {
        let mut cache = DateCache::default();
        assert_eq!(cache.at(784_111_777), DATE);
        assert_eq!(cache.at(784_111_777), DATE);
        assert_eq!(cache.at(784_111_778), b"Sun, 06 Nov 1994 08:49:38 GMT");
        let now = cache.now().to_vec();
        assert!(now.ends_with(b" GMT") && now.len() == 29);
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

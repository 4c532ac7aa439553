//! Request parsing (httparse for the head; Content-Length and chunked bodies).
//!
//! CONTRACT: `parse(buf, limits)` looks at the start of `buf`:
//! - `Ok(Progress::Complete { request, consumed })`: one whole request, `consumed` bytes long;
//! - `Ok(Progress::Incomplete { expects_continue })`: need more bytes; `expects_continue`
//!   is true when the head is complete, carries `Expect: 100-continue`, and the body is
//!   not all here yet (the caller sends `100 Continue` once per request);
//! - `Err(ParseError)`: a bad request; each variant maps to one status via `status()`.
//!
//! The parser keeps no state between calls: the caller calls it again, on the same
//! buffer, whenever more bytes arrived. That stays cheap because the head is re-parsed
//! by httparse only within `max_head` bytes, a Content-Length body is a length check,
//! a chunked body is one bounded walk (see `chunked`), and nothing is allocated until
//! a whole request is present. Limits are enforced as soon as they can be: a head that
//! already exceeds `max_head` is 431 even if incomplete, a Content-Length over
//! `max_body` is 413 before any body byte arrives.

use std::mem::MaybeUninit;

use super::chunked;
use super::head::{httparse_error, Framing, Head};
use crate::config::Limits;

/// Header slots kept on the stack; a larger `Limits::max_headers` falls back to the heap.
const STACK_HEADERS: usize = 128;

/// The request methods the router distinguishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// HEAD
    Head,
    /// POST
    Post,
    /// Any other token (PUT, DELETE, PATCH, OPTIONS, …).
    Other(String),
}

/// One complete request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The path, without the query string (not percent-decoded).
    pub path: String,
    /// The query string after `?` (empty if none).
    pub query: String,
    /// The `Content-Type` header value as sent, if any.
    pub content_type: Option<String>,
    /// Whether the connection stays open after the response (HTTP/1.1 default yes unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`).
    pub keep_alive: bool,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

/// Result of looking at the front of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// One whole request occupying the first `consumed` bytes.
    Complete {
        /// The request.
        request: Request,
        /// Bytes it occupied in the buffer.
        consumed: usize,
    },
    /// More bytes are needed.
    Incomplete {
        /// Head complete with `Expect: 100-continue`, body still missing.
        expects_continue: bool,
    },
}

/// A request that cannot be served; each variant has exactly one status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Syntax error in the head or chunked framing (400).
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    /// Head larger than `Limits::max_head` (431).
    #[error("request header fields too large")]
    HeadTooLarge,
    /// More than `Limits::max_headers` headers (431).
    #[error("too many header fields")]
    TooManyHeaders,
    /// A body-carrying method without Content-Length or chunked (411).
    #[error("length required")]
    LengthRequired,
    /// Body larger than `Limits::max_body` (413).
    #[error("request body too large")]
    BodyTooLarge,
    /// A Transfer-Encoding other than chunked (501).
    #[error("unsupported transfer encoding")]
    UnsupportedTransferEncoding,
    /// Not HTTP/1.0 or HTTP/1.1 (505).
    #[error("HTTP version not supported")]
    UnsupportedVersion,
}

impl ParseError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            ParseError::Malformed(_) => 400,
            ParseError::HeadTooLarge | ParseError::TooManyHeaders => 431,
            ParseError::LengthRequired => 411,
            ParseError::BodyTooLarge => 413,
            ParseError::UnsupportedTransferEncoding => 501,
            ParseError::UnsupportedVersion => 505,
        }
    }
}

/// Parses the request at the front of `buf` (see the module docs).
pub fn parse(buf: &[u8], limits: &Limits) -> Result<Progress, ParseError> {
    // Uninitialised slots: httparse writes only the ones it fills, so a call that finds
    // the head incomplete costs no per-slot initialisation.
    if limits.max_headers <= STACK_HEADERS {
        let mut headers = [const { MaybeUninit::uninit() }; STACK_HEADERS];
        parse_with(buf, limits, &mut headers[..limits.max_headers])
    } else {
        let mut headers = Vec::with_capacity(limits.max_headers);
        parse_with(
            buf,
            limits,
            &mut headers.spare_capacity_mut()[..limits.max_headers],
        )
    }
}

fn parse_with<'b>(
    buf: &'b [u8],
    limits: &Limits,
    headers: &mut [MaybeUninit<httparse::Header<'b>>],
) -> Result<Progress, ParseError> {
    // Parsing at most max_head bytes bounds the work per call, and a head that does not
    // fit in them is too large whatever follows.
    let window = &buf[..buf.len().min(limits.max_head)];
    let mut req = httparse::Request::new(&mut []);
    let head_len = match req.parse_with_uninit_headers(window, headers) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > limits.max_head => {
            return Err(ParseError::HeadTooLarge)
        }
        Ok(httparse::Status::Partial) => {
            return Ok(Progress::Incomplete {
                expects_continue: false,
            })
        }
        Err(e) => return Err(httparse_error(e, window)),
    };
    let head = Head::read(&req)?;
    let Some((body, body_len)) = body(head.framing(limits)?, &buf[head_len..], limits)? else {
        return Ok(Progress::Incomplete {
            expects_continue: head.expects_continue(),
        });
    };
    Ok(Progress::Complete {
        request: request(&head, body),
        consumed: head_len + body_len,
    })
}

/// The body and its length on the wire, or `None` while it is not all here.
fn body(
    framing: Framing,
    rest: &[u8],
    limits: &Limits,
) -> Result<Option<(Vec<u8>, usize)>, ParseError> {
    match framing {
        Framing::Empty => Ok(Some((Vec::new(), 0))),
        Framing::Length(n) if rest.len() < n => Ok(None),
        Framing::Length(n) => Ok(Some((rest[..n].to_vec(), n))),
        Framing::Chunked => chunked::decode(rest, limits),
    }
}

/// The owned request: the only allocations of a parse.
fn request(head: &Head<'_>, body: Vec<u8>) -> Request {
    let (path, query) = head.target.split_once('?').unwrap_or((head.target, ""));
    Request {
        method: Method::from_token(head.method),
        path: path.to_owned(),
        query: query.to_owned(),
        content_type: head.content_type.map(str::to_owned),
        keep_alive: head.keep_alive(),
        body,
    }
}

impl Method {
    /// The method for a request-line token (methods are case-sensitive).
    pub fn from_token(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            other => Method::Other(other.to_owned()),
        }
    }

    /// The method's token as sent.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Other(token) => token,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::default()
    }

    fn complete(buf: &[u8]) -> (Request, usize) {
        match parse(buf, &limits()) {
            Ok(Progress::Complete { request, consumed }) => (request, consumed),
            other => panic!("expected a complete request, got {other:?}"),
        }
    }

    fn error(buf: &[u8]) -> ParseError {
        parse(buf, &limits()).expect_err("expected an error")
    }

    const INCOMPLETE: Result<Progress, ParseError> = Ok(Progress::Incomplete {
        expects_continue: false,
    });

    /// A plain GET: method, path and query split, keep-alive by default, all bytes consumed.
    #[test]
    fn simple_get() {
        let buf = b"GET /api/tasks?limit=5 HTTP/1.1\r\nHost: x\r\n\r\n";
        let (req, used) = complete(buf);
        assert_eq!(req.method, Method::Get);
        assert_eq!(
            (req.path.as_str(), req.query.as_str()),
            ("/api/tasks", "limit=5")
        );
        assert!(req.keep_alive && req.body.is_empty() && req.content_type.is_none());
        assert_eq!(used, buf.len());
    }

    /// Two requests in one buffer: `consumed` points at the second, which parses too.
    #[test]
    fn pipelined_requests() {
        let first =
            &b"POST /api/tasks HTTP/1.1\r\nContent-Type: a/b\r\nContent-Length: 3\r\n\r\nabc"[..];
        let second = &b"GET /health HTTP/1.1\r\n\r\n"[..];
        let buf = [first, second].concat();
        let (req, used) = complete(&buf);
        assert_eq!(
            (req.method, req.body, req.content_type),
            (Method::Post, b"abc".to_vec(), Some("a/b".into()))
        );
        assert_eq!(used, first.len());
        let (req, used) = complete(&buf[used..]);
        assert_eq!((req.path.as_str(), used), ("/health", second.len()));
    }

    /// Every strict prefix of a head is incomplete, never an error.
    #[test]
    fn partial_heads_are_incomplete() {
        let buf = b"GET /health HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n";
        for cut in 0..buf.len() {
            assert_eq!(parse(&buf[..cut], &limits()), INCOMPLETE, "cut at {cut}");
        }
    }

    /// A Content-Length body split anywhere is incomplete until its last byte.
    #[test]
    fn partial_bodies_are_incomplete() {
        let buf = b"POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789";
        for cut in 0..buf.len() {
            assert_eq!(parse(&buf[..cut], &limits()), INCOMPLETE, "cut at {cut}");
        }
        assert_eq!(complete(buf).0.body, b"0123456789");
    }

    /// Expect: 100-continue is reported once the head is here and until the body is.
    #[test]
    fn expect_continue_while_body_missing() {
        let head = b"POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
        assert_eq!(parse(&head[..head.len() - 1], &limits()), INCOMPLETE);
        for extra in [&b""[..], b"a"] {
            let buf = [&head[..], extra].concat();
            assert_eq!(
                parse(&buf, &limits()),
                Ok(Progress::Incomplete {
                    expects_continue: true
                })
            );
        }
        assert_eq!(complete(&[&head[..], b"ab"].concat()).0.body, b"ab");
    }

    /// A chunked request split at every byte offset: incomplete, then the de-chunked body.
    #[test]
    fn chunked_split_at_every_offset() {
        let req = &b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n1\r\n!\r\n0\r\nT: v\r\n\r\n"[..];
        let buf = [req, b"GET / HTTP/1.1\r\n\r\n"].concat();
        for cut in 0..req.len() {
            assert_eq!(parse(&buf[..cut], &limits()), INCOMPLETE, "cut at {cut}");
        }
        for end in [req.len(), buf.len()] {
            let (r, used) = complete(&buf[..end]);
            assert_eq!((r.body.as_slice(), used), (&b"hello!"[..], req.len()));
        }
    }

    /// HTTP/1.0 closes unless asked; leading empty lines are skipped and consumed.
    #[test]
    fn http10_and_leading_crlf() {
        assert!(!complete(b"GET / HTTP/1.0\r\n\r\n").0.keep_alive);
        let buf = b"\r\nGET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n";
        assert_eq!(
            (complete(buf).1, complete(buf).0.keep_alive),
            (buf.len(), true)
        );
    }

    /// Methods other than GET/HEAD/POST are kept verbatim.
    #[test]
    fn other_methods() {
        assert_eq!(complete(b"HEAD / HTTP/1.1\r\n\r\n").0.method, Method::Head);
        let (req, _) = complete(b"DELETE /api/tasks/1 HTTP/1.1\r\n\r\n");
        assert_eq!(req.method.as_str(), "DELETE");
        assert_eq!(req.method, Method::Other("DELETE".into()));
        assert_eq!(Method::from_token("get"), Method::Other("get".into()));
    }

    /// Syntax errors and NUL bytes in the head are 400.
    #[test]
    fn malformed_heads() {
        for bad in [
            &b"GET\r\n\r\n"[..],
            b"GET / FOO/1.1\r\n\r\n",
            b"GET /\0 HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\0b\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Name: v\r\n\r\n",
            b"\0GET / HTTP/1.1\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
        ] {
            let msg = String::from_utf8_lossy(bad);
            assert_eq!(error(bad).status(), 400, "{msg:?}");
        }
    }

    /// A head over max_head is 431 whether or not it is complete; exactly max_head is fine.
    #[test]
    fn head_too_large() {
        let small = Limits {
            max_head: 64,
            ..limits()
        };
        let pad = |n: usize| format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(n)).into_bytes();
        let exact = pad(64 - pad(0).len());
        assert!(matches!(
            parse(&exact, &small),
            Ok(Progress::Complete { .. })
        ));
        let over = pad(65 - pad(0).len());
        assert_eq!(parse(&over, &small), Err(ParseError::HeadTooLarge));
        assert_eq!(parse(&over[..65], &small), Err(ParseError::HeadTooLarge));
        assert_eq!(parse(&over[..64], &small), INCOMPLETE);
    }

    /// max_headers headers are fine, one more is 431, also beyond the stack slots.
    #[test]
    fn too_many_headers() {
        for max in [64, STACK_HEADERS + 10] {
            let lim = Limits {
                max_headers: max,
                max_head: 1 << 20,
                ..limits()
            };
            let req = |n: usize| ["GET / HTTP/1.1\r\n", &"X: y\r\n".repeat(n), "\r\n"].concat();
            assert!(matches!(
                parse(req(max).as_bytes(), &lim),
                Ok(Progress::Complete { .. })
            ));
            assert_eq!(
                parse(req(max + 1).as_bytes(), &lim),
                Err(ParseError::TooManyHeaders)
            );
        }
    }

    /// Each remaining error variant from a whole request, with its status.
    #[test]
    fn error_variants_and_statuses() {
        use ParseError::*;
        for (buf, want, status) in [
            (
                &b"POST / HTTP/1.1\r\nContent-Length: 65537\r\n\r\n"[..],
                BodyTooLarge,
                413,
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10001\r\n",
                BodyTooLarge,
                413,
            ),
            (b"POST / HTTP/1.1\r\n\r\n", LengthRequired, 411),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
                UnsupportedTransferEncoding,
                501,
            ),
            (b"GET / HTTP/2.0\r\n\r\n", UnsupportedVersion, 505),
            (b"GET / HTTP/1.2\r\n\r\n", UnsupportedVersion, 505),
            (b"GET / HTTP/3", UnsupportedVersion, 505),
            (&[b'x'; 9000], HeadTooLarge, 431),
        ] {
            let got = error(buf);
            assert_eq!((got.status(), &got), (status, &want));
        }
        assert_eq!(
            (Malformed("x").status(), TooManyHeaders.status()),
            (400, 431)
        );
    }
}

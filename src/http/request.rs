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
pub use super::error::ParseError;
use super::head::{Framing, Head};
use super::limits::Limits;
use super::line::{httparse_error, request_line};

/// Header slots kept on the stack; a larger `Limits::max_headers` falls back to the heap.
const STACK_HEADERS: usize = 128;

/// The request methods the router distinguishes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Method {
    /// GET
    #[default]
    Get,
    /// HEAD
    Head,
    /// POST
    Post,
    /// Any other token (PUT, DELETE, PATCH, OPTIONS, …).
    Other(String),
}

/// One complete request.
///
/// `Default` is an empty `GET` with no path: a buffer for [`parse_into`] to fill.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The path, without the query string (not percent-decoded); from an absolute-form
    /// target (`http://host/path`) its path, `/` if it has none.
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

/// Result of [`parse_into`]: [`Progress`] with the request in the caller's `Request`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// The caller's `Request` now holds one whole request, `consumed` bytes long.
    Complete {
        /// Bytes it occupied in the buffer.
        consumed: usize,
    },
    /// More bytes are needed; the caller's `Request` is unchanged.
    Incomplete {
        /// Head complete with `Expect: 100-continue`, body still missing.
        expects_continue: bool,
    },
}

/// Parses the request at the front of `buf` (see the module docs).
pub fn parse(buf: &[u8], limits: &Limits) -> Result<Progress, ParseError> {
    let Some((head, head_len)) = read_head(buf, limits)? else {
        return Ok(Progress::Incomplete {
            expects_continue: false,
        });
    };
    let Some((body, body_len)) = read_new_body(&head, &buf[head_len..], limits)? else {
        return Ok(Progress::Incomplete {
            expects_continue: head.expects_continue(),
        });
    };
    Ok(Progress::Complete {
        request: request(&head, body),
        consumed: head_len + body_len,
    })
}

/// [`parse`] into a `Request` the caller keeps from one request to the next: its
/// strings and body are overwritten in place, so once their capacity has grown to the
/// connection's usual sizes a parse allocates nothing. The request is only written when
/// one is complete; after `Incomplete` or an error it is as it was.
pub fn parse_into(
    buf: &[u8],
    limits: &Limits,
    request: &mut Request,
) -> Result<Parsed, ParseError> {
    let Some((head, head_len)) = read_head(buf, limits)? else {
        return Ok(Parsed::Incomplete {
            expects_continue: false,
        });
    };
    let Some(body_len) = read_body(&head, &buf[head_len..], limits, &mut request.body)? else {
        return Ok(Parsed::Incomplete {
            expects_continue: head.expects_continue(),
        });
    };
    fill(request, &head);
    Ok(Parsed::Complete {
        consumed: head_len + body_len,
    })
}

/// The head at the front of `buf` and its length, or `None` while it is incomplete.
fn read_head<'b>(buf: &'b [u8], limits: &Limits) -> Result<Option<(Head<'b>, usize)>, ParseError> {
    // Uninitialised slots: httparse writes only the ones it fills, so a call that finds
    // the head incomplete costs no per-slot initialisation.
    if limits.max_headers <= STACK_HEADERS {
        let mut headers = [const { MaybeUninit::uninit() }; STACK_HEADERS];
        read_head_with(buf, limits, &mut headers[..limits.max_headers])
    } else {
        let mut headers = Vec::with_capacity(limits.max_headers);
        let slots = &mut headers.spare_capacity_mut()[..limits.max_headers];
        read_head_with(buf, limits, slots)
    }
}

fn read_head_with<'b>(
    buf: &'b [u8],
    limits: &Limits,
    headers: &mut [MaybeUninit<httparse::Header<'b>>],
) -> Result<Option<(Head<'b>, usize)>, ParseError> {
    // Parsing at most max_head bytes bounds the work per call, and a head that does not
    // fit in them is too large whatever follows.
    let window = &buf[..buf.len().min(limits.max_head)];
    let mut req = httparse::Request::new(&mut []);
    match req.parse_with_uninit_headers(window, headers) {
        Ok(httparse::Status::Complete(n)) => Ok(Some((Head::read(&req)?, n))),
        // A bad version is 400 or 505 depending on the whole request line (see `line`):
        // until the line has ended, wait as for any incomplete head.
        Err(httparse::Error::Version) if request_line(window).is_none() => partial(buf, limits),
        Ok(httparse::Status::Partial) => partial(buf, limits),
        Err(e) => Err(httparse_error(e, window)),
    }
}

/// An incomplete head: more bytes may complete it, unless it already exceeds `max_head`.
fn partial<T>(buf: &[u8], limits: &Limits) -> Result<Option<T>, ParseError> {
    if buf.len() > limits.max_head {
        Err(ParseError::HeadTooLarge)
    } else {
        Ok(None)
    }
}

/// Puts the body into `body` (replacing its contents) and returns its length on the
/// wire, or `None` (body untouched) while it is not all here.
fn read_body(
    head: &Head<'_>,
    rest: &[u8],
    limits: &Limits,
    body: &mut Vec<u8>,
) -> Result<Option<usize>, ParseError> {
    match head.framing(limits)? {
        Framing::Empty => {
            body.clear();
            Ok(Some(0))
        }
        Framing::Length(n) if rest.len() < n => Ok(None),
        Framing::Length(n) => {
            overwrite_bytes(body, &rest[..n]);
            Ok(Some(n))
        }
        Framing::Chunked => chunked::decode(rest, limits, body),
    }
}

/// [`read_body`] into a new `Vec`, returned with the length on the wire.
fn read_new_body(
    head: &Head<'_>,
    rest: &[u8],
    limits: &Limits,
) -> Result<Option<(Vec<u8>, usize)>, ParseError> {
    match head.framing(limits)? {
        Framing::Empty => Ok(Some((Vec::new(), 0))),
        Framing::Length(n) if rest.len() < n => Ok(None),
        Framing::Length(n) => Ok(Some((rest[..n].to_vec(), n))),
        Framing::Chunked => {
            let mut body = Vec::new();
            Ok(chunked::decode(rest, limits, &mut body)?.map(|n| (body, n)))
        }
    }
}

/// The owned request of [`parse`]: its only allocations.
fn request(head: &Head<'_>, body: Vec<u8>) -> Request {
    Request {
        method: Method::from_token(head.method),
        path: head.path.to_owned(),
        query: head.query.to_owned(),
        content_type: head.content_type.map(str::to_owned),
        keep_alive: head.keep_alive(),
        body,
    }
}

/// Everything but the body, from the head, overwriting `request` in place.
fn fill(request: &mut Request, head: &Head<'_>) {
    if request.method.as_str() != head.method {
        request.method = Method::from_token(head.method);
    }
    overwrite(&mut request.path, head.path);
    overwrite(&mut request.query, head.query);
    match (head.content_type, &mut request.content_type) {
        (Some(value), Some(kept)) => overwrite(kept, value),
        (value, kept) => *kept = value.map(str::to_owned),
    }
    request.keep_alive = head.keep_alive();
}

/// Replaces `s`'s text, reusing its allocation when it is large enough.
fn overwrite(s: &mut String, text: &str) {
    // Growing in place would go through `reserve`'s slow path (amortised growth, a
    // realloc that copies the old bytes); a fresh exact allocation is cheaper.
    if s.capacity() >= text.len() {
        s.clear();
        s.push_str(text);
    } else {
        *s = text.to_owned();
    }
}

/// [`overwrite`] for bytes.
fn overwrite_bytes(v: &mut Vec<u8>, bytes: &[u8]) {
    if v.capacity() >= bytes.len() {
        v.clear();
        v.extend_from_slice(bytes);
    } else {
        *v = bytes.to_vec();
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
mod tests;

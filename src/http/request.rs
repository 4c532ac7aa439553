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
mod tests;

//! Request parsing (httparse for the head; Content-Length and chunked bodies).
//!
//! CONTRACT (stub — being implemented):
//! `parse(buf, limits)` looks at the start of `buf`:
//! - `Ok(Progress::Complete { request, consumed })`: one whole request, `consumed` bytes long;
//! - `Ok(Progress::Incomplete { expects_continue })`: need more bytes; `expects_continue`
//!   is true when the head is complete, carries `Expect: 100-continue`, and the body is
//!   not all here yet (the caller sends `100 Continue` once per request);
//! - `Err(ParseError)`: a bad request; each variant maps to one status via `status()`.

use crate::config::Limits;

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
    let _ = (buf, limits);
    unimplemented!("http::request::parse")
}

//! What a parsed request head means: target, `Host`, body framing, keep-alive, `Expect`.
//!
//! Borrowed from the read buffer; nothing is allocated until the whole request is here.

use super::error::ParseError;
use super::limits::Limits;
use super::numbers::parse_decimal;
use super::target::{self, valid_authority};

/// How the body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    Empty,
    /// Exactly this many bytes (already checked against `max_body`).
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// The facts the server needs from a complete head.
#[derive(Debug, Default)]
pub(crate) struct Head<'a> {
    pub(crate) method: &'a str,
    /// The path of the request target (from origin- or absolute-form).
    pub(crate) path: &'a str,
    /// The query of the request target, without `?`.
    pub(crate) query: &'a str,
    /// HTTP/1.`minor`.
    pub(crate) minor: u8,
    pub(crate) content_type: Option<&'a str>,
    /// `Host` field lines seen.
    hosts: u32,
    /// A `Host` value was not a valid `host[:port]`.
    bad_host: bool,
    content_length: Option<u64>,
    coding: TransferCoding,
    connection_close: bool,
    connection_keep_alive: bool,
    expect_continue: bool,
}

/// What the `Transfer-Encoding` fields listed.
#[derive(Debug, Default)]
struct TransferCoding {
    seen: bool,
    /// Times `chunked` was listed.
    chunked: u32,
    /// The last coding listed was `chunked`.
    chunked_last: bool,
    /// A coding other than `chunked` was listed.
    other: bool,
}

/// The methods a request is routed with (and answered 405 where a resource does not
/// allow them): those of RFC 9110 §9 but `CONNECT`, and `PATCH` (RFC 5789). Any other
/// method, `CONNECT` included, is not implemented here (501, RFC 9110 §9.1).
fn routed_method(method: &str) -> bool {
    matches!(
        method,
        "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "OPTIONS" | "TRACE" | "PATCH"
    )
}

impl<'a> Head<'a> {
    /// Reads the fields that matter from a complete httparse head.
    pub(crate) fn read(req: &httparse::Request<'_, 'a>) -> Result<Head<'a>, ParseError> {
        let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
            return Err(ParseError::Malformed("incomplete request line"));
        };
        let mut head = Head {
            method,
            minor,
            ..Head::default()
        };
        for h in req.headers.iter() {
            head.add_field(h.name, h.value)?;
        }
        head.check_host()?;
        if !routed_method(method) {
            return Err(ParseError::UnsupportedMethod);
        }
        let target = target::parse(method, target)?;
        (head.path, head.query) = (target.path, target.query);
        Ok(head)
    }

    /// HTTP/1.1 requires exactly one `Host`, HTTP/1.0 at most one, and its value must be
    /// `host[:port]` (RFC 9112 §3.2). An absolute-form target's authority wins over it
    /// (§3.2.2), but the field must be there and valid all the same.
    fn check_host(&self) -> Result<(), ParseError> {
        match self.hosts {
            0 if self.minor == 1 => Err(ParseError::Malformed("missing Host header")),
            0 | 1 if self.bad_host => Err(ParseError::Malformed("invalid Host header")),
            0 | 1 => Ok(()),
            _ => Err(ParseError::Malformed("more than one Host header")),
        }
    }

    fn add_field(&mut self, name: &str, value: &'a [u8]) -> Result<(), ParseError> {
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        if is("content-length") {
            self.add_content_length(value)?;
        } else if is("transfer-encoding") {
            self.coding.add(value);
        } else if is("connection") {
            for token in tokens(value) {
                self.connection_close |= token.eq_ignore_ascii_case(b"close");
                self.connection_keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if is("host") {
            self.hosts = self.hosts.saturating_add(1);
            self.bad_host |= !valid_authority(value);
        } else if is("expect") {
            self.expect_continue |= value.trim_ascii().eq_ignore_ascii_case(b"100-continue");
        } else if is("content-type") && self.content_type.is_none() {
            let text = std::str::from_utf8(value);
            self.content_type =
                Some(text.map_err(|_| ParseError::Malformed("Content-Type is not UTF-8"))?);
        }
        Ok(())
    }

    /// Accepts repeated or listed (`5, 5`) lengths only if they all agree (RFC 9112 §6.3).
    fn add_content_length(&mut self, value: &[u8]) -> Result<(), ParseError> {
        let mut any = false;
        for token in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
            let n = parse_decimal(token).ok_or(ParseError::Malformed("invalid Content-Length"))?;
            if self.content_length.is_some_and(|prev| prev != n) {
                return Err(ParseError::Malformed("conflicting Content-Length values"));
            }
            self.content_length = Some(n);
            any = true;
        }
        if any {
            Ok(())
        } else {
            Err(ParseError::Malformed("invalid Content-Length"))
        }
    }

    /// Whether the connection stays open: HTTP/1.1 unless `close`, HTTP/1.0 only on request.
    pub(crate) fn keep_alive(&self) -> bool {
        !self.connection_close && (self.minor == 1 || self.connection_keep_alive)
    }

    /// `Expect: 100-continue`, which an HTTP/1.0 server must ignore (RFC 9110 §10.1.1).
    pub(crate) fn expects_continue(&self) -> bool {
        self.minor == 1 && self.expect_continue
    }

    /// How the body is delimited, rejecting ambiguous framing before any body byte is read.
    pub(crate) fn framing(&self, limits: &Limits) -> Result<Framing, ParseError> {
        if self.coding.seen {
            // Both headers, or chunked in HTTP/1.0, is how request smuggling starts
            // (RFC 9112 §6.1): refuse instead of picking one.
            if self.minor == 0 {
                return Err(ParseError::Malformed(
                    "Transfer-Encoding in an HTTP/1.0 request",
                ));
            }
            if self.content_length.is_some() {
                return Err(ParseError::Malformed(
                    "both Content-Length and Transfer-Encoding",
                ));
            }
            return self.coding.framing();
        }
        match self.content_length {
            Some(n) if n > limits.max_body as u64 => Err(ParseError::BodyTooLarge),
            Some(0) => Ok(Framing::Empty),
            // Fits in usize: bounded by max_body just above.
            Some(n) => Ok(Framing::Length(n as usize)),
            None if matches!(self.method, "POST" | "PUT" | "PATCH") => {
                Err(ParseError::LengthRequired)
            }
            None => Ok(Framing::Empty),
        }
    }
}

impl TransferCoding {
    fn add(&mut self, value: &[u8]) {
        self.seen = true;
        for token in tokens(value) {
            let chunked = token.eq_ignore_ascii_case(b"chunked");
            self.chunked += u32::from(chunked);
            self.other |= !chunked;
            self.chunked_last = chunked;
        }
    }

    /// A request body is framed only if `chunked` is applied once and last (RFC 9112
    /// §6.3): anything else leaves its length unknown, 400. Framed but with another
    /// coding as well (`gzip, chunked`) is a coding we do not implement, 501 (§6.1).
    fn framing(&self) -> Result<Framing, ParseError> {
        if self.chunked != 1 || !self.chunked_last {
            Err(ParseError::Malformed(
                "chunked must be applied exactly once, last",
            ))
        } else if self.other {
            Err(ParseError::UnsupportedTransferEncoding)
        } else {
            Ok(Framing::Chunked)
        }
    }
}

/// The non-empty elements of a comma-separated field value, trimmed.
fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests;

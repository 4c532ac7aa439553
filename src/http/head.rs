//! What a parsed request head means: body framing, keep-alive, `Expect`.
//!
//! Borrowed from the read buffer; nothing is allocated until the whole request is here.

use super::numbers::parse_decimal;
use super::request::ParseError;
use crate::config::Limits;

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
    /// The request target as sent (path and query).
    pub(crate) target: &'a str,
    /// HTTP/1.`minor`.
    pub(crate) minor: u8,
    pub(crate) content_type: Option<&'a str>,
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
    chunked: u32,
    other: bool,
}

impl<'a> Head<'a> {
    /// Reads the fields that matter from a complete httparse head.
    pub(crate) fn read(req: &httparse::Request<'_, 'a>) -> Result<Head<'a>, ParseError> {
        let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
            return Err(ParseError::Malformed("incomplete request line"));
        };
        let mut head = Head {
            method,
            target,
            minor,
            ..Head::default()
        };
        for h in req.headers.iter() {
            head.add_field(h.name, h.value)?;
        }
        Ok(head)
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
            if token.eq_ignore_ascii_case(b"chunked") {
                self.chunked += 1;
            } else {
                self.other = true;
            }
        }
    }

    /// Only plain `chunked` is supported; other codings are 501, a malformed list is 400.
    fn framing(&self) -> Result<Framing, ParseError> {
        if self.other {
            Err(ParseError::UnsupportedTransferEncoding)
        } else if self.chunked == 1 {
            Ok(Framing::Chunked)
        } else {
            Err(ParseError::Malformed(
                "chunked must be applied exactly once",
            ))
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

/// Maps an httparse error to ours; a well-formed but unsupported version is 505.
pub(crate) fn httparse_error(err: httparse::Error, head: &[u8]) -> ParseError {
    match err {
        httparse::Error::TooManyHeaders => ParseError::TooManyHeaders,
        httparse::Error::Version if names_http_version(head) => ParseError::UnsupportedVersion,
        httparse::Error::Version => ParseError::Malformed("invalid HTTP version"),
        httparse::Error::HeaderName => ParseError::Malformed("invalid header name"),
        httparse::Error::HeaderValue => ParseError::Malformed("invalid byte in header value"),
        httparse::Error::NewLine => ParseError::Malformed("invalid line ending"),
        httparse::Error::Token | httparse::Error::Status => {
            ParseError::Malformed("invalid request line")
        }
    }
}

/// Whether the request line ends in something shaped like `HTTP/d.d` (or a prefix of it,
/// when the line is not complete yet), i.e. a version we simply do not speak.
fn names_http_version(head: &[u8]) -> bool {
    let start = head
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(head.len());
    let line = head[start..]
        .split(|&b| b == b'\n')
        .next()
        .unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let version = line.rsplit(|&b| b == b' ').next().unwrap_or_default();
    match version.strip_prefix(b"HTTP/") {
        Some([major]) | Some([major, b'.']) => major.is_ascii_digit(),
        Some([major, b'.', minor]) => major.is_ascii_digit() && minor.is_ascii_digit(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head<'a>(
        minor: u8,
        method: &'a str,
        fields: &[(&str, &'a str)],
    ) -> Result<Head<'a>, ParseError> {
        let mut h = Head {
            method,
            target: "/",
            minor,
            ..Head::default()
        };
        for (name, value) in fields {
            h.add_field(name, value.as_bytes())?;
        }
        Ok(h)
    }

    fn framing(minor: u8, method: &str, fields: &[(&str, &str)]) -> Result<Framing, ParseError> {
        head(minor, method, fields)?.framing(&Limits::default())
    }

    /// A well-formed but unspoken version is 505, a garbled one 400, also mid-line.
    #[test]
    fn version_errors() {
        let v = |head: &[u8]| httparse_error(httparse::Error::Version, head);
        assert_eq!(v(b"\r\nGET / HTTP/2.0\r\n"), ParseError::UnsupportedVersion);
        assert_eq!(v(b"GET / HTTP/2"), ParseError::UnsupportedVersion);
        assert!(matches!(v(b"GET / HTTP/x.1\r\n"), ParseError::Malformed(_)));
        assert!(matches!(
            v(b"GET / HTTP/1.10\r\n"),
            ParseError::Malformed(_)
        ));
    }

    /// Connection tokens decide keep-alive per version, case-insensitively.
    #[test]
    fn keep_alive_rules() {
        assert!(head(1, "GET", &[]).unwrap().keep_alive());
        assert!(!head(1, "GET", &[("Connection", "foo, CLOSE")])
            .unwrap()
            .keep_alive());
        assert!(!head(0, "GET", &[]).unwrap().keep_alive());
        assert!(head(0, "GET", &[("connection", "Keep-Alive")])
            .unwrap()
            .keep_alive());
        assert!(!head(0, "GET", &[("Connection", "keep-alive, close")])
            .unwrap()
            .keep_alive());
    }

    /// Expect: 100-continue counts only in HTTP/1.1.
    #[test]
    fn expect_continue_only_in_http11() {
        assert!(head(1, "POST", &[("Expect", " 100-Continue ")])
            .unwrap()
            .expects_continue());
        assert!(!head(0, "POST", &[("Expect", "100-continue")])
            .unwrap()
            .expects_continue());
        assert!(!head(1, "POST", &[("Expect", "something")])
            .unwrap()
            .expects_continue());
    }

    /// Content-Length: agreeing repeats accepted, disagreeing or non-digit ones rejected.
    #[test]
    fn content_length_rules() {
        assert_eq!(
            framing(1, "POST", &[("Content-Length", "5")]),
            Ok(Framing::Length(5))
        );
        assert_eq!(
            framing(
                1,
                "POST",
                &[("Content-Length", "5, 5"), ("content-length", "5")]
            ),
            Ok(Framing::Length(5))
        );
        assert_eq!(
            framing(1, "POST", &[("Content-Length", "0")]),
            Ok(Framing::Empty)
        );
        for bad in ["", "-1", "+5", "5a", "0x5", "5,", " , "] {
            assert!(
                matches!(
                    framing(1, "POST", &[("Content-Length", bad)]),
                    Err(ParseError::Malformed(_))
                ),
                "{bad:?}"
            );
        }
        let two = [("Content-Length", "5"), ("Content-Length", "6")];
        assert!(matches!(
            framing(1, "POST", &two),
            Err(ParseError::Malformed(_))
        ));
    }

    /// Over max_body by Content-Length is 413 before any body byte.
    #[test]
    fn content_length_over_limit() {
        let big = (64 * 1024 + 1).to_string();
        assert_eq!(
            framing(1, "POST", &[("Content-Length", &big)]),
            Err(ParseError::BodyTooLarge)
        );
        let huge = "9".repeat(40);
        assert_eq!(
            framing(1, "POST", &[("Content-Length", &huge)]),
            Err(ParseError::BodyTooLarge)
        );
    }

    /// Transfer-Encoding: chunked only; others 501; with CL or in HTTP/1.0 400.
    #[test]
    fn transfer_encoding_rules() {
        assert_eq!(
            framing(1, "POST", &[("Transfer-Encoding", "Chunked")]),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            framing(1, "POST", &[("Transfer-Encoding", "gzip, chunked")]),
            Err(ParseError::UnsupportedTransferEncoding)
        );
        assert_eq!(
            framing(1, "POST", &[("Transfer-Encoding", "identity")]),
            Err(ParseError::UnsupportedTransferEncoding)
        );
        let twice = [
            ("Transfer-Encoding", "chunked"),
            ("Transfer-Encoding", "chunked"),
        ];
        assert!(matches!(
            framing(1, "POST", &twice),
            Err(ParseError::Malformed(_))
        ));
        assert!(matches!(
            framing(1, "POST", &[("Transfer-Encoding", "")]),
            Err(ParseError::Malformed(_))
        ));
        let both = [("Content-Length", "3"), ("Transfer-Encoding", "chunked")];
        assert!(matches!(
            framing(1, "POST", &both),
            Err(ParseError::Malformed(_))
        ));
        assert!(matches!(
            framing(0, "POST", &[("Transfer-Encoding", "chunked")]),
            Err(ParseError::Malformed(_))
        ));
    }

    /// Body-carrying methods need a length; others default to no body.
    #[test]
    fn length_required_only_for_body_methods() {
        for m in ["POST", "PUT", "PATCH"] {
            assert_eq!(framing(1, m, &[]), Err(ParseError::LengthRequired), "{m}");
        }
        for m in ["GET", "HEAD", "DELETE", "OPTIONS"] {
            assert_eq!(framing(1, m, &[]), Ok(Framing::Empty), "{m}");
        }
    }

    /// The first Content-Type is kept; non-UTF-8 ones are malformed.
    #[test]
    fn content_type_is_kept() {
        let h = head(
            1,
            "POST",
            &[
                ("Content-Type", "application/json"),
                ("Content-Type", "text/plain"),
            ],
        )
        .unwrap();
        assert_eq!(h.content_type, Some("application/json"));
        let mut h = Head::default();
        assert!(h.add_field("Content-Type", b"text/\xff").is_err());
    }
}

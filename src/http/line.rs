//! httparse's errors mapped to ours, with 505 for a request line that names a
//! well-formed HTTP version we do not speak (RFC 9110 §15.6.6) and 400 for a garbled one.
//!
//! httparse refuses a version at its first wrong byte, before the line has ended; which
//! of 400 and 505 it is depends on the whole line, so until the line is complete such a
//! head is treated as incomplete. That keeps every answer independent of how the bytes
//! were split into reads.

use super::error::ParseError;

/// Maps an httparse error on `head` (the bytes parsed) to ours.
pub(crate) fn httparse_error(err: httparse::Error, head: &[u8]) -> ParseError {
    match err {
        httparse::Error::TooManyHeaders => ParseError::TooManyHeaders,
        httparse::Error::Version if request_line(head).is_some_and(names_other_version) => {
            ParseError::UnsupportedVersion
        }
        httparse::Error::Version => ParseError::Malformed("invalid HTTP version"),
        httparse::Error::HeaderName => ParseError::Malformed("invalid header name"),
        httparse::Error::HeaderValue => ParseError::Malformed("invalid byte in header value"),
        httparse::Error::NewLine => ParseError::Malformed("invalid line ending"),
        httparse::Error::Token | httparse::Error::Status => {
            ParseError::Malformed("invalid request line")
        }
    }
}

/// The request line without its line ending, after the empty lines a server skips
/// (RFC 9112 §2.2); `None` until it has ended.
pub(crate) fn request_line(head: &[u8]) -> Option<&[u8]> {
    let start = head.iter().position(|&b| b != b'\r' && b != b'\n')?;
    let line = &head[start..];
    let end = line.iter().position(|&b| b == b'\n')?;
    let line = &line[..end];
    Some(line.strip_suffix(b"\r").unwrap_or(line))
}

/// Whether `line` is `method SP target SP HTTP/d.d`: a request line whose version is
/// well-formed (RFC 9112 §2.3), so refusing it means "not this version", not "garbage".
fn names_other_version(line: &[u8]) -> bool {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let well_formed = match version.strip_prefix(b"HTTP/") {
        Some([major, b'.', minor]) => major.is_ascii_digit() && minor.is_ascii_digit(),
        _ => false,
    };
    well_formed && !method.is_empty() && !target.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A well-formed but unspoken version is 505; a garbled one, or a line with more or
    /// fewer than three parts, 400.
    #[test]
    fn version_errors() {
        let v = |head: &[u8]| httparse_error(httparse::Error::Version, head);
        assert_eq!(v(b"\r\nGET / HTTP/2.0\r\n"), ParseError::UnsupportedVersion);
        assert_eq!(
            v(b"PRI * HTTP/2.0\r\n\r\nSM"),
            ParseError::UnsupportedVersion
        );
        assert_eq!(v(b"GET / HTTP/1.2\n"), ParseError::UnsupportedVersion);
        for garbled in [
            &b"GET / HTTP/x.1\r\n"[..],
            b"GET / HTTP/1.10\r\n",
            b"GET / HTTP/2\r\n",
            b"GET / http/1.1\r\n",
            b"GET /a b HTTP/1.1\r\n",
            b"GET  HTTP/1.1\r\n",
        ] {
            let msg = String::from_utf8_lossy(garbled);
            assert!(matches!(v(garbled), ParseError::Malformed(_)), "{msg:?}");
        }
    }

    /// The request line is found after leading empty lines, only once it has ended.
    #[test]
    fn request_line_needs_its_end() {
        assert_eq!(
            request_line(b"\r\n\nGET / HTTP/1.1\r\nX"),
            Some(&b"GET / HTTP/1.1"[..])
        );
        assert_eq!(request_line(b"GET / HTTP/2.0"), None);
        assert_eq!(request_line(b"\r\n"), None);
    }
}

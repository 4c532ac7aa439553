//! What a response head says about its body (Content-Length, Transfer-Encoding) and
//! about its connection (Connection, HTTP version), per RFC 9112 section 6.

use crate::parse_error::ParseError;

/// How a response body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Until the server closes the connection.
    UntilClose,
}

/// What the headers say about the body and the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Framing {
    /// How the body ends.
    pub body: Body,
    /// The server will close the connection after this response.
    pub close: bool,
}

impl Framing {
    /// Reads the framing headers of a parsed response head.
    pub fn of(response: &httparse::Response) -> Result<Framing, ParseError> {
        let mut length = None;
        let mut encoding = None;
        // HTTP/1.0 closes unless it says keep-alive.
        let mut close = response.version == Some(0);
        for header in response.headers.iter() {
            let (name, value) = (header.name, header.value);
            if name.eq_ignore_ascii_case("content-length") {
                let len = parse_length(value)?;
                if length.is_some_and(|l| l != len) {
                    return Err(ParseError::ContentLength);
                }
                length = Some(len);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                // Only a final `chunked` frames the body (RFC 9112 6.3).
                let last = value.rsplit(|&b| b == b',').next().unwrap_or(&[]);
                encoding = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            } else if name.eq_ignore_ascii_case("connection") {
                for token in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        close = false;
                    }
                }
            }
        }
        // Transfer-Encoding overrides Content-Length; a non-chunked one runs to the close.
        let body = match (encoding, length) {
            (Some(true), _) => Body::Chunked,
            (Some(false), _) | (None, None) => Body::UntilClose,
            (None, Some(len)) => Body::Length(len),
        };
        Ok(Framing { body, close })
    }
}

fn parse_length(value: &[u8]) -> Result<u64, ParseError> {
    let digits = value.trim_ascii();
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(ParseError::ContentLength);
    }
    Ok(digits.iter().fold(0, |n, &b| n * 10 + u64::from(b - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framing(head: &[u8]) -> Result<Framing, ParseError> {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut response = httparse::Response::new(&mut headers);
        assert!(response.parse(head).unwrap().is_complete());
        Framing::of(&response)
    }

    /// Content-Length frames the body; HTTP/1.1 keeps the connection by default.
    #[test]
    fn content_length() {
        let f = framing(b"HTTP/1.1 200 OK\r\nContent-Length:  12 \r\n\r\n").unwrap();
        assert_eq!(
            f,
            Framing {
                body: Body::Length(12),
                close: false
            }
        );
    }

    /// Repeated equal lengths are fine; different or non-numeric ones are not.
    #[test]
    fn bad_lengths() {
        assert!(
            framing(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n").is_ok()
        );
        for head in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        ] {
            assert_eq!(framing(head), Err(ParseError::ContentLength));
        }
    }

    /// A final `chunked` wins over Content-Length; another coding runs to the close.
    #[test]
    fn transfer_encoding() {
        let f = framing(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n",
        );
        assert_eq!(f.unwrap().body, Body::Chunked);
        let f = framing(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n").unwrap();
        assert_eq!(
            f,
            Framing {
                body: Body::UntilClose,
                close: false
            }
        );
        let f = framing(b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
        assert_eq!(f.body, Body::UntilClose);
    }

    /// Connection tokens and the HTTP/1.0 default decide whether the connection ends.
    #[test]
    fn connection() {
        let close = |head: &[u8]| framing(head).unwrap().close;
        assert!(close(b"HTTP/1.1 200 OK\r\nConnection: Close\r\n\r\n"));
        assert!(close(
            b"HTTP/1.1 200 OK\r\nConnection: upgrade, close\r\n\r\n"
        ));
        assert!(close(b"HTTP/1.0 200 OK\r\n\r\n"));
        assert!(!close(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n"));
        assert!(!close(b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n"));
    }
}

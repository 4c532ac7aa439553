//! One HTTP/1.1 keep-alive connection: a request out, one whole response in (head
//! parsed by httparse, body by `Content-Length`). No pipelining: one request at a time.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Most headers a response may carry.
const MAX_HEADERS: usize = 32;
/// Largest response head or body accepted; prefork's answers are far smaller.
const MAX_RESPONSE: usize = 1 << 20;

/// Why an exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The TCP connection could not be made.
    #[error("connect: {0}")]
    Connect(io::Error),
    /// Writing the request or reading the response failed.
    #[error("{0}")]
    Io(io::Error),
    /// The server closed the connection before a whole response.
    #[error("connection closed before a whole response")]
    Closed,
    /// What came back is not an HTTP/1.1 response we can read.
    #[error("malformed response: {0}")]
    Malformed(String),
}

/// A whole response.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
    /// The server said `Connection: close`: this connection is done.
    pub close: bool,
}

/// The parts of a response head we use.
struct Head {
    len: usize,
    status: u16,
    content_length: usize,
    close: bool,
}

/// A connected socket and its read buffer.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Connects to `addr`; `timeout` bounds the connect and every later read and write.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<Conn, WireError> {
        let stream = TcpStream::connect_timeout(&addr, timeout).map_err(WireError::Connect)?;
        let setup = || -> io::Result<()> {
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(timeout))?;
            stream.set_write_timeout(Some(timeout))
        };
        setup().map_err(WireError::Connect)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(1024),
        })
    }

    /// Sends `request` and reads its response.
    pub fn exchange(&mut self, request: &[u8]) -> Result<Reply, WireError> {
        self.stream.write_all(request).map_err(WireError::Io)?;
        self.buf.clear();
        let head = loop {
            if let Some(head) = parse_head(&self.buf)? {
                break head;
            }
            self.fill()?;
        };
        let end = head.len + head.content_length;
        while self.buf.len() < end {
            self.fill()?;
        }
        Ok(Reply {
            status: head.status,
            body: self.buf[head.len..end].to_vec(),
            close: head.close,
        })
    }

    /// Reads what is available into the buffer; end of stream is [`WireError::Closed`].
    fn fill(&mut self) -> Result<(), WireError> {
        if self.buf.len() > MAX_RESPONSE {
            return Err(WireError::Malformed("response larger than 1 MiB".into()));
        }
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(WireError::Closed),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(WireError::Io(e)),
        }
    }
}

/// The head, once all of it is in `buf`.
fn parse_head(buf: &[u8]) -> Result<Option<Head>, WireError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(WireError::Malformed(e.to_string())),
    };
    let mut head = Head {
        len,
        status: resp.code.unwrap_or(0),
        content_length: 0,
        close: resp.version == Some(0),
    };
    for h in resp.headers.iter() {
        let value = String::from_utf8_lossy(h.value);
        if h.name.eq_ignore_ascii_case("content-length") {
            head.content_length = value
                .trim()
                .parse()
                .map_err(|_| WireError::Malformed(format!("Content-Length {value:?}")))?;
        } else if h.name.eq_ignore_ascii_case("connection") {
            head.close = value.trim().eq_ignore_ascii_case("close");
        }
    }
    if head.content_length > MAX_RESPONSE {
        return Err(WireError::Malformed("body larger than 1 MiB".into()));
    }
    Ok(Some(head))
}

/// A form-urlencoded `POST` of `body` to `path`.
pub fn form_post(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Whether `GET /health` on `addr` answers 200 right now.
pub fn healthy(addr: SocketAddr, timeout: Duration) -> bool {
    let request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    Conn::connect(addr, timeout)
        .and_then(|mut conn| conn.exchange(request))
        .is_ok_and(|reply| reply.status == 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A head split across reads is only taken once complete; its fields are read.
    #[test]
    fn head_fields() {
        let text = b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
        assert!(parse_head(&text[..20]).unwrap().is_none());
        let head = parse_head(text).unwrap().unwrap();
        assert_eq!(
            (head.status, head.content_length, head.close),
            (201, 5, true)
        );
        assert_eq!(&text[head.len..], b"hello");
    }

    /// Garbage is malformed, not a hang.
    #[test]
    fn garbage() {
        assert!(matches!(
            parse_head(b"SSH-2.0\r\n\r\n"),
            Err(WireError::Malformed(_))
        ));
    }

    /// A POST carries its exact Content-Length.
    #[test]
    fn post_length() {
        let req = String::from_utf8(form_post("/api/tasks/", "title=a")).unwrap();
        assert!(req.starts_with("POST /api/tasks/ HTTP/1.1\r\n"));
        assert!(req.ends_with("Content-Length: 7\r\n\r\ntitle=a"));
    }
}

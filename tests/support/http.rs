//! Raw HTTP/1.1 over `std::net::TcpStream`: exact bytes out, a minimal response parser in.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Read/write timeout of every test socket: generous, so a stuck server fails the test
/// instead of hanging it.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed HTTP response.
#[derive(Clone, Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body (by `Content-Length` or chunked).
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut it = self.headers.iter();
        it.find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy), for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body if it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{} body is not JSON ({e}): {:?}", self.status, self.text()))
    }
}

/// Parses the response at the start of `buf`: `Ok(None)` if it is not complete yet,
/// else the response and how many bytes it used.
pub fn parse_response(buf: &[u8]) -> Result<Option<(Response, usize)>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut parsed = httparse::Response::new(&mut headers);
    let head_len = match parsed
        .parse(buf)
        .map_err(|e| format!("bad response head: {e}"))?
    {
        httparse::Status::Partial => return Ok(None),
        httparse::Status::Complete(n) => n,
    };
    let status = parsed.code.ok_or("no status code")?;
    let headers: Vec<(String, String)> = parsed
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let mut resp = Response {
        status,
        headers,
        body: Vec::new(),
    };
    let rest = &buf[head_len..];
    let used = if (100..200).contains(&status) || status == 204 || status == 304 {
        0
    } else if let Some(len) = resp.header("content-length") {
        let len: usize = len
            .trim()
            .parse()
            .map_err(|_| format!("bad Content-Length {len:?}"))?;
        if rest.len() < len {
            return Ok(None);
        }
        resp.body = rest[..len].to_vec();
        len
    } else if resp
        .header("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        match parse_chunked(rest)? {
            None => return Ok(None),
            Some((body, used)) => {
                resp.body = body;
                used
            }
        }
    } else {
        return Err(format!("{status} response without Content-Length"));
    };
    Ok(Some((resp, head_len + used)))
}

/// Decodes a chunked body (no trailers expected): `None` while incomplete.
fn parse_chunked(mut buf: &[u8]) -> Result<Option<(Vec<u8>, usize)>, String> {
    let start = buf.len();
    let mut body = Vec::new();
    loop {
        let Some(eol) = buf.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_text = String::from_utf8_lossy(&buf[..eol]);
        let size_hex = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| format!("bad chunk size {size_hex:?}"))?;
        buf = &buf[eol + 2..];
        if buf.len() < size + 2 {
            return Ok(None);
        }
        if size == 0 {
            return Ok(Some((body, start - buf.len() + 2)));
        }
        body.extend_from_slice(&buf[..size]);
        buf = &buf[size + 2..];
    }
}

/// One client connection with a read buffer, for keep-alive and pipelining.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Connects to 127.0.0.1:`port`.
    pub fn open(port: u16) -> io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
        })
    }

    /// Writes `bytes` in one `write_all`.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// A second handle on the socket, to write from another thread while this one
    /// reads the answers (no write timeout: the writes may wait on a paused server).
    pub fn writer(&self) -> io::Result<TcpStream> {
        let writer = self.stream.try_clone()?;
        writer.set_write_timeout(None)?;
        Ok(writer)
    }

    /// Changes the read timeout (e.g. to poll for a server-initiated 408).
    pub fn set_read_timeout(&self, timeout: Duration) {
        self.stream
            .set_read_timeout(Some(timeout))
            .expect("set_read_timeout");
    }

    /// Reads the next response, interim (1xx) ones included.
    pub fn read_any(&mut self) -> io::Result<Response> {
        loop {
            match parse_response(&self.buf).map_err(io::Error::other)? {
                Some((resp, used)) => {
                    self.buf.drain(..used);
                    return Ok(resp);
                }
                None => self.fill()?,
            }
        }
    }

    /// Reads the next final response, skipping `100 Continue`.
    pub fn read_response(&mut self) -> io::Result<Response> {
        loop {
            let resp = self.read_any()?;
            if resp.status >= 200 {
                return Ok(resp);
            }
        }
    }

    /// True if the server closes the connection (EOF or reset) with nothing more to read.
    pub fn closed_by_server(&mut self) -> bool {
        match self.fill() {
            Ok(()) => false,
            Err(e) => e.kind() != io::ErrorKind::WouldBlock && e.kind() != io::ErrorKind::TimedOut,
        }
    }

    /// Half-closes the write side (the client will send nothing more).
    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            ));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

/// Percent-encodes `s` for `application/x-www-form-urlencoded` (space as `+`).
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `title=…&description=…`, encoded as a browser (or Python `requests`) would.
pub fn form_body(title: &str, description: &str) -> String {
    format!(
        "title={}&description={}",
        urlencode(title),
        urlencode(description)
    )
}

/// `{"title":…,"description":…}`.
pub fn json_body(title: &str, description: &str) -> String {
    serde_json::json!({ "title": title, "description": description }).to_string()
}

/// A complete `POST {path}` with `Content-Length`; `extra` is more header lines, each ending in CRLF.
pub fn post_bytes(path: &str, content_type: &str, body: &[u8], extra: &str) -> Vec<u8> {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}\r\n",
        body.len()
    );
    [head.as_bytes(), body].concat()
}

/// A form POST to `/api/tasks`.
pub fn form_request(title: &str, description: &str) -> Vec<u8> {
    let body = form_body(title, description);
    post_bytes(
        "/api/tasks",
        "application/x-www-form-urlencoded",
        body.as_bytes(),
        "",
    )
}

/// A JSON POST to `/api/tasks`.
pub fn json_request(title: &str, description: &str) -> Vec<u8> {
    post_bytes(
        "/api/tasks",
        "application/json",
        json_body(title, description).as_bytes(),
        "",
    )
}

/// A `GET {path}`.
pub fn get_request(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").into_bytes()
}

/// A form POST to `/api/tasks` with a chunked body (two data chunks).
pub fn chunked_form_request(title: &str, description: &str) -> Vec<u8> {
    let body = form_body(title, description);
    let (a, b) = body.split_at(body.len() / 2);
    format!(
        "POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n\
         {:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    )
    .into_bytes()
}

/// Sends `request` on a fresh connection and reads one final response.
pub fn exchange(port: u16, request: &[u8]) -> io::Result<Response> {
    let mut conn = Conn::open(port)?;
    conn.send(request)?;
    conn.read_response()
}

/// [`exchange`] over the Unix socket at `path`: one request on a fresh connection, one
/// final response.
pub fn exchange_unix(path: &std::path::Path, request: &[u8]) -> io::Result<Response> {
    let mut stream = std::os::unix::net::UnixStream::connect(path)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.write_all(request)?;
    let mut buf = Vec::new();
    loop {
        if let Some((resp, _)) = parse_response(&buf).map_err(io::Error::other)? {
            if resp.status >= 200 {
                return Ok(resp);
            }
        }
        let mut chunk = [0u8; 16 * 1024];
        match stream.read(&mut chunk)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// [`exchange`], panicking on I/O errors.
pub fn must_exchange(port: u16, request: &[u8]) -> Response {
    exchange(port, request).unwrap_or_else(|e| {
        let line = request.split(|b| *b == b'\r').next().unwrap_or_default();
        let body = request.rsplit(|b| *b == b'\n').next().unwrap_or_default();
        let (line, body) = (String::from_utf8_lossy(line), String::from_utf8_lossy(body));
        panic!("{line} ({body:.80}) to port {port} failed: {e}")
    })
}

/// A form POST on a fresh connection.
pub fn post_form(port: u16, title: &str, description: &str) -> Response {
    must_exchange(port, &form_request(title, description))
}

/// A JSON POST on a fresh connection.
pub fn post_json(port: u16, title: &str, description: &str) -> Response {
    must_exchange(port, &json_request(title, description))
}

/// A GET on a fresh connection.
pub fn get(port: u16, path: &str) -> Response {
    must_exchange(port, &get_request(path))
}

/// Writes `bytes` on a fresh connection and returns everything read until the server
/// closes it (or the read times out).
pub fn send_raw(port: u16, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.write_all(bytes).expect("write");
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    out
}

/// Polls `GET /health` until it answers 200 (connection refusals and errors are retried).
pub fn wait_healthy(port: u16, deadline: Instant) {
    loop {
        let last = match exchange(port, &get_request("/health")) {
            Ok(resp) if resp.status == 200 => return,
            Ok(resp) => format!("status {} {:?}", resp.status, resp.text()),
            Err(e) => e.to_string(),
        };
        assert!(
            Instant::now() < deadline,
            "GET /health never answered 200 on port {port}: {last}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts a `201` for a task with this title and description; returns its id.
pub fn assert_created(resp: &Response, title: &str, description: &str) -> i64 {
    assert_eq!(
        resp.status,
        201,
        "expected 201, got {} {:?}",
        resp.status,
        resp.text()
    );
    assert_json(resp);
    let body = resp.json();
    let id = body["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no integer id in {body}"));
    assert!(id > 0, "id {id}");
    assert_eq!(body["title"], title, "title in {body}");
    assert_eq!(body["description"], description, "description in {body}");
    assert!(
        body["created_at"].as_str().is_some_and(|s| !s.is_empty()),
        "created_at in {body}"
    );
    assert_eq!(
        resp.header("location"),
        Some(format!("/api/tasks/{id}").as_str()),
        "Location"
    );
    id
}

/// Asserts an error response: this status, JSON `{"error": "..."}`.
pub fn assert_error(resp: &Response, status: u16) {
    assert_eq!(
        resp.status,
        status,
        "expected {status}, got {} {:?}",
        resp.status,
        resp.text()
    );
    assert_json(resp);
    let body = resp.json();
    assert!(
        body["error"].as_str().is_some_and(|s| !s.is_empty()),
        "no error message in {body}"
    );
}

/// Asserts `Content-Type: application/json`.
pub fn assert_json(resp: &Response) {
    let ct = resp.header("content-type").unwrap_or("");
    assert!(
        ct.starts_with("application/json"),
        "Content-Type {ct:?} in {} response",
        resp.status
    );
}

/// POSTs `title` (description "d") until it gets 201, tolerating 503 for up to 30 s
/// after PostgreSQL came back; returns the new row's id.
pub fn post_when_back(port: u16, title: &str) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let resp = post_form(port, title, "d");
        match resp.status {
            201 => return assert_created(&resp, title, "d"),
            503 if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            other => panic!("after restart: {other} {:?}", resp.text()),
        }
    }
}

//! HTTP/1.1 conformance of the real server: tables of raw requests, each case naming the
//! section of RFC 9112 (or RFC 9110) it checks, sent over TCP to a spawned prefork in
//! both worker modes.
//!
//! A case is a short script on one connection (write bytes, read responses and check
//! their statuses) and what the connection must do next: stay open (a `GET /health` on
//! it is answered) or be closed by the server. After every case a fresh connection must
//! still be served, so no case can break the worker for the next client.
//!
//! The tables: `request` (request line, target forms, `Host`, field syntax), `framing`
//! (Content-Length, Transfer-Encoding, chunked, smuggling shapes) and `connection`
//! (pipelining, persistence, HTTP/1.0, `Expect`, `HEAD`).

mod support;

#[path = "conformance/connection.rs"]
mod connection_cases;
#[path = "conformance/framing.rs"]
mod framing_cases;
#[path = "conformance/request.rs"]
mod request_cases;

use std::io::{self, Read, Write};
use std::net::TcpStream;

use support::http::{parse_response, IO_TIMEOUT};
use support::{get_request, must_exchange, Cfg, Response, TestDb};

/// One step of a case.
pub enum Step {
    /// Write these bytes in one write.
    Send(Vec<u8>),
    /// Read the next response (interim `1xx` included): it has this status.
    Status(u16),
    /// Read the next response as the answer to a `HEAD` (a head, no body): this status.
    HeadStatus(u16),
    /// The response read last has this header (value compared case-insensitively).
    Header(&'static str, &'static str),
}

/// What the connection does after the case's last response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    /// It stays open: another request on it is answered.
    Open,
    /// The server closes it.
    Closed,
}

/// One conformance case.
pub struct Case {
    /// The section the expectation comes from, e.g. `RFC 9112 §6.1`.
    pub rfc: &'static str,
    /// What is sent, in a few words.
    pub name: &'static str,
    /// The script.
    pub steps: Vec<Step>,
    /// The connection afterwards.
    pub after: After,
}

/// `bytes` in one write, answered with `statuses` in order.
pub fn case(
    rfc: &'static str,
    name: &'static str,
    bytes: impl Into<Vec<u8>>,
    statuses: &[u16],
    after: After,
) -> Case {
    let mut steps = vec![Step::Send(bytes.into())];
    steps.extend(statuses.iter().map(|&s| Step::Status(s)));
    script(rfc, name, steps, after)
}

/// A case with its own steps.
pub fn script(rfc: &'static str, name: &'static str, steps: Vec<Step>, after: After) -> Case {
    Case {
        rfc,
        name,
        steps,
        after,
    }
}

/// A request with these header lines (each ending in CRLF) and body, as one string.
pub fn req(line: &str, fields: &str, body: &str) -> String {
    format!("{line}\r\n{fields}\r\n{body}")
}

/// A valid form body for `POST /api/tasks`.
pub const FORM: &str = "title=t&description=d";

/// `POST /api/tasks` with a form body framed by `Content-Length`.
pub fn post_form() -> String {
    let fields = format!(
        "Host: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
        FORM.len()
    );
    req("POST /api/tasks HTTP/1.1", &fields, FORM)
}

/// `POST /api/tasks` with a form content type, extra header lines and a raw body.
pub fn post_raw(fields: &str, body: &str) -> String {
    let fields = format!("Host: h\r\nContent-Type: application/x-www-form-urlencoded\r\n{fields}");
    req("POST /api/tasks HTTP/1.1", &fields, body)
}

/// `GET /health` on HTTP/1.1 with `Host`.
pub fn health() -> String {
    req("GET /health HTTP/1.1", "Host: h\r\n", "")
}

/// A client connection reading responses incrementally.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn open(port: u16) -> io::Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream,
            buf: Vec::new(),
        })
    }

    /// The next response; `head_only` for the answer to a `HEAD`.
    fn read(&mut self, head_only: bool) -> Result<Response, String> {
        loop {
            let parsed = if head_only {
                head_response(&self.buf)?
            } else {
                parse_response(&self.buf)?
            };
            if let Some((resp, used)) = parsed {
                self.buf.drain(..used);
                return Ok(resp);
            }
            if self
                .fill()
                .map_err(|e| format!("reading a response: {e}"))?
                == 0
            {
                return Err("closed before a whole response arrived".into());
            }
        }
    }

    /// Ok if the server closes the connection with nothing more to read.
    fn expect_closed(&mut self) -> Result<(), String> {
        if !self.buf.is_empty() {
            return Err(format!("unexpected bytes: {:?}", text(&self.buf)));
        }
        match self.fill() {
            Ok(0) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(()),
            Ok(_) => Err(format!(
                "more bytes instead of a close: {:?}",
                text(&self.buf)
            )),
            Err(e) => Err(format!("not closed: {e}")),
        }
    }

    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }
}

/// A response head with no body after it (the answer to a `HEAD`).
fn head_response(buf: &[u8]) -> Result<Option<(Response, usize)>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut headers);
    let n = match parsed.parse(buf).map_err(|e| format!("bad head: {e}"))? {
        httparse::Status::Partial => return Ok(None),
        httparse::Status::Complete(n) => n,
    };
    let headers = parsed.headers.iter();
    let resp = Response {
        status: parsed.code.unwrap_or(0),
        headers: headers.map(|h| (h.name.into(), text(h.value))).collect(),
        body: Vec::new(),
    };
    Ok(Some((resp, n)))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `case`'s steps on a fresh connection, then checks what the connection does.
fn run(port: u16, case: &Case) -> Result<(), String> {
    let mut client = Client::open(port).map_err(|e| format!("connect: {e}"))?;
    let mut last: Option<Response> = None;
    for step in &case.steps {
        match step {
            // A server that answers before reading everything may close early: the
            // write can fail while the answer is there to read.
            Step::Send(bytes) => drop(client.stream.write_all(bytes)),
            Step::Status(want) | Step::HeadStatus(want) => {
                let resp = client.read(matches!(step, Step::HeadStatus(_)))?;
                if resp.status != *want {
                    return Err(format!(
                        "got {} {:?}, wanted {want}",
                        resp.status,
                        resp.text()
                    ));
                }
                last = Some(resp);
            }
            Step::Header(name, want) => {
                let got = last.as_ref().and_then(|r| r.header(name));
                if !got.is_some_and(|v| v.eq_ignore_ascii_case(want)) {
                    return Err(format!("{name}: {got:?}, wanted {want:?}"));
                }
            }
        }
    }
    match case.after {
        After::Closed => client.expect_closed(),
        After::Open => {
            drop(client.stream.write_all(health().as_bytes()));
            match client.read(false) {
                Ok(resp) if resp.status == 200 => Ok(()),
                Ok(resp) => Err(format!("next request on the connection: {}", resp.status)),
                Err(e) => Err(format!("connection not kept open: {e}")),
            }
        }
    }
}

/// Runs every case against one server in `mode`; fails listing each case that failed.
fn run_table(mode: &'static str, cases: Vec<Case>) {
    let db = TestDb::fresh();
    let cfg = Cfg { mode, workers: 1 };
    let server = cfg.start(&db, &["--read-timeout", "5"]);
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(why) = run(server.port, case) {
            failures.push(format!("{} {}: {why}", case.rfc, case.name));
        }
        let resp = must_exchange(server.port, &get_request("/health"));
        if resp.status != 200 {
            failures.push(format!(
                "after {}: GET /health got {}",
                case.name, resp.status
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{mode}: {} of {} case(s) failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// One test per table and worker mode: `request::evloop`, `framing::threads`, ….
macro_rules! tables {
    ($($table:ident => $cases:ident),+ $(,)?) => {$(
        mod $table {
            #[doc = concat!("The `", stringify!($table), "` table against an evloop worker.")]
            #[test]
            fn evloop() { super::run_table("evloop", super::$cases::cases()) }
            #[doc = concat!("The `", stringify!($table), "` table against a threads worker.")]
            #[test]
            fn threads() { super::run_table("threads", super::$cases::cases()) }
        }
    )+};
}

tables!(
    request => request_cases,
    framing => framing_cases,
    connection => connection_cases,
);

//! A tiny HTTP/1.1 server inside the test (std only, a thread per connection) whose
//! answers the test scripts per request, and which records everything it receives, so
//! the tests can compare loadgen's report with what really crossed the wire.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::wire::take_requests;
pub use super::wire::Request;

/// How often an idle connection thread wakes up to check whether the server stopped.
const IDLE_POLL: Duration = Duration::from_millis(100);

/// The longest a connection thread lives, whatever the client does.
const MAX_CONN_LIFE: Duration = Duration::from_secs(60);

/// What the server does with one request.
#[derive(Clone, Copy, Debug)]
pub enum Reply {
    /// This status with a `Content-Length` body.
    Fixed(u16),
    /// This status with a chunked body, head and chunks written separately.
    Chunked(u16),
    /// `100 Continue`, then this status with a `Content-Length` body.
    Interim(u16),
    /// This status with no `Content-Length`: the body ends when the server closes.
    CloseDelimited(u16),
    /// This status with a `Content-Length` body and no `Connection: close`, then closes
    /// (a server ending a keep-alive connection right after a response).
    FixedThenClose(u16),
    /// Reads the request, then closes the connection without answering.
    Close,
    /// Answers `HELLO\r\n\r\n` (not HTTP), then closes.
    Garbage,
    /// Answers nothing; closes when the client does, or after this long.
    Silent(Duration),
    /// Holds every response (this one and any other in flight) for this long, then answers 200.
    StallAll(Duration),
}

/// Which reply each request gets, by its 0-based arrival index.
pub type Plan = dyn Fn(usize) -> Reply + Send + Sync;

struct State {
    plan: Box<Plan>,
    requests: Mutex<Vec<Request>>,
    connections: AtomicUsize,
    /// Bytes read from and written to every socket.
    bytes_in: AtomicUsize,
    bytes_out: AtomicUsize,
    /// Most complete requests found in the buffer at once (pipelining depth seen).
    max_batch: AtomicUsize,
    stall_until: Mutex<Option<Instant>>,
    /// Requests the server could not parse: loadgen sent something that is not HTTP/1.1.
    problems: Mutex<Vec<String>>,
    stop: AtomicBool,
}

/// The running fake server; stops accepting on drop (connection threads end on their own).
pub struct FakeServer {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    state: Arc<State>,
}

impl FakeServer {
    /// Answers every request with `reply`.
    pub fn always(reply: Reply) -> FakeServer {
        FakeServer::start(move |_| reply)
    }

    /// Listens on 127.0.0.1:0 and answers request `i` (0-based, arrival order) with `plan(i)`.
    pub fn start(plan: impl Fn(usize) -> Reply + Send + Sync + 'static) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake server");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State {
            plan: Box::new(plan),
            requests: Mutex::default(),
            connections: AtomicUsize::new(0),
            bytes_in: AtomicUsize::new(0),
            bytes_out: AtomicUsize::new(0),
            max_batch: AtomicUsize::new(0),
            stall_until: Mutex::default(),
            problems: Mutex::default(),
            stop: AtomicBool::new(false),
        });
        let shared = Arc::clone(&state);
        std::thread::spawn(move || accept_loop(&listener, &shared));
        FakeServer { port, state }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// Bytes read from every connection so far (what loadgen wrote).
    pub fn bytes_received(&self) -> usize {
        self.state.bytes_in.load(Ordering::SeqCst)
    }

    /// Bytes written to every connection so far (what loadgen could read).
    pub fn bytes_sent(&self) -> usize {
        self.state.bytes_out.load(Ordering::SeqCst)
    }

    /// Complete requests received so far.
    pub fn request_count(&self) -> usize {
        self.state.requests.lock().unwrap().len()
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The most complete requests that were waiting in one connection's buffer at once.
    pub fn max_batch(&self) -> usize {
        self.state.max_batch.load(Ordering::SeqCst)
    }

    /// What the server could not parse, one message per bad request.
    pub fn problems(&self) -> Vec<String> {
        self.state.problems.lock().unwrap().clone()
    }

    /// Panics if loadgen sent anything the server could not parse as HTTP/1.1.
    pub fn assert_no_problems(&self) {
        let problems = self.state.problems.lock().unwrap();
        assert!(
            problems.is_empty(),
            "bad requests from loadgen: {problems:?}"
        );
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wakes the blocking accept so its thread sees the flag and ends.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn accept_loop(listener: &TcpListener, state: &Arc<State>) {
    for stream in listener.incoming() {
        if state.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let id = state.connections.fetch_add(1, Ordering::SeqCst);
        let state = Arc::clone(state);
        std::thread::spawn(move || serve(&state, stream, id));
    }
}

/// Reads requests and answers them in order until either side closes the connection.
fn serve(state: &State, mut stream: TcpStream, conn: usize) {
    let _ = stream.set_read_timeout(Some(IDLE_POLL));
    let _ = stream.set_nodelay(true);
    let born = Instant::now();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    while born.elapsed() < MAX_CONN_LIFE && !state.stop.load(Ordering::SeqCst) {
        let batch = match take_requests(&mut buf, conn) {
            Ok(batch) => batch,
            Err(why) => return state.problems.lock().unwrap().push(why),
        };
        state.max_batch.fetch_max(batch.len(), Ordering::SeqCst);
        for request in batch {
            let close = request.wants_close();
            let index = state.record(request);
            match respond(state, &mut stream, (state.plan)(index), index, close) {
                Ok(Open::Keep) => {}
                Ok(Open::Close) | Err(_) => return,
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => {
                state.bytes_in.fetch_add(n, Ordering::SeqCst);
                buf.extend_from_slice(&chunk[..n]);
            }
            Err(e) if is_timeout(&e) => {}
            Err(_) => return,
        }
    }
}

impl State {
    /// Stores a request; returns its arrival index.
    fn record(&self, request: Request) -> usize {
        let mut requests = self.requests.lock().unwrap();
        requests.push(request);
        requests.len() - 1
    }

    /// Starts the one global stall, if none was started yet.
    fn start_stall(&self, length: Duration) {
        let mut until = self.stall_until.lock().unwrap();
        until.get_or_insert(Instant::now() + length);
    }

    /// Sleeps while a stall is in progress: this is the scenario's intentional server stall.
    fn wait_stall(&self) {
        let until = *self.stall_until.lock().unwrap();
        if let Some(left) = until.and_then(|t| t.checked_duration_since(Instant::now())) {
            std::thread::sleep(left);
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Whether the connection stays open after a reply.
enum Open {
    Keep,
    Close,
}

fn respond(
    state: &State,
    stream: &mut TcpStream,
    reply: Reply,
    index: usize,
    close: bool,
) -> io::Result<Open> {
    if let Reply::StallAll(length) = reply {
        state.start_stall(length);
    }
    state.wait_stall();
    if let Reply::Silent(length) = reply {
        wait_for_client_close(stream, length);
        return Ok(Open::Close);
    }
    let mut out = Counted {
        stream,
        sent: &state.bytes_out,
    };
    let body = format!("{{\"n\":{index}}}");
    let connection = if close { "Connection: close\r\n" } else { "" };
    match reply {
        Reply::Fixed(status) => out.write_all(&fixed(status, connection, &body))?,
        Reply::StallAll(_) => out.write_all(&fixed(200, connection, &body))?,
        Reply::FixedThenClose(status) => {
            out.write_all(&fixed(status, "", &body))?;
            return Ok(Open::Close);
        }
        Reply::Interim(status) => {
            out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
            out.write_all(&fixed(status, connection, &body))?;
        }
        Reply::Chunked(status) => write_chunked(&mut out, status, connection, &body)?,
        Reply::CloseDelimited(status) => {
            let head = format!(
                "HTTP/1.1 {status} {}\r\nConnection: close\r\n\r\n",
                reason(status)
            );
            out.write_all(format!("{head}{body}").as_bytes())?;
            return Ok(Open::Close);
        }
        Reply::Close | Reply::Silent(_) => return Ok(Open::Close),
        Reply::Garbage => {
            out.write_all(b"HELLO\r\n\r\n")?;
            return Ok(Open::Close);
        }
    }
    if close {
        let _ = out.stream.shutdown(Shutdown::Write);
        return Ok(Open::Close);
    }
    Ok(Open::Keep)
}

/// A writer that adds what it wrote to the server's byte count.
struct Counted<'a> {
    stream: &'a mut TcpStream,
    sent: &'a AtomicUsize,
}

impl Write for Counted<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = self.stream.write(bytes)?;
        self.sent.fetch_add(n, Ordering::SeqCst);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

fn fixed(status: u16, connection: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{connection}\r\n{body}",
        reason(status),
        body.len()
    )
    .into_bytes()
}

/// The body in two chunks; head and chunks in separate writes so loadgen sees partial input.
fn write_chunked(
    stream: &mut impl Write,
    status: u16,
    connection: &str,
    body: &str,
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n{connection}\r\n",
        reason(status)
    );
    stream.write_all(head.as_bytes())?;
    let (a, b) = body.split_at(body.len() / 2);
    stream.write_all(format!("{:x}\r\n{a}\r\n", a.len()).as_bytes())?;
    stream.write_all(format!("{:x};ext=1\r\n{b}\r\n0\r\n\r\n", b.len()).as_bytes())
}

/// Holds the connection open without answering until the client closes it or `length` passes.
fn wait_for_client_close(stream: &mut TcpStream, length: Duration) {
    let until = Instant::now() + length;
    let mut sink = [0u8; 4096];
    while Instant::now() < until {
        match stream.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {}
            Err(_) => return,
        }
    }
}

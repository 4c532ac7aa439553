//! One user: its connection and the requests in flight on it.
//!
//! A user is driven by its thread's event loop: [`User::start`] sends a batch of
//! requests (one write; a fresh connection first when there is none), and
//! [`User::on_event`] writes what is left, reads, and counts every response or error.
//! Sockets are registered once, for reading and writing, edge-triggered: no
//! `epoll_ctl` per request (wrk does two).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use crate::cli::ConnectionMode;
use crate::payload::Rng;
use crate::request::RequestTemplate;
use crate::response::{Eof, ParseError, Response, ResponseParser};
use crate::stats::{ErrorKind, Stats};

/// Initial read buffer per user; it grows for large responses or deep pipelines.
const READ_BUFFER: usize = 8 * 1024;
/// How long we wait for a server that announced `Connection: close` to close.
const CLOSE_GRACE: Duration = Duration::from_millis(100);
/// A response (or pipelined batch) needing more buffer than this is refused.
const MAX_READ_BUFFER: usize = 64 * 1024 * 1024;

/// What does not change during a run, shared by a thread's users.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Server address.
    pub addr: SocketAddr,
    /// New connection per request, or per user.
    pub mode: ConnectionMode,
    /// Close with SO_LINGER 0.
    pub linger0: bool,
    /// Accepted statuses (empty: any).
    pub expect: Vec<u16>,
    /// Results count from this instant (end of the warm-up).
    pub record_from: Instant,
    /// Results count until this instant (end of a `--duration` run).
    pub record_until: Option<Instant>,
}

impl Settings {
    /// Whether something that happens at `now` is counted.
    pub fn counting(&self, now: Instant) -> bool {
        now >= self.record_from && self.record_until.is_none_or(|end| now < end)
    }
}

/// What a user needs from its thread while it works.
pub struct Cx<'a> {
    /// The thread's poll registry.
    pub registry: &'a Registry,
    /// Run settings.
    pub settings: &'a Settings,
    /// Request bytes.
    pub template: &'a RequestTemplate,
    /// Payload RNG.
    pub rng: &'a mut Rng,
    /// The thread's counters.
    pub stats: &'a mut Stats,
    /// Current time (taken once per event batch).
    pub now: Instant,
    /// Counted requests finished during this call (for the progress line).
    pub finished: u64,
}

/// Send times of one request in flight.
#[derive(Clone, Copy, Debug)]
struct Sent {
    /// When it was due (open loop) or started (closed loop): latency counts from here.
    intended: Instant,
    /// When it was actually started (connect included in close mode).
    actual: Instant,
}

/// One simulated user with at most one connection.
pub struct User {
    /// Global index (0..users), the user's slot in the open-loop schedule.
    pub index: u64,
    token: Token,
    stream: Option<TcpStream>,
    /// A write has succeeded: failures from here on are resets, not connect errors.
    connected: bool,
    out: Vec<u8>,
    written: usize,
    inbuf: Vec<u8>,
    /// Unparsed bytes are `inbuf[start..filled]`.
    start: usize,
    filled: usize,
    parser: ResponseParser,
    inflight: VecDeque<Sent>,
    /// Requests counted (responses + requests that failed).
    pub counted: u64,
    /// Requests started (counted or not): the next schedule slot.
    pub seq: u64,
    /// The last connect found no free local port: wait before the next one.
    pub backoff: bool,
    /// The user will send nothing more.
    pub finished: bool,
    /// Since when the last response is in and we wait for the server to close.
    closing_since: Option<Instant>,
}

impl User {
    /// A user with no connection yet.
    pub fn new(index: u64, token: Token, pipeline: usize, head_request: bool) -> User {
        User {
            index,
            token,
            stream: None,
            connected: false,
            out: Vec::with_capacity(1024),
            written: 0,
            inbuf: vec![0; READ_BUFFER],
            start: 0,
            filled: 0,
            parser: ResponseParser::new(head_request),
            inflight: VecDeque::with_capacity(pipeline),
            counted: 0,
            seq: 0,
            backoff: false,
            finished: false,
            closing_since: None,
        }
    }

    /// No request in flight: the thread decides what the user does next.
    pub fn is_idle(&self) -> bool {
        self.inflight.is_empty() && self.closing_since.is_none()
    }

    /// Sends `n` requests in one write, the `j`-th due at `intended(j)`; connects first
    /// if needed. A failure is counted against the requests; the user is then idle.
    pub fn start(&mut self, cx: &mut Cx, n: u64, intended: impl Fn(u64) -> Instant) {
        debug_assert!(self.is_idle() && n > 0);
        for j in 0..n {
            self.inflight.push_back(Sent {
                intended: intended(j),
                actual: cx.now,
            });
            cx.template.append(cx.rng, &mut self.out);
        }
        self.seq += n;
        let result = match self.stream {
            Some(_) => self.flush(cx),
            None => self.open(cx).and_then(|()| self.flush(cx)),
        };
        if let Err(kind) = result {
            self.fail(cx, kind);
        }
    }

    /// Handles readiness: finishes a pending write, then reads whatever arrived.
    /// `read_closed`: the event says the peer's FIN is already queued.
    pub fn on_event(&mut self, cx: &mut Cx, read_closed: bool) {
        if self.stream.is_none() {
            return; // a stale event for a connection closed earlier in this batch
        }
        let result = self.flush(cx).and_then(|()| self.read(cx, read_closed));
        if let Err(kind) = result {
            self.fail(cx, kind);
        }
    }

    /// Fails the requests in flight if the oldest was sent more than `timeout` ago.
    pub fn expire(&mut self, cx: &mut Cx, timeout: Duration) {
        if let Some(since) = self.closing_since {
            if cx.now.saturating_duration_since(since) >= CLOSE_GRACE {
                self.close();
            }
        }
        if let Some(oldest) = self.inflight.front() {
            if cx.now.saturating_duration_since(oldest.actual) >= timeout {
                self.fail(cx, ErrorKind::Timeout);
            }
        }
    }

    fn open(&mut self, cx: &mut Cx) -> Result<(), ErrorKind> {
        let stream = connect(cx.settings).map_err(|e| {
            // No local port free (TIME_WAIT everywhere): one connect error, and the
            // thread waits a little before this user tries again instead of spinning.
            self.backoff = e.kind() == io::ErrorKind::AddrNotAvailable;
            ErrorKind::Connect
        })?;
        let stream = self.stream.insert(stream);
        cx.registry
            .register(stream, self.token, Interest::READABLE | Interest::WRITABLE)
            .map_err(|_| ErrorKind::Connect)
    }

    /// Writes the rest of `out`, counting the bytes the socket took (a request that
    /// never left, e.g. to a refused connection, is not "written"). On a socket still
    /// connecting the write just would block (EAGAIN), and the writable edge at connect
    /// completion brings us back.
    fn flush(&mut self, cx: &mut Cx) -> Result<(), ErrorKind> {
        let Some(stream) = &mut self.stream else {
            return Ok(());
        };
        while self.written < self.out.len() {
            match stream.write(&self.out[self.written..]) {
                Ok(n) => {
                    self.written += n;
                    self.connected = true;
                    if cx.settings.counting(cx.now) {
                        cx.stats.bytes_written += n as u64;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(self.io_error_kind()),
            }
        }
        self.out.clear();
        self.written = 0;
        Ok(())
    }

    /// Reads until the socket is drained or the response ends this connection.
    ///
    /// A short read means "drained" (wrk relies on the same): anything arriving after
    /// the event was harvested, FIN included, raises a new edge. Only a FIN that was
    /// already queued when the event was harvested raises none (`read_closed`), so
    /// then we read on until the read returns 0.
    fn read(&mut self, cx: &mut Cx, read_closed: bool) -> Result<(), ErrorKind> {
        loop {
            let room = self.make_room()?;
            let Some(stream) = &mut self.stream else {
                return Ok(()); // the last response closed the connection
            };
            match stream.read(&mut self.inbuf[self.filled..]) {
                Ok(0) => return self.on_eof(cx),
                Ok(n) => {
                    self.filled += n;
                    if cx.settings.counting(cx.now) {
                        cx.stats.bytes_read += n as u64;
                    }
                    self.parse(cx)?;
                    if n < room && !read_closed {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(self.io_error_kind()),
            }
        }
    }

    /// Counts every complete response in the buffer.
    fn parse(&mut self, cx: &mut Cx) -> Result<(), ErrorKind> {
        while self.start < self.filled {
            let parsed = self.parser.parse(&self.inbuf[self.start..self.filled]);
            match parsed.map_err(|_: ParseError| ErrorKind::Malformed)? {
                Some(response) => {
                    self.start += response.len;
                    self.complete(cx, response);
                    if self.stream.is_none() || self.closing_since.is_some() {
                        return Ok(());
                    }
                }
                None => break,
            }
        }
        if self.start == self.filled {
            self.start = 0;
            self.filled = 0;
        }
        Ok(())
    }

    /// Counts one response; closes the connection when it cannot carry more.
    fn complete(&mut self, cx: &mut Cx, response: Response) {
        let Some(sent) = self.inflight.pop_front() else {
            // Bytes nobody asked for: the framing is off.
            return self.fail(cx, ErrorKind::Malformed);
        };
        if cx.settings.counting(cx.now) {
            let expected =
                cx.settings.expect.is_empty() || cx.settings.expect.contains(&response.status);
            let corrected = micros(cx.now.saturating_duration_since(sent.intended));
            let uncorrected = micros(cx.now.saturating_duration_since(sent.actual));
            cx.stats
                .record_response(response.status, corrected, uncorrected, expected);
            self.counted += 1;
            cx.finished += 1;
        }
        if response.close && self.inflight.is_empty() {
            // Let the server close first, as it announced: the side that closes first
            // keeps the TIME_WAIT, so the client's ephemeral ports stay free.
            self.closing_since = Some(cx.now);
        } else if response.close || cx.settings.mode == ConnectionMode::Close {
            // Requests still in flight on it (pipelining) will never be answered.
            self.fail(cx, ErrorKind::Closed);
        }
    }

    fn on_eof(&mut self, cx: &mut Cx) -> Result<(), ErrorKind> {
        match self.parser.eof(&self.inbuf[self.start..self.filled]) {
            Eof::Complete(response) => {
                self.complete(cx, response);
                self.fail(cx, ErrorKind::Closed);
                Ok(())
            }
            // Server closed an idle keep-alive connection: reconnect on the next request.
            Eof::Idle if self.inflight.is_empty() => {
                self.close();
                Ok(())
            }
            Eof::Idle | Eof::Truncated => Err(ErrorKind::Closed),
        }
    }

    /// Counts every request in flight as failed with `kind` and drops the connection.
    fn fail(&mut self, cx: &mut Cx, kind: ErrorKind) {
        if cx.settings.counting(cx.now) {
            for _ in 0..self.inflight.len() {
                cx.stats.record_error(kind);
            }
            self.counted += self.inflight.len() as u64;
            cx.finished += self.inflight.len() as u64;
        }
        self.inflight.clear();
        self.close();
    }

    /// Drops the connection (closing the fd also removes it from epoll) and its buffers.
    fn close(&mut self) {
        self.stream = None;
        self.closing_since = None;
        self.connected = false;
        self.out.clear();
        self.written = 0;
        self.start = 0;
        self.filled = 0;
        self.parser.reset();
    }

    /// Free space at the end of `inbuf`, compacting or growing it when full.
    fn make_room(&mut self) -> Result<usize, ErrorKind> {
        if self.filled == self.inbuf.len() {
            if self.start > 0 {
                self.inbuf.copy_within(self.start..self.filled, 0);
                self.filled -= self.start;
                self.start = 0;
            } else if self.inbuf.len() < MAX_READ_BUFFER {
                self.inbuf.resize(self.inbuf.len() * 2, 0);
            } else {
                return Err(ErrorKind::Malformed);
            }
        }
        Ok(self.inbuf.len() - self.filled)
    }

    fn io_error_kind(&self) -> ErrorKind {
        if self.connected {
            ErrorKind::Reset
        } else {
            ErrorKind::Connect
        }
    }
}

/// Starts a non-blocking connect (it completes in the background) with TCP_NODELAY.
fn connect(settings: &Settings) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(settings.addr)?;
    stream.set_nodelay(true)?;
    if settings.linger0 {
        // SO_LINGER 0: close() sends RST and frees the port at once, no TIME_WAIT.
        socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
    }
    Ok(stream)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

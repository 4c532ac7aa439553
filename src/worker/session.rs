//! The HTTP/1.1 exchange of one connection on plain bytes, with no I/O.
//!
//! Bytes go into `rbuf`; [`Session::process`] answers every complete request in it into
//! the output buffer, in order (pipelining), and tracks the connection's clock: from
//! accept or a request's first byte (read timeout, 408) and between requests (keep-alive
//! timeout). [`super::conn::Conn`] moves the bytes; both worker modes share this.

use std::time::{Duration, Instant};

use crate::config::{Config, Limits};
use crate::http::request::{parse, Method, Progress, Request};
use crate::http::response::{encode, encode_for_head, DateCache, Response, CONTINUE};

/// Above this much unwritten output a connection stops reading (backpressure): a client
/// that pipelines without reading answers must not grow our memory without bound.
pub const HIGH_WATER: usize = 256 * 1024;

/// How long a connection we close on an error keeps draining the client's input, so the
/// kernel does not answer unread bytes with a RST that destroys our error response.
const LINGER: Duration = Duration::from_secs(2);

/// The two client-facing timeouts, from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// Time to send one whole request (from its first byte, or from accept); then 408.
    pub read: Duration,
    /// Time an idle keep-alive connection is kept between requests.
    pub keepalive: Duration,
}

impl Timeouts {
    /// The timeouts a configuration asks for.
    pub fn of(config: &Config) -> Timeouts {
        Timeouts {
            read: config.read_timeout,
            keepalive: config.keepalive_timeout,
        }
    }
}

/// Where a connection is between requests; each phase starts a clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Accepted, first request not complete yet (its clock started at accept).
    Fresh(Instant),
    /// Part of a request has arrived (clock: its first byte).
    Reading(Instant),
    /// Between requests, nothing pending (clock: the last response).
    Idle(Instant),
}

/// Protocol state of one connection, independent of how its bytes move.
#[derive(Debug)]
pub struct Session {
    /// Bytes received and not yet consumed by a complete request.
    pub rbuf: Vec<u8>,
    /// Encoded output; `wbuf[written..]` is still to be sent.
    wbuf: Vec<u8>,
    written: usize,
    /// `100 Continue` already sent for the request being received.
    continue_sent: bool,
    /// No more requests: close once the output is flushed.
    closing: bool,
    /// When closing, half-close and drain the input first: after an error or a timeout
    /// (the client may still be sending), or with unanswered pipelined requests.
    linger: bool,
    /// Set once the half-close happened: the linger deadline.
    lingering_until: Option<Instant>,
    /// The client closed its side (read returned 0).
    peer_closed: bool,
    /// Close at once, without flushing (timed out while the client was not reading).
    dead: bool,
    phase: Phase,
    /// Responses produced on this connection.
    pub served: u64,
}

impl Session {
    /// A session for a connection accepted at `now`.
    pub fn new(now: Instant) -> Session {
        Session {
            rbuf: Vec::new(),
            wbuf: Vec::new(),
            written: 0,
            continue_sent: false,
            closing: false,
            linger: false,
            lingering_until: None,
            peer_closed: false,
            dead: false,
            phase: Phase::Fresh(now),
            served: 0,
        }
    }

    /// Appends received bytes; a request starting on an idle connection starts its clock.
    pub fn received(&mut self, bytes: &[u8], now: Instant) {
        if self.lingering_until.is_some() {
            return; // draining before close: the bytes are discarded
        }
        self.rbuf.extend_from_slice(bytes);
        if let Phase::Idle(_) = self.phase {
            self.phase = Phase::Reading(now);
        }
    }

    /// Answers every complete request in `rbuf`, in order, into the output buffer;
    /// `handler` turns one request into its response. Returns how many were answered.
    pub fn process<F>(
        &mut self,
        limits: &Limits,
        date: &mut DateCache,
        now: Instant,
        mut handler: F,
    ) -> usize
    where
        F: FnMut(&Request) -> Response,
    {
        let mut start = 0;
        let mut answered = 0;
        while !self.closing && start < self.rbuf.len() {
            match parse(&self.rbuf[start..], limits) {
                Ok(Progress::Complete { request, consumed }) => {
                    start += consumed;
                    let resp = handler(&request);
                    self.respond(&request, &resp, date);
                    answered += 1;
                }
                Ok(Progress::Incomplete { expects_continue }) => {
                    // Once per request: the client waits for it before sending the body.
                    if expects_continue && !self.continue_sent {
                        self.wbuf.extend_from_slice(CONTINUE);
                        self.continue_sent = true;
                    }
                    break;
                }
                Err(err) => {
                    // The rest of the stream cannot be framed any more: answer and close.
                    self.fail(err.status(), &err.to_string(), date);
                    start = self.rbuf.len();
                }
            }
        }
        self.rbuf.drain(..start);
        // Closing with unread requests behind the last answer: drain them before the
        // close, or the kernel answers them with a RST that can destroy our response.
        if self.closing && !self.rbuf.is_empty() {
            self.linger = true;
        }
        if answered > 0 {
            self.phase = if self.rbuf.is_empty() {
                Phase::Idle(now)
            } else {
                Phase::Reading(now)
            };
        }
        answered
    }

    /// Encodes one response (headers only for HEAD) and decides keep-alive.
    fn respond(&mut self, req: &Request, resp: &Response, date: &mut DateCache) {
        let keep_alive = req.keep_alive && !resp.close;
        if req.method == Method::Head {
            encode_for_head(resp, keep_alive, date, &mut self.wbuf);
        } else {
            encode(resp, keep_alive, date, &mut self.wbuf);
        }
        self.continue_sent = false;
        self.served += 1;
        if !keep_alive {
            self.closing = true;
        }
    }

    /// Answers with an error status and closes after it.
    fn fail(&mut self, status: u16, message: &str, date: &mut DateCache) {
        encode(
            &Response::error(status, message),
            false,
            date,
            &mut self.wbuf,
        );
        self.closing = true;
        self.linger = true;
    }

    /// When this connection's clock runs out.
    pub fn deadline(&self, t: &Timeouts) -> Instant {
        if let Some(until) = self.lingering_until {
            return until;
        }
        match self.phase {
            Phase::Fresh(at) | Phase::Reading(at) => at + t.read,
            Phase::Idle(at) => at + t.keepalive,
        }
    }

    /// The deadline passed: a request still arriving gets 408 (then close); an idle
    /// keep-alive connection, a lingering one or one whose client stopped reading closes.
    pub fn expire(&mut self, date: &mut DateCache) {
        let waiting_for_request = matches!(self.phase, Phase::Fresh(_) | Phase::Reading(_));
        if self.lingering_until.is_none()
            && !self.closing
            && waiting_for_request
            && self.pending().is_empty()
        {
            self.fail(408, "timed out reading the request", date);
        } else {
            self.dead = true;
        }
    }

    /// Bytes still to be written.
    pub fn pending(&self) -> &[u8] {
        &self.wbuf[self.written..]
    }

    /// Records that `n` more bytes were written; an emptied buffer restarts the idle clock
    /// (a keep-alive connection is idle from when the client has its answer).
    pub(super) fn wrote(&mut self, n: usize, now: Instant) {
        self.written += n;
        if self.written == self.wbuf.len() {
            self.wbuf.clear();
            self.written = 0;
            if let Phase::Idle(_) = self.phase {
                self.phase = Phase::Idle(now);
            }
        }
    }

    /// Whether reading more is useful now.
    pub fn wants_read(&self) -> bool {
        if self.peer_closed || self.dead {
            return false;
        }
        self.lingering_until.is_some() || (!self.closing && self.pending().len() < HIGH_WATER)
    }

    /// Nothing in flight: no partial request, no output, not closing.
    pub fn is_idle(&self) -> bool {
        !self.closing
            && self.rbuf.is_empty()
            && self.pending().is_empty()
            && !matches!(self.phase, Phase::Reading(_))
    }

    /// Since when the connection has sat between two requests (the last answer's
    /// flush), if it does. A fresh connection that has sent nothing yet is not "between
    /// requests": its client is about to send the first one, so closing it early would
    /// fail a request rather than end an idle keep-alive.
    pub fn idle_since(&self) -> Option<Instant> {
        match self.phase {
            Phase::Idle(since) if self.is_idle() => Some(since),
            _ => None,
        }
    }

    /// Whether the half-close-and-drain step is due now.
    pub(super) fn linger_due(&self) -> bool {
        self.closing
            && self.linger
            && self.lingering_until.is_none()
            && !self.peer_closed
            && self.pending().is_empty()
    }

    /// The half-close happened: drop unread input and drain until EOF or [`LINGER`].
    pub(super) fn start_linger(&mut self, now: Instant) {
        self.rbuf.clear();
        self.lingering_until = Some(now + LINGER);
    }

    /// The client closed its side (a read returned 0).
    pub(super) fn peer_closed(&mut self) {
        self.peer_closed = true;
    }

    /// The connection can be dropped.
    pub fn finished(&self) -> bool {
        self.dead
            || (self.pending().is_empty() && (self.peer_closed || (self.closing && !self.linger)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timeouts = Timeouts {
        read: Duration::from_secs(30),
        keepalive: Duration::from_secs(5),
    };

    /// Echoes the path as the body: stands in for the app without a database.
    fn echo(req: &Request) -> Response {
        Response::json(200, req.path.clone().into_bytes())
    }

    /// Feeds `bytes` to `s` at `now` and answers what is complete with `handler`.
    fn more(
        s: &mut Session,
        bytes: &[u8],
        now: Instant,
        handler: impl FnMut(&Request) -> Response,
    ) {
        s.received(bytes, now);
        s.process(&Limits::default(), &mut DateCache::default(), now, handler);
    }

    /// A fresh session fed `bytes`, answered with [`echo`], and its output as text.
    fn feed(bytes: &[u8]) -> (Session, String) {
        let mut s = Session::new(Instant::now());
        more(&mut s, bytes, Instant::now(), echo);
        let out = text(&s);
        (s, out)
    }

    fn text(s: &Session) -> String {
        String::from_utf8(s.pending().to_vec()).unwrap()
    }

    fn statuses(out: &str) -> Vec<&str> {
        out.match_indices("HTTP/1.1 ")
            .map(|(i, _)| &out[i + 9..i + 12])
            .collect()
    }

    /// Pipelined requests in one buffer are all answered, in order, in one output.
    #[test]
    fn pipelined_requests_answered_in_order() {
        let (s, out) =
            feed(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n");
        assert_eq!(statuses(&out), ["200", "200", "200"]);
        let at = |p: &str| out.find(p).unwrap();
        assert!(at("/a") < at("/b") && at("/b") < at("/c"), "{out}");
        assert!(s.rbuf.is_empty() && s.served == 3);
    }

    /// A request split across reads is answered once its last byte arrives.
    #[test]
    fn partial_request_waits_for_the_rest() {
        let (mut s, out) = feed(b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab");
        assert!(out.is_empty());
        more(&mut s, b"cde", Instant::now(), |r| {
            assert_eq!(r.body, b"abcde");
            echo(r)
        });
        assert_eq!(statuses(&text(&s)), ["200"]);
    }

    /// `Expect: 100-continue` gets one interim response, however often the head is re-parsed.
    #[test]
    fn continue_sent_once_per_request() {
        let (mut s, out) =
            feed(b"POST /p HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
        assert_eq!(out.as_bytes(), CONTINUE);
        more(&mut s, b"ab", Instant::now(), echo);
        assert_eq!(s.pending(), CONTINUE, "no second 100 Continue");
        more(&mut s, b"cd", Instant::now(), echo);
        assert_eq!(statuses(&text(&s)), ["100", "200"]);
    }

    /// A malformed request gets its error status, closes, and later bytes are not parsed.
    #[test]
    fn malformed_request_answers_400_and_closes() {
        let (s, out) = feed(b"GET / HTTP/1.1\r\nHost x\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
        assert_eq!(statuses(&out), ["400"]);
        assert!(
            out.contains("Connection: close") && out.contains("\"error\""),
            "{out}"
        );
        assert!(
            !s.wants_read() && !s.linger_due(),
            "flush first, then linger"
        );
    }

    /// A body over the limit is refused from its Content-Length, before it arrives.
    #[test]
    fn oversized_body_is_413() {
        let (_, out) = feed(b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n");
        assert_eq!(statuses(&out), ["413"]);
    }

    /// HEAD gets the headers, Content-Length included, but no body.
    #[test]
    fn head_has_no_body() {
        let (_, out) = feed(b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(
            out.ends_with("\r\n\r\n") && out.contains("Content-Length: 7"),
            "{out}"
        );
    }

    /// `Connection: close` from the client closes after the answer, without lingering.
    #[test]
    fn client_close_finishes_after_flush() {
        let (mut s, out) = feed(b"GET /a HTTP/1.1\r\nConnection: close\r\n\r\n");
        assert_eq!(statuses(&out), ["200"]);
        assert!(!s.finished());
        s.wrote(out.len(), Instant::now());
        assert!(s.finished() && !s.linger_due());
    }

    /// Requests pipelined behind a `Connection: close` one are not answered.
    #[test]
    fn nothing_answered_after_client_close() {
        let (s, out) = feed(b"GET /a HTTP/1.1\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
        assert_eq!(statuses(&out), ["200"]);
        assert!(!out.contains("/b") && !s.wants_read());
    }

    /// A response marked `close` (draining, recycling) ends keep-alive; with nothing
    /// unread the connection closes right after the flush, with pipelined requests
    /// left unanswered it lingers.
    #[test]
    fn server_close_ends_keep_alive() {
        let one: &[u8] = b"GET /a HTTP/1.1\r\n\r\n";
        for (input, lingers) in [
            (one, false),
            (b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", true),
        ] {
            let mut s = Session::new(Instant::now());
            more(&mut s, input, Instant::now(), |r| Response {
                close: true,
                ..echo(r)
            });
            let out = text(&s);
            assert!(
                statuses(&out) == ["200"] && out.contains("Connection: close"),
                "{out}"
            );
            s.wrote(out.len(), Instant::now());
            assert_eq!((s.linger_due(), s.finished()), (lingers, !lingers));
        }
    }

    /// Clocks: a fresh connection has the read timeout from accept; after an answer the
    /// keep-alive timeout from then; a new request's first byte restarts the read timeout.
    #[test]
    fn deadlines_follow_the_phase() {
        let t0 = Instant::now();
        let at = |secs| t0 + Duration::from_secs(secs);
        let mut s = Session::new(t0);
        assert_eq!(s.deadline(&T), t0 + T.read);
        more(&mut s, b"GET /a HTTP/1.1\r\n", at(1), echo);
        assert_eq!(s.deadline(&T), t0 + T.read, "still measured from accept");
        more(&mut s, b"\r\n", at(1), echo);
        let n = s.pending().len();
        s.wrote(n, at(2));
        assert_eq!(s.deadline(&T), at(2) + T.keepalive, "idle from the flush");
        s.received(b"G", at(3));
        assert_eq!(s.deadline(&T), at(3) + T.read);
    }

    /// An expired incomplete request gets 408 and closes; an idle one closes silently.
    #[test]
    fn expiry_408_or_silent() {
        let (mut s, _) = feed(b"GET /slow HTTP/1.1\r\nHo");
        s.expire(&mut DateCache::default());
        assert_eq!(statuses(&text(&s)), ["408"]);
        let (mut idle, out) = feed(b"GET /a HTTP/1.1\r\n\r\n");
        idle.wrote(out.len(), Instant::now());
        idle.expire(&mut DateCache::default());
        assert!(idle.finished() && idle.pending().is_empty());
    }

    /// Reading pauses while unsent output is above the high-water mark.
    #[test]
    fn backpressure_stops_reading() {
        let mut s = Session::new(Instant::now());
        assert!(s.wants_read());
        s.wbuf.resize(HIGH_WATER, b'x');
        assert!(!s.wants_read());
        s.wrote(HIGH_WATER, Instant::now());
        assert!(s.wants_read());
    }
}

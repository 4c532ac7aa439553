//! The HTTP/1.1 exchange of one connection on plain bytes, with no I/O.
//!
//! Bytes go into `rbuf`; [`Session::process`] answers every complete request in it into
//! the output buffer, in order (pipelining), and tracks the connection's clock: from
//! accept or a request's first byte (read timeout, 408) and between requests (keep-alive
//! timeout). [`super::conn::Conn`] moves the bytes; both worker modes share this.
//!
//! With group commit an answer can come later ([`Reply::Later`]): its place in the output
//! is reserved and [`Session::fill`] puts it there once the batch is committed; nothing
//! behind it is sent before it.
//!
//! A session also meters its connection on the worker's [`Counters`] (`/metrics`):
//! every response encoded, by status, with its latency — from the `now` of the pass
//! that found its request complete to the moment its response is encoded (one clock
//! read per response) — and its own closing, when it is dropped. With an access log,
//! each response is also a line there (the same latency; for the parser's own errors
//! and timeouts, measured from the request's first byte).

use std::time::{Duration, Instant};

use crate::access_log::{body_bytes, AccessLog, Entry};

use crate::config::{Config, Limits};
use crate::http::request::{parse, Method, Progress, Request};
use crate::http::response::{encode, encode_for_head, DateCache, Response, CONTINUE};
use crate::peer::Peer;
use crate::scoreboard::Counters;
use crate::service::Never;
use crate::worker::output::{release_if_empty, strip_body, Output};

/// Above this much unwritten output a connection stops reading (backpressure): a client
/// that pipelines without reading answers must not grow our memory without bound.
pub const HIGH_WATER: usize = 256 * 1024;

/// How long a connection we close on an error keeps draining the client's input, so the
/// kernel does not answer unread bytes with a RST that destroys our error response.
const LINGER: Duration = Duration::from_secs(2);

/// Once the worker is draining (stop, reload, scale-down, `--max-requests`), how long a
/// connection with nothing in flight is still kept, in both worker modes: a client that
/// has just got an answer may be sending its next request right now, and closing under
/// it would fail that request instead of answering it with `Connection: close`.
pub const DRAIN_GRACE: Duration = Duration::from_millis(1000);

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

/// A request handler's answer; `D` is a completed job the session encodes with the
/// handler's encoder (see [`Session::process_replies`]).
#[derive(Debug)]
pub enum Reply<D> {
    /// The response, now.
    Now(Response),
    /// A job completed on the spot, encoded now; `close`: it closes the connection.
    Done {
        /// The completed job.
        done: D,
        /// The response will not keep the connection alive.
        close: bool,
    },
    /// The response comes later through [`Session::fill`] (a job waiting for its
    /// group commit); `close`: it will close the connection.
    Later {
        /// The response will not keep the connection alive.
        close: bool,
    },
    /// Not now: leave the request unconsumed until the answers owed are filled in (a
    /// read must see the writes pipelined before it).
    Retry,
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
    /// Encoded output, with the places of answers still owed.
    out: Output,
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
    /// The last pass stopped at a complete request the handler could not take yet
    /// ([`Reply::Retry`]): reading more now would only grow `rbuf`.
    holds_request: bool,
    /// The worker's counters: responses, latencies, bytes, the close.
    meter: Counters,
    /// The remote end, for the access log.
    peer: Peer,
    /// The worker's access log ([`AccessLog::off`]: none).
    log: AccessLog,
    /// With an access log: the request lines of the answers still owed, by hole.
    owed_lines: Vec<(u64, Box<[u8]>)>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.meter.closed();
    }
}

impl Session {
    /// A session for a connection accepted at `now`, counted nowhere (tests).
    pub fn new(now: Instant) -> Session {
        Session::counted(now, Counters::discarded(), Peer::Unix, AccessLog::off())
    }

    /// A session for a connection accepted at `now`, metered on `meter` (the worker's
    /// counters; the connection's acceptance is counted by whoever accepted it), its
    /// responses logged on `log`.
    pub fn counted(now: Instant, meter: Counters, peer: Peer, log: AccessLog) -> Session {
        Session {
            rbuf: Vec::new(),
            out: Output::default(),
            continue_sent: false,
            closing: false,
            linger: false,
            lingering_until: None,
            peer_closed: false,
            dead: false,
            phase: Phase::Fresh(now),
            served: 0,
            holds_request: false,
            meter,
            peer,
            log,
            owed_lines: Vec::new(),
        }
    }

    /// The counters this session meters on (for the bytes its connection moves).
    pub fn meter(&self) -> &Counters {
        &self.meter
    }

    /// The remote end of the connection.
    pub fn peer(&self) -> Peer {
        self.peer
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
        let never = |done: &Never, _: bool, _: &mut DateCache, _: &mut Vec<u8>| match *done {};
        self.process_replies(
            limits,
            date,
            now,
            |req, _, _| Reply::Now(handler(req)),
            never,
        )
    }

    /// [`Session::process`] for handlers that may answer later: `handler(request, owed,
    /// hole)` is told whether answers are still owed on this connection, and the name
    /// of the hole a [`Reply::Later`] would get (to fill with [`Session::fill_seq`]); a
    /// [`Reply::Done`] is encoded in place by `encode_done(done, keep_alive, date, out)`.
    /// Returns how many requests were consumed (answered now or later).
    pub fn process_replies<D, F, E>(
        &mut self,
        limits: &Limits,
        date: &mut DateCache,
        now: Instant,
        mut handler: F,
        mut encode_done: E,
    ) -> usize
    where
        F: FnMut(&Request, bool, u64) -> Reply<D>,
        E: FnMut(&D, bool, &mut DateCache, &mut Vec<u8>),
    {
        let mut start = 0;
        let mut answered = 0;
        self.holds_request = false;
        while !self.closing && start < self.rbuf.len() {
            match parse(&self.rbuf[start..], limits) {
                Ok(Progress::Complete { request, consumed }) => {
                    match handler(&request, self.out.holes() > 0, self.out.next_seq()) {
                        Reply::Now(resp) => {
                            let at = self.out.buf().len();
                            self.respond(&request, &resp, date);
                            let elapsed = now.elapsed();
                            self.meter.answered(resp.status, elapsed);
                            self.log_answer(start, at, resp.status, elapsed);
                        }
                        Reply::Done { done, close } => {
                            let keep_alive = request.keep_alive && !close;
                            let at = self.out.buf().len();
                            encode_done(&done, keep_alive, date, self.out.buf());
                            let status = status_of(&self.out.buf()[at..]);
                            let elapsed = now.elapsed();
                            self.meter.answered(status, elapsed);
                            if request.method == Method::Head {
                                strip_body(self.out.buf(), at);
                            }
                            self.log_answer(start, at, status, elapsed);
                            self.answered(keep_alive);
                        }
                        Reply::Later { close } => self.reserve(&request, start, close, now),
                        Reply::Retry => {
                            self.holds_request = true;
                            break;
                        }
                    }
                    start += consumed;
                    answered += 1;
                }
                Ok(Progress::Incomplete { expects_continue }) => {
                    // Once per request: the client waits for it before sending the body.
                    if expects_continue && !self.continue_sent {
                        self.out.buf().extend_from_slice(CONTINUE);
                        self.continue_sent = true;
                    }
                    break;
                }
                Err(err) => {
                    // The rest of the stream cannot be framed any more: answer and close.
                    self.fail(err.status(), &err.to_string(), start, date);
                    start = self.rbuf.len();
                }
            }
        }
        self.rbuf.drain(..start);
        release_if_empty(&mut self.rbuf);
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
            encode_for_head(resp, keep_alive, date, self.out.buf());
        } else {
            encode(resp, keep_alive, date, self.out.buf());
        }
        self.answered(keep_alive);
    }

    /// Reserves the place of a response that [`Session::fill`] provides later; its
    /// request starts at `rbuf[start..]` (its line is kept for the access log).
    fn reserve(&mut self, req: &Request, start: usize, close: bool, since: Instant) {
        let keep_alive = req.keep_alive && !close;
        let seq = self
            .out
            .reserve(keep_alive, req.method == Method::Head, since);
        if self.log.is_on() {
            let line = crate::access_log::request_line(&self.rbuf[start..]);
            self.owed_lines.push((seq, line.into()));
        }
        self.answered(keep_alive);
    }

    /// Logs the response just encoded at `out[at..]` to the request at `rbuf[start..]`.
    fn log_answer(&mut self, start: usize, at: usize, status: u16, elapsed: Duration) {
        if !self.log.is_on() {
            return;
        }
        let body_bytes = body_bytes(&self.out.buf()[at..]);
        self.log.record(&Entry {
            peer: self.peer,
            request: &self.rbuf[start..],
            status,
            body_bytes,
            elapsed,
        });
    }

    fn answered(&mut self, keep_alive: bool) {
        self.continue_sent = false;
        self.served += 1;
        if !keep_alive {
            self.closing = true;
        }
    }

    /// Puts the oldest answer owed ([`Reply::Later`]) in its place; its keep-alive was
    /// decided when it was reserved. False when nothing is owed.
    pub fn fill(&mut self, resp: &Response, date: &mut DateCache) -> bool {
        self.fill_with(|keep_alive, buf| encode(resp, keep_alive, date, buf))
    }

    /// [`Session::fill`] with an encoder that appends the response itself
    /// (`encode(keep_alive, out)`), for responses encoded without building a `Response`.
    pub fn fill_with(&mut self, encode: impl FnOnce(bool, &mut Vec<u8>)) -> bool {
        match self.out.oldest() {
            Some(seq) => self.fill_seq(seq, Instant::now(), encode),
            None => false,
        }
    }

    /// Puts the answer owed in hole `seq` (the name the handler was given) in its place,
    /// whatever order answers arrive in; false when there is no such hole. `now`: the
    /// moment of encoding, the end of the request's latency (a caller filling several
    /// answers right after one commit passes one clock read for them all).
    pub fn fill_seq(
        &mut self,
        seq: u64,
        now: Instant,
        encode: impl FnOnce(bool, &mut Vec<u8>),
    ) -> bool {
        let Some(since) = self.out.since(seq) else {
            return false;
        };
        let mut status = 0;
        let mut body = 0;
        let measure_body = self.log.is_on() && !self.out.answers_head(seq);
        let filled = self.out.fill_seq(seq, |keep_alive, buf| {
            let at = buf.len();
            encode(keep_alive, buf);
            status = status_of(&buf[at..]);
            if measure_body {
                body = body_bytes(&buf[at..]);
            }
        });
        let elapsed = now.saturating_duration_since(since);
        self.meter.answered(status, elapsed);
        if self.log.is_on() {
            self.log_filled(seq, status, body, elapsed);
        }
        filled
    }

    /// Logs the answer filled into hole `seq` with the request line kept for it.
    fn log_filled(&mut self, seq: u64, status: u16, body_bytes: usize, elapsed: Duration) {
        let Some(i) = self.owed_lines.iter().position(|(s, _)| *s == seq) else {
            return;
        };
        let (_, line) = self.owed_lines.swap_remove(i);
        self.log.record(&Entry {
            peer: self.peer,
            request: &line,
            status,
            body_bytes,
            elapsed,
        });
    }

    /// Answers still owed ([`Reply::Later`] not filled in yet).
    pub fn owed(&self) -> usize {
        self.out.holes()
    }

    /// Answers with an error status and closes after it (the parser's own answers:
    /// malformed requests, read timeouts); the request starts at `rbuf[start..]`.
    fn fail(&mut self, status: u16, message: &str, start: usize, date: &mut DateCache) {
        self.meter.rejected(status);
        let at = self.out.buf().len();
        encode(
            &Response::error(status, message),
            false,
            date,
            self.out.buf(),
        );
        let since = match self.phase {
            Phase::Fresh(at) | Phase::Reading(at) | Phase::Idle(at) => at,
        };
        self.log_answer(start, at, status, since.elapsed());
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

    /// [`Session::deadline`] under the drain rule: once `draining`, a connection between
    /// requests gets no more than [`DRAIN_GRACE`] from its last answer.
    pub fn drain_deadline(&self, t: &Timeouts, draining: bool) -> Instant {
        let deadline = self.deadline(t);
        match self.idle_since() {
            Some(since) if draining => deadline.min(since + DRAIN_GRACE),
            _ => deadline,
        }
    }

    /// Whether a draining worker closes this connection now: nothing in flight for
    /// [`DRAIN_GRACE`].
    pub fn drained_out(&self, draining: bool, now: Instant) -> bool {
        draining
            && self
                .idle_since()
                .is_some_and(|since| now >= since + DRAIN_GRACE)
    }

    /// The deadline passed: a request still arriving gets 408 (then close); an idle
    /// keep-alive connection, a lingering one or one whose client stopped reading closes.
    pub fn expire(&mut self, date: &mut DateCache) {
        let waiting_for_request = matches!(self.phase, Phase::Fresh(_) | Phase::Reading(_));
        if self.lingering_until.is_none()
            && !self.closing
            && waiting_for_request
            && self.out.is_empty()
        {
            self.fail(408, "timed out reading the request", 0, date);
        } else {
            self.dead = true;
        }
    }

    /// Bytes ready to be written (up to the first answer still owed).
    pub fn pending(&self) -> &[u8] {
        self.out.pending()
    }

    /// Records that `n` more bytes were written; an emptied buffer restarts the idle clock
    /// (a keep-alive connection is idle from when the client has its answer).
    pub(super) fn wrote(&mut self, n: usize, now: Instant) {
        if self.out.wrote(n) {
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

    /// A complete request waits in `rbuf` for the handler (see [`Reply::Retry`]): the
    /// next read can wait until it is taken, leaving the client's further bytes in the
    /// kernel rather than in our buffer.
    pub fn holds_request(&self) -> bool {
        self.holds_request
    }

    /// Nothing in flight: no partial request, no output, not closing.
    pub fn is_idle(&self) -> bool {
        !self.closing
            && self.rbuf.is_empty()
            && self.out.is_empty()
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
            && self.out.is_empty()
    }

    /// The half-close happened: drop unread input and drain until EOF or [`LINGER`].
    pub(super) fn start_linger(&mut self, now: Instant) {
        self.rbuf = Vec::new();
        self.lingering_until = Some(now + LINGER);
    }

    /// The client closed its side (a read returned 0).
    pub(super) fn peer_closed(&mut self) {
        self.peer_closed = true;
    }

    /// The connection can be dropped.
    pub fn finished(&self) -> bool {
        self.dead || (self.out.is_empty() && (self.peer_closed || (self.closing && !self.linger)))
    }
}

/// The status code of the response encoded at the start of `encoded`
/// (`HTTP/1.1 201 …`); 0 if it does not start with a status line.
fn status_of(encoded: &[u8]) -> u16 {
    encoded
        .get(9..12)
        .and_then(|digits| std::str::from_utf8(digits).ok())
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;

//! Unit tests of the parent module.

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
fn more(s: &mut Session, bytes: &[u8], now: Instant, handler: impl FnMut(&Request) -> Response) {
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
    let (s, out) = feed(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n");
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
        feed(b"POST /p HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
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
    let (mut s, out) = feed(b"GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    assert_eq!(statuses(&out), ["200"]);
    assert!(!s.finished());
    s.wrote(out.len(), Instant::now());
    assert!(s.finished() && !s.linger_due());
}

/// Requests pipelined behind a `Connection: close` one are not answered.
#[test]
fn nothing_answered_after_client_close() {
    let (s, out) = feed(b"GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(statuses(&out), ["200"]);
    assert!(!out.contains("/b") && !s.wants_read());
}

/// A response marked `close` (draining, recycling) ends keep-alive; with nothing
/// unread the connection closes right after the flush, with pipelined requests
/// left unanswered it lingers.
#[test]
fn server_close_ends_keep_alive() {
    let one: &[u8] = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
    for (input, lingers) in [
        (one, false),
        (
            b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n",
            true,
        ),
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
    more(&mut s, b"GET /a HTTP/1.1\r\nHost: h\r\n", at(1), echo);
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
    let (mut idle, out) = feed(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
    idle.wrote(out.len(), Instant::now());
    idle.expire(&mut DateCache::default());
    assert!(idle.finished() && idle.pending().is_empty());
}

/// Reading pauses while unsent output is above the high-water mark.
#[test]
fn backpressure_stops_reading() {
    let mut s = Session::new(Instant::now());
    assert!(s.wants_read());
    s.out.buf().resize(HIGH_WATER, b'x');
    assert!(!s.wants_read());
    s.wrote(HIGH_WATER, Instant::now());
    assert!(s.wants_read());
}

/// A request the handler cannot take yet (`Retry`) stays whole in the buffer and marks
/// the session as holding one; the pass that takes it clears the mark.
#[test]
fn retry_keeps_the_request_and_says_so() {
    let two = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
    let mut s = Session::new(Instant::now());
    s.received(two, Instant::now());
    let never = |d: &Never, _: bool, _: &mut DateCache, _: &mut Vec<u8>| match *d {};
    let (limits, mut date) = (Limits::default(), DateCache::default());
    let first_only = |req: &Request, _: bool, _: u64| match req.path.as_str() {
        "/a" => Reply::Now(echo(req)),
        _ => Reply::<Never>::Retry,
    };
    let taken = s.process_replies(&limits, &mut date, Instant::now(), first_only, never);
    assert_eq!(taken, 1);
    assert!(s.holds_request());
    assert!(s.rbuf.starts_with(b"GET /b"));
    let all = |req: &Request, _: bool, _: u64| Reply::<Never>::Now(echo(req));
    s.process_replies(&limits, &mut date, Instant::now(), all, never);
    assert!(!s.holds_request() && s.rbuf.is_empty());
    assert_eq!(statuses(&text(&s)), ["200", "200"]);
}

/// Answers `/now` with a 404 now, `/done` with a job done on the spot (encoded as a 201
/// by [`encode_status`]), anything else later.
fn reply_by_path(req: &Request, _: bool, _: u64) -> Reply<u16> {
    match req.path.as_str() {
        "/now" => Reply::Now(Response::error(404, "no")),
        "/done" => Reply::Done {
            done: 201,
            close: false,
        },
        _ => Reply::Later { close: false },
    }
}

/// Encodes a job done on the spot: its status with a `{}` body.
fn encode_status(status: &u16, keep: bool, date: &mut DateCache, out: &mut Vec<u8>) {
    encode(&Response::json(*status, b"{}".to_vec()), keep, date, out)
}

/// The session meters every response on its counters: answered now (by status), done
/// on the spot (status read from the encoded bytes), owed and filled later (latency
/// from the pass that took the request to the fill); the parser's own errors count as
/// rejected; dropping the session counts its close.
#[test]
fn responses_are_metered_with_status_and_latency() {
    let meter = Counters::detached();
    let t0 = Instant::now();
    let mut s = Session::counted(t0, meter, crate::peer::Peer::Unix, AccessLog::off());
    let three = b"GET /now HTTP/1.1\r\nHost: h\r\n\r\nGET /done HTTP/1.1\r\nHost: h\r\n\r\n\
                  GET /later HTTP/1.1\r\nHost: h\r\n\r\n";
    s.received(three, t0);
    let (limits, mut date) = (Limits::default(), DateCache::default());
    s.process_replies(&limits, &mut date, t0, reply_by_path, encode_status);
    let got = meter.get();
    assert_eq!(
        got.responses,
        [0, 1, 0, 1, 0],
        "the hole is not counted yet"
    );
    assert_eq!(got.latency.iter().sum::<u64>(), 2);

    let later = t0 + Duration::from_secs(3); // between the 2.5 s and 5 s bounds
    assert!(s.fill_seq(0, later, |keep, out| {
        encode(&Response::json(503, b"{}".to_vec()), keep, &mut date, out)
    }));
    let got = meter.get();
    assert_eq!(got.responses, [0, 1, 0, 1, 1]);
    assert_eq!(got.latency[LATENCY_SLOW_BUCKET], 1, "{:?}", got.latency);
    assert!(got.latency_sum_ns >= 3_000_000_000);
    assert!(statuses(&text(&s)) == ["404", "201", "503"]);

    s.received(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", t0);
    s.process(&limits, &mut date, t0, echo);
    let got = meter.get();
    assert_eq!((got.responses[3], got.rejected), (2, 1));
    assert_eq!(
        got.latency.iter().sum::<u64>(),
        3,
        "rejections have no latency"
    );
    assert_eq!(got.closed, 0);
    drop(s);
    assert_eq!(meter.get().closed, 1);
}

/// The bucket of a 3 s latency: above the 2.5 s bound, within the 5 s one.
const LATENCY_SLOW_BUCKET: usize = 12;

/// With an access log every response is a line, in the order answers are encoded:
/// answered now, done on the spot, owed ones (with the request line kept for them)
/// filled out of order, and the parser's own error with the bad request's line.
#[test]
fn responses_are_logged_with_their_request_lines() {
    let scratch = crate::access_log::tests::Scratch::new("session-log");
    let log = scratch.worker(5);
    let t0 = Instant::now();
    let peer = crate::peer::Peer::Ip("10.1.2.3".parse().unwrap());
    let mut s = Session::counted(t0, Counters::detached(), peer, log.clone());
    let four = b"GET /now HTTP/1.1\r\nHost: h\r\n\r\nGET /done HTTP/1.1\r\nHost: h\r\n\r\n\
                 GET /later/1 HTTP/1.1\r\nHost: h\r\n\r\nHEAD /later/2 HTTP/1.1\r\nHost: h\r\n\r\n";
    s.received(four, t0);
    let (limits, mut date) = (Limits::default(), DateCache::default());
    s.process_replies(&limits, &mut date, t0, reply_by_path, encode_status);
    let json = |status: u16, body: &'static [u8]| {
        move |keep: bool, out: &mut Vec<u8>| {
            encode(
                &Response::json(status, body.to_vec()),
                keep,
                &mut DateCache::default(),
                out,
            )
        }
    };
    assert!(s.fill_seq(1, t0, json(200, b"[1,2,3]")));
    assert!(s.fill_seq(0, t0, json(503, b"{}")));
    s.received(b"GET /x\x1b\" HTTP/1.1\r\n\r\n", t0);
    s.process(&limits, &mut date, t0, echo);
    log.flush();
    let text = scratch.text();
    let lines: Vec<&str> = text.lines().collect();
    let fields: Vec<(&str, &str)> = lines
        .iter()
        .map(|line| {
            let request = line.split('"').nth(1).unwrap();
            let tail = line.rsplit('"').next().unwrap().trim();
            (request, tail)
        })
        .collect();
    assert_eq!(fields.len(), 5, "{text}");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("10.1.2.3 - - [") && l.ends_with(" 5")),
        "{text}"
    );
    assert_eq!(fields[0].0, "GET /now HTTP/1.1");
    assert!(fields[0].1.starts_with("404 "), "{text}");
    assert_eq!(fields[1].0, "GET /done HTTP/1.1");
    assert!(fields[1].1.starts_with("201 2 "), "{text}");
    assert_eq!(fields[2].0, "HEAD /later/2 HTTP/1.1");
    assert!(
        fields[2].1.starts_with("200 - "),
        "a HEAD answer has no body: {text}"
    );
    assert_eq!(fields[3].0, "GET /later/1 HTTP/1.1");
    assert!(fields[3].1.starts_with("503 2 "), "{text}");
    assert!(
        lines[4].contains("\"GET /x\\x1b\\x22 HTTP/1.1\" 400 "),
        "{text}"
    );
}

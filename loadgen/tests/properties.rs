//! Property tests of loadgen's response parser (proptest, in the normal test run): it
//! never panics, it gives the same responses however the bytes were split into reads,
//! and generated responses come back with their statuses and lengths.
//!
//! The `loadgen_response` fuzz target under `fuzz/` checks the same with coverage
//! guidance.

use loadgen::response::{Eof, ParseError, Response, ResponseParser, MAX_HEAD};
use proptest::prelude::*;

/// What feeding a byte stream to one parser produced, in order.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Response(Response),
    Error(ParseError),
    End(Eof),
}

/// Feeds `bytes` to a parser in pieces ending at `cuts` (then the rest), parsing after
/// each piece and dropping each response's bytes, as a connection does; then the close.
fn feed(bytes: &[u8], cuts: &[usize], head_request: bool) -> Vec<Outcome> {
    let mut ends: Vec<usize> = cuts.iter().map(|&c| c.min(bytes.len())).collect();
    ends.sort_unstable();
    ends.push(bytes.len());
    let mut parser = ResponseParser::new(head_request);
    let (mut buf, mut out, mut start) = (Vec::new(), Vec::new(), 0);
    for end in ends {
        buf.extend_from_slice(&bytes[start..end]);
        start = end;
        loop {
            match parser.parse(&buf) {
                Ok(Some(r)) => {
                    buf.drain(..r.len);
                    out.push(Outcome::Response(r));
                }
                Ok(None) => break,
                Err(e) => {
                    out.push(Outcome::Error(e));
                    return out;
                }
            }
        }
    }
    out.push(Outcome::End(parser.eof(&buf)));
    out
}

/// One well-formed response and its expected status and length on the wire.
fn response() -> impl Strategy<Value = (Vec<u8>, u16)> {
    let status = prop::sample::select(vec![200u16, 201, 204, 304, 404, 503]);
    let body = prop::collection::vec(any::<u8>(), 0..80);
    let extra = prop::sample::select(vec!["", "Date: x\r\n", "Connection: keep-alive\r\n"]);
    (status, body, any::<bool>(), any::<bool>(), extra).prop_map(
        |(status, body, chunked, interim, extra)| {
            let mut wire = Vec::new();
            if interim {
                wire.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
            }
            let bodiless = matches!(status, 204 | 304);
            let body = if bodiless { Vec::new() } else { body };
            wire.extend_from_slice(format!("HTTP/1.1 {status} X\r\n{extra}").as_bytes());
            if chunked && !bodiless {
                wire.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                for chunk in body.chunks(7) {
                    wire.extend_from_slice(format!("{:x};e=1\r\n", chunk.len()).as_bytes());
                    wire.extend_from_slice(chunk);
                    wire.extend_from_slice(b"\r\n");
                }
                wire.extend_from_slice(b"0\r\nT: 1\r\n\r\n");
            } else {
                wire.extend_from_slice(
                    format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes(),
                );
                wire.extend_from_slice(&body);
            }
            (wire, status)
        },
    )
}

/// Several responses back to back, with the outcomes they must give.
fn responses() -> impl Strategy<Value = (Vec<u8>, Vec<Outcome>)> {
    prop::collection::vec(response(), 1..5).prop_map(|list| {
        let mut wire = Vec::new();
        let mut want = Vec::new();
        for (bytes, status) in list {
            wire.extend_from_slice(&bytes);
            let (close, len) = (false, bytes.len());
            want.push(Outcome::Response(Response { status, close, len }));
        }
        want.push(Outcome::End(Eof::Idle));
        (wire, want)
    })
}

/// Cut points into a buffer of up to this many bytes.
fn cuts() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..2_000usize, 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Arbitrary bytes, split anyhow, never make the parser panic.
    #[test]
    fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600), cuts in cuts(), head: bool) {
        feed(&bytes, &cuts, head);
    }

    /// Generated responses come back with their statuses and lengths, however split.
    #[test]
    fn responses_round_trip((wire, want) in responses(), cuts in cuts()) {
        prop_assert_eq!(feed(&wire, &[], false), want);
        prop_assert_eq!(feed(&wire, &cuts, false), feed(&wire, &[], false));
    }

    /// Near-misses of valid responses (a few bytes overwritten) give the same outcomes
    /// whether they arrive at once, in pieces, or one byte at a time.
    #[test]
    fn split_independent(
        (mut wire, _) in responses(),
        at in any::<prop::sample::Index>(),
        noise in prop::collection::vec(any::<u8>(), 0..3),
        cuts in cuts(),
    ) {
        let start = at.index(wire.len());
        for (slot, b) in wire.iter_mut().skip(start).zip(noise) {
            *slot = b;
        }
        let whole = feed(&wire, &[], false);
        prop_assert_eq!(&feed(&wire, &cuts, false), &whole);
        let bytewise: Vec<usize> = (0..wire.len()).collect();
        prop_assert_eq!(&feed(&wire, &bytewise, false), &whole);
    }
}

/// A head over `MAX_HEAD` is refused whether it arrives whole or in pieces (it used to
/// be accepted whole and refused split).
#[test]
fn head_over_limit_whatever_the_reads() {
    let mut wire = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
    wire.resize(MAX_HEAD + 10, b'a');
    wire.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
    let want = vec![Outcome::Error(ParseError::HeadTooLarge)];
    assert_eq!(feed(&wire, &[], false), want);
    assert_eq!(feed(&wire, &[MAX_HEAD + 5], false), want);
}

//! loadgen's incremental response parser on arbitrary bytes: no panic, and the same
//! responses, error or end whether the bytes arrive at once, split at any one point,
//! or one byte at a time, for responses to HEAD and to other requests.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loadgen::response::{Eof, ParseError, Response, ResponseParser};

/// Inputs up to this long are checked at every split point; longer ones at this many.
const EVERY_SPLIT: usize = 64;

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Response(Response),
    Error(ParseError),
    End(Eof),
}

fuzz_target!(|data: &[u8]| {
    for head in [false, true] {
        let whole = feed(data, &[], head);
        let step = (data.len() / EVERY_SPLIT).max(1);
        for cut in (0..data.len()).step_by(step) {
            assert_eq!(feed(data, &[cut], head), whole, "split at {cut}");
        }
        let bytewise: Vec<usize> = (0..data.len()).collect();
        assert_eq!(feed(data, &bytewise, head), whole, "byte by byte");
    }
});

/// Feeds `bytes` in pieces ending at `cuts` (sorted), then the rest, then the close.
fn feed(bytes: &[u8], cuts: &[usize], head: bool) -> Vec<Outcome> {
    let mut parser = ResponseParser::new(head);
    let (mut buf, mut out, mut start) = (Vec::new(), Vec::new(), 0);
    for &end in cuts.iter().chain(std::iter::once(&bytes.len())) {
        buf.extend_from_slice(&bytes[start..end]);
        start = end;
        loop {
            match parser.parse(&buf) {
                Ok(Some(r)) => {
                    assert!(r.len > 0 && r.len <= buf.len());
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

//! The request parser on arbitrary bytes: no panic, and the same answer however the
//! bytes are split into reads (the parser is stateless and called again on the grown
//! buffer after every read), `parse_into` agreeing with `parse`, under the default
//! limits and under tiny ones. Pipelined requests are parsed one after another.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prefork::config::Limits;
use prefork::http::request::{parse, parse_into, Parsed, Progress, Request};

/// Inputs up to this long are checked at every split point; longer ones at a sample.
const EVERY_SPLIT: usize = 512;

fuzz_target!(|data: &[u8]| {
    let tiny = Limits {
        max_head: 96,
        max_headers: 4,
        max_body: 24,
    };
    for limits in [Limits::default(), tiny] {
        let mut reused = Request::default();
        let mut rest = data;
        // Every parsed request is followed by the next one in the same buffer.
        while let Some(consumed) = check(rest, &limits, &mut reused) {
            rest = &rest[consumed..];
        }
    }
});

/// Checks the request at the front of `buf`; its length if it is complete.
fn check(buf: &[u8], limits: &Limits, reused: &mut Request) -> Option<usize> {
    let whole = parse(buf, limits);
    split_independent(buf, limits, &whole);
    let into = parse_into(buf, limits, reused);
    match (&whole, into) {
        (Ok(Progress::Complete { request, consumed }), Ok(Parsed::Complete { consumed: n })) => {
            assert_eq!((request, *consumed), (&*reused, n));
            assert!(n > 0 && n <= buf.len());
            assert!(request.body.len() <= limits.max_body);
            Some(n)
        }
        (
            Ok(Progress::Incomplete { expects_continue }),
            Ok(Parsed::Incomplete {
                expects_continue: e,
            }),
        ) => {
            assert_eq!(*expects_continue, e);
            None
        }
        (Err(a), Err(b)) => {
            assert_eq!(a, &b);
            None
        }
        (whole, into) => panic!("parse {whole:?} but parse_into {into:?}"),
    }
}

/// Every prefix is incomplete until the first that is not; from there on each gives
/// exactly what the whole buffer gives.
fn split_independent(
    buf: &[u8],
    limits: &Limits,
    whole: &Result<Progress, prefork::http::request::ParseError>,
) {
    let step = (buf.len() / EVERY_SPLIT).max(1);
    let mut decided = false;
    for cut in (0..buf.len()).step_by(step) {
        let part = parse(&buf[..cut], limits);
        decided |= !matches!(part, Ok(Progress::Incomplete { .. }));
        if decided {
            assert_eq!(&part, whole, "cut at {cut}");
        }
    }
}

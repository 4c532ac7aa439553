//! Property tests of the HTTP layer (proptest, on stable, in the normal test run): the
//! request parser never panics and does not care how its input was split into reads,
//! and form, JSON and chunked bodies survive an encode → decode round trip.
//!
//! The fuzz targets under `fuzz/` check the same properties with coverage guidance;
//! these run a bounded number of cases in every `cargo nextest run`.

use prefork::config::Limits;
use prefork::http::request::{parse, parse_into, Parsed, Progress, Request};
use prefork::http::{chunked, form, json};
use proptest::prelude::*;

/// Limits small enough for generated inputs to cross every one of them.
fn tiny() -> Limits {
    Limits {
        max_head: 96,
        max_headers: 4,
        max_body: 24,
    }
}

/// A request built from plausible and broken pieces, often followed by a second one.
fn request() -> impl Strategy<Value = Vec<u8>> {
    let method = prop::sample::select(vec!["GET", "HEAD", "POST", "PUT", "get", "BREW"]);
    let target = prop::sample::select(vec![
        "/health",
        "/api/tasks/?limit=2",
        "http://h/api/tasks",
        "*",
        "/a#b",
        "x",
        "/é",
    ]);
    let version = prop::sample::select(vec!["HTTP/1.1", "HTTP/1.0", "HTTP/1.2", "http/1.1"]);
    let field = prop::sample::select(vec![
        "Host: h",
        "Host: a/b",
        "Content-Length: 3",
        "Content-Length: 3, 3",
        "Content-Length: 99999999999999999999",
        "Transfer-Encoding: chunked",
        "Transfer-Encoding: gzip, chunked",
        "Expect: 100-continue",
        "Connection: close",
        "Connection: keep-alive",
        "Content-Type: application/json",
        "X-A : b",
        "X: a\r\n b",
        "X: a\rb",
    ]);
    let body = prop::sample::select(vec![
        "",
        "abc",
        "3\r\nabc\r\n0\r\n\r\n",
        "3;x=1\r\nabc\r\n0\r\nT: v\r\n\r\n",
        "zz\r\n",
    ]);
    let one = (
        method,
        target,
        version,
        prop::collection::vec(field, 0..5),
        body,
    )
        .prop_map(|(m, t, v, fields, body)| {
            let fields: String = fields.iter().map(|f| format!("{f}\r\n")).collect();
            format!("{m} {t} {v}\r\n{fields}\r\n{body}").into_bytes()
        });
    let noise = prop::collection::vec(any::<u8>(), 0..3);
    (
        one.clone(),
        prop::option::of(one),
        any::<prop::sample::Index>(),
        noise,
    )
        .prop_map(|(mut buf, second, at, noise)| {
            buf.extend(second.unwrap_or_default());
            // Overwrite a few bytes somewhere: near-misses of valid requests.
            let start = at.index(buf.len() + 1);
            for (i, b) in noise.into_iter().enumerate() {
                if let Some(slot) = buf.get_mut(start + i) {
                    *slot = b;
                }
            }
            buf
        })
}

/// Every prefix parses to `Incomplete` until the first one that does not, and from
/// there on every longer prefix gives exactly what the whole buffer gives.
fn assert_split_independent(buf: &[u8], limits: &Limits) -> Result<(), TestCaseError> {
    let whole = parse(buf, limits);
    let mut decided = false;
    for cut in 0..=buf.len() {
        let part = parse(&buf[..cut], limits);
        decided |= !matches!(part, Ok(Progress::Incomplete { .. }));
        if decided {
            prop_assert_eq!(&part, &whole, "cut at {} of {:?}", cut, buf);
        }
    }
    Ok(())
}

/// `parse_into` with a reused request agrees with `parse`.
fn assert_parse_into_agrees(buf: &[u8], limits: &Limits, reused: &mut Request) {
    let before = reused.clone();
    let fresh = parse(buf, limits);
    let got = parse_into(buf, limits, reused);
    match (fresh, got) {
        (Ok(Progress::Complete { request, consumed }), Ok(Parsed::Complete { consumed: n })) => {
            assert_eq!((&request, consumed), (&*reused, n));
        }
        (
            Ok(Progress::Incomplete {
                expects_continue: a,
            }),
            Ok(Parsed::Incomplete {
                expects_continue: b,
            }),
        ) => {
            assert_eq!(a, b);
            assert_eq!(*reused, before, "untouched while incomplete");
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        (fresh, got) => panic!("parse {fresh:?} but parse_into {got:?}"),
    }
}

/// `application/x-www-form-urlencoded` as a browser writes it: unreserved bytes as
/// they are, space as `+`, everything else `%XX` (in the case asked for).
fn form_encode(s: &str, upper: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ if upper => out.push_str(&format!("%{b:02X}")),
            _ => out.push_str(&format!("%{b:02x}")),
        }
    }
    out
}

/// A chunked encoding of `body`: chunks of the given sizes (the rest in one more),
/// some with extensions, then the last chunk and the trailers.
fn chunk_encode(body: &[u8], sizes: &[usize], ext: bool, trailers: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    for &size in sizes.iter().chain(std::iter::once(&usize::MAX)) {
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        if chunk.is_empty() {
            continue;
        }
        let extension = if ext { ";n=\"v;1\"" } else { "" };
        out.extend_from_slice(format!("{:X}{extension}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
        rest = tail;
    }
    out.extend_from_slice(b"0\r\n");
    for t in trailers {
        out.extend_from_slice(format!("{t}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Arbitrary bytes never make the parser panic, under default or tiny limits.
    #[test]
    fn parse_never_panics(buf in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse(&buf, &Limits::default());
        let _ = parse(&buf, &tiny());
    }

    /// Generated requests give the same result however they are split.
    #[test]
    fn parse_is_split_independent(buf in request()) {
        assert_split_independent(&buf, &Limits::default())?;
        assert_split_independent(&buf, &tiny())?;
    }

    /// `parse_into` with one reused request agrees with `parse`, request after request.
    #[test]
    fn parse_into_agrees_with_parse(bufs in prop::collection::vec(request(), 1..4)) {
        let mut reused = Request::default();
        for buf in &bufs {
            assert_parse_into_agrees(buf, &Limits::default(), &mut reused);
            assert_parse_into_agrees(buf, &tiny(), &mut reused);
        }
    }

    /// Form-encoded fields decode to what was encoded; NUL is refused.
    #[test]
    fn form_round_trip(title in any::<String>(), description in any::<String>(), upper: bool) {
        let body = format!(
            "title={}&description={}&other={}",
            form_encode(&title, upper),
            form_encode(&description, upper),
            form_encode(&title, !upper)
        );
        let decoded = form::decode_task(body.as_bytes());
        if title.contains('\0') || description.contains('\0') {
            prop_assert_eq!(decoded, Err(form::FormError::Nul));
        } else {
            let fields = decoded.unwrap();
            prop_assert_eq!(fields.title, Some(title));
            prop_assert_eq!(fields.description, Some(description));
        }
    }

    /// Strings escaped by the JSON writer decode (serde_json) to themselves.
    #[test]
    fn json_round_trip(title in any::<String>(), description in any::<String>()) {
        let mut body = b"{\"title\":".to_vec();
        json::push_str(&mut body, &title);
        body.extend_from_slice(b",\"description\":");
        json::push_str(&mut body, &description);
        body.push(b'}');
        let fields = json::decode_task(&body).unwrap();
        prop_assert_eq!(fields.title, Some(title));
        prop_assert_eq!(fields.description, Some(description));
    }

    /// Chunked encodings decode to the body, consume exactly their framing, and every
    /// strict prefix is incomplete.
    #[test]
    fn chunked_round_trip(
        body in prop::collection::vec(any::<u8>(), 0..300),
        sizes in prop::collection::vec(1..40usize, 0..8),
        ext: bool,
        trailers in prop::collection::vec(prop::sample::select(vec!["X-A: 1", "T:", "b: c d"]), 0..3),
    ) {
        let wire = chunk_encode(&body, &sizes, ext, &trailers);
        let limits = Limits::default();
        let buf = [&wire[..], b"NEXT"].concat();
        let mut out = Vec::new();
        prop_assert_eq!(chunked::decode(&buf, &limits, &mut out), Ok(Some(wire.len())));
        prop_assert_eq!(&out, &body);
        for cut in 0..wire.len() {
            prop_assert_eq!(chunked::decode(&wire[..cut], &limits, &mut out), Ok(None));
        }
    }
}

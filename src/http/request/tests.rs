//! Unit tests of the parent module.

use super::*;

fn limits() -> Limits {
    Limits::default()
}

fn complete(buf: &[u8]) -> (Request, usize) {
    match parse(buf, &limits()) {
        Ok(Progress::Complete { request, consumed }) => (request, consumed),
        other => panic!("expected a complete request, got {other:?}"),
    }
}

fn error(buf: &[u8]) -> ParseError {
    parse(buf, &limits()).expect_err("expected an error")
}

const INCOMPLETE: Result<Progress, ParseError> = Ok(Progress::Incomplete {
    expects_continue: false,
});

/// A plain GET: method, path and query split, keep-alive by default, all bytes consumed.
#[test]
fn simple_get() {
    let buf = b"GET /api/tasks?limit=5 HTTP/1.1\r\nHost: x\r\n\r\n";
    let (req, used) = complete(buf);
    assert_eq!(req.method, Method::Get);
    assert_eq!(
        (req.path.as_str(), req.query.as_str()),
        ("/api/tasks", "limit=5")
    );
    assert!(req.keep_alive && req.body.is_empty() && req.content_type.is_none());
    assert_eq!(used, buf.len());
}

/// Two requests in one buffer: `consumed` points at the second, which parses too.
#[test]
fn pipelined_requests() {
    let first =
        &b"POST /api/tasks HTTP/1.1\r\nHost: h\r\nContent-Type: a/b\r\nContent-Length: 3\r\n\r\nabc"[..];
    let second = &b"GET /health HTTP/1.1\r\nHost: h\r\n\r\n"[..];
    let buf = [first, second].concat();
    let (req, used) = complete(&buf);
    assert_eq!(
        (req.method, req.body, req.content_type),
        (Method::Post, b"abc".to_vec(), Some("a/b".into()))
    );
    assert_eq!(used, first.len());
    let (req, used) = complete(&buf[used..]);
    assert_eq!((req.path.as_str(), used), ("/health", second.len()));
}

/// Every strict prefix of a head is incomplete, never an error.
#[test]
fn partial_heads_are_incomplete() {
    let buf = b"GET /health HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n";
    for cut in 0..buf.len() {
        assert_eq!(parse(&buf[..cut], &limits()), INCOMPLETE, "cut at {cut}");
    }
}

/// A Content-Length body split anywhere is incomplete until its last byte.
#[test]
fn partial_bodies_are_incomplete() {
    let buf = b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789";
    for cut in 0..buf.len() {
        assert_eq!(parse(&buf[..cut], &limits()), INCOMPLETE, "cut at {cut}");
    }
    assert_eq!(complete(buf).0.body, b"0123456789");
}

/// Expect: 100-continue is reported once the head is here and until the body is.
#[test]
fn expect_continue_while_body_missing() {
    let head = b"POST /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
    assert_eq!(parse(&head[..head.len() - 1], &limits()), INCOMPLETE);
    for extra in [&b""[..], b"a"] {
        let buf = [&head[..], extra].concat();
        assert_eq!(
            parse(&buf, &limits()),
            Ok(Progress::Incomplete {
                expects_continue: true
            })
        );
    }
    assert_eq!(complete(&[&head[..], b"ab"].concat()).0.body, b"ab");
}

/// A chunked request split at every byte offset: incomplete, then the de-chunked body.
#[test]
fn chunked_split_at_every_offset() {
    let req = &b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n1\r\n!\r\n0\r\nT: v\r\n\r\n"[..];
    let buf = [req, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"].concat();
    for cut in 0..req.len() {
        assert_eq!(parse(&buf[..cut], &limits()), INCOMPLETE, "cut at {cut}");
    }
    for end in [req.len(), buf.len()] {
        let (r, used) = complete(&buf[..end]);
        assert_eq!((r.body.as_slice(), used), (&b"hello!"[..], req.len()));
    }
}

/// HTTP/1.0 closes unless asked; leading empty lines are skipped and consumed.
#[test]
fn http10_and_leading_crlf() {
    assert!(!complete(b"GET / HTTP/1.0\r\n\r\n").0.keep_alive);
    let buf = b"\r\nGET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n";
    assert_eq!(
        (complete(buf).1, complete(buf).0.keep_alive),
        (buf.len(), true)
    );
}

/// Methods other than GET/HEAD/POST are kept verbatim.
#[test]
fn other_methods() {
    assert_eq!(
        complete(b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n").0.method,
        Method::Head
    );
    let (req, _) = complete(b"DELETE /api/tasks/1 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(req.method.as_str(), "DELETE");
    assert_eq!(req.method, Method::Other("DELETE".into()));
    assert_eq!(Method::from_token("get"), Method::Other("get".into()));
}

/// Syntax errors and NUL bytes in the head are 400.
#[test]
fn malformed_heads() {
    for bad in [
        &b"GET\r\n\r\n"[..],
        b"GET / FOO/1.1\r\n\r\n",
        b"GET /\0 HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nBad Name: v\r\n\r\n",
        b"\0GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
    ] {
        let msg = String::from_utf8_lossy(bad);
        assert_eq!(error(bad).status(), 400, "{msg:?}");
    }
}

/// A head over max_head is 431 whether or not it is complete; exactly max_head is fine.
#[test]
fn head_too_large() {
    let small = Limits {
        max_head: 64,
        ..limits()
    };
    let pad = |n: usize| {
        format!("GET / HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n", "a".repeat(n)).into_bytes()
    };
    let exact = pad(64 - pad(0).len());
    assert!(matches!(
        parse(&exact, &small),
        Ok(Progress::Complete { .. })
    ));
    let over = pad(65 - pad(0).len());
    assert_eq!(parse(&over, &small), Err(ParseError::HeadTooLarge));
    assert_eq!(parse(&over[..65], &small), Err(ParseError::HeadTooLarge));
    assert_eq!(parse(&over[..64], &small), INCOMPLETE);
}

/// max_headers headers are fine, one more is 431, also beyond the stack slots.
#[test]
fn too_many_headers() {
    for max in [64, STACK_HEADERS + 10] {
        let lim = Limits {
            max_headers: max,
            max_head: 1 << 20,
            ..limits()
        };
        let req = |n: usize| ["GET / HTTP/1.0\r\n", &"X: y\r\n".repeat(n), "\r\n"].concat();
        assert!(matches!(
            parse(req(max).as_bytes(), &lim),
            Ok(Progress::Complete { .. })
        ));
        assert_eq!(
            parse(req(max + 1).as_bytes(), &lim),
            Err(ParseError::TooManyHeaders)
        );
    }
}

/// Each remaining error variant from a whole request, with its status.
#[test]
fn error_variants_and_statuses() {
    use ParseError::*;
    for (buf, want, status) in [
        (
            &b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 65537\r\n\r\n"[..],
            BodyTooLarge,
            413,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n10001\r\n",
            BodyTooLarge,
            413,
        ),
        (b"POST / HTTP/1.1\r\nHost: h\r\n\r\n", LengthRequired, 411),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            UnsupportedTransferEncoding,
            501,
        ),
        (b"FOO / HTTP/1.1\r\nHost: h\r\n\r\n", UnsupportedMethod, 501),
        (b"GET / HTTP/2.0\r\n\r\n", UnsupportedVersion, 505),
        (b"GET / HTTP/1.2\r\n\r\n", UnsupportedVersion, 505),
        (b"GET / HTTP/3.0\n", UnsupportedVersion, 505),
        (&[b'x'; 9000], HeadTooLarge, 431),
    ] {
        let got = error(buf);
        assert_eq!((got.status(), &got), (status, &want));
    }
    assert_eq!(
        (Malformed("x").status(), TooManyHeaders.status()),
        (400, 431)
    );
}

/// A refused version waits for the end of the request line, which decides 400 or 505.
#[test]
fn version_decided_on_the_whole_line() {
    assert_eq!(parse(b"GET / HTTP/3", &limits()), INCOMPLETE);
    assert_eq!(error(b"GET / HTTP/3.0\r\n").status(), 505);
    assert_eq!(error(b"GET / HTTP/3.0 x\r\n").status(), 400);
    let long = [&b"GET /"[..], &[b'a'; 9000], b" HTTP/3"].concat();
    assert_eq!(error(&long), ParseError::HeadTooLarge);
}

/// HTTP/1.1 needs exactly one valid Host; HTTP/1.0 may omit it but not repeat it.
#[test]
fn host_rules() {
    for (buf, ok) in [
        (&b"GET / HTTP/1.1\r\n\r\n"[..], false),
        (b"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", false),
        (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", false),
        (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", false),
        (b"GET / HTTP/1.1\r\nHost:\r\n\r\n", true),
        (b"GET / HTTP/1.1\r\nHOST: [::1]:8000\r\n\r\n", true),
        (b"GET / HTTP/1.0\r\n\r\n", true),
        (b"GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", false),
        (b"GET http://a/ HTTP/1.1\r\n\r\n", false),
    ] {
        let msg = String::from_utf8_lossy(buf);
        match parse(buf, &limits()) {
            Ok(Progress::Complete { .. }) => assert!(ok, "{msg:?} accepted"),
            Err(e) => assert!(!ok && e.status() == 400, "{msg:?}: {e:?}"),
            other => panic!("{msg:?}: {other:?}"),
        }
    }
}

/// An absolute-form target routes like its origin-form path and query, whatever the
/// Host says (the target's authority wins).
#[test]
fn absolute_form_targets() {
    for (target, path, query) in [
        (
            "http://example.com/api/tasks/?limit=2",
            "/api/tasks/",
            "limit=2",
        ),
        ("HTTP://other:8000/health", "/health", ""),
        ("https://example.com?x", "/", "x"),
    ] {
        let buf = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n");
        let (req, used) = complete(buf.as_bytes());
        assert_eq!((req.path.as_str(), req.query.as_str()), (path, query));
        assert_eq!(used, buf.len());
    }
    let bad = b"GET http://user@h/ HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_eq!(error(bad).status(), 400);
}

/// One reused `Request` parses a run of differently shaped requests exactly as fresh
/// ones would, keeping nothing from the previous request.
#[test]
fn parse_into_reuses_without_leftovers() {
    let requests: [&[u8]; 6] = [
        b"POST /api/tasks?x=1 HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhello",
        b"GET /health HTTP/1.0\r\n\r\n",
        b"DELETE /api/tasks/1 HTTP/1.1\r\nHost: h\r\nContent-Type: a/b\r\n\r\n",
        b"PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
        b"POST /api/tasks HTTP/1.1\r\nHost: h\r\nContent-Type: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab",
        b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
    ];
    let mut reused = Request::default();
    for buf in requests {
        let (fresh, used) = complete(buf);
        let parsed = parse_into(buf, &limits(), &mut reused);
        assert_eq!(parsed, Ok(Parsed::Complete { consumed: used }));
        assert_eq!(reused, fresh, "{}", String::from_utf8_lossy(buf));
    }
}

/// While a request is incomplete, or after an error, the caller's `Request` is untouched.
#[test]
fn parse_into_leaves_request_alone_until_complete() {
    let (before, _) = complete(b"GET /a?b HTTP/1.1\r\nHost: h\r\nContent-Type: t\r\n\r\n");
    let mut req = before.clone();
    let partial: [&[u8]; 3] = [
        b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab",
        b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab",
        b"GET /y HTTP/1.1\r\nHost: h\r\n",
    ];
    for buf in partial {
        let got = parse_into(buf, &limits(), &mut req);
        assert!(matches!(got, Ok(Parsed::Incomplete { .. })), "{got:?}");
        assert_eq!(req, before);
    }
    let bad = b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    assert!(parse_into(bad, &limits(), &mut req).is_err());
    assert_eq!(req, before);
}

//! Unit tests of the parent module.

use super::*;

fn head<'a>(
    minor: u8,
    method: &'a str,
    fields: &[(&str, &'a str)],
) -> Result<Head<'a>, ParseError> {
    let mut h = Head {
        method,
        path: "/",
        minor,
        ..Head::default()
    };
    for (name, value) in fields {
        h.add_field(name, value.as_bytes())?;
    }
    Ok(h)
}

fn framing(minor: u8, method: &str, fields: &[(&str, &str)]) -> Result<Framing, ParseError> {
    head(minor, method, fields)?.framing(&Limits::default())
}

/// Connection tokens decide keep-alive per version, case-insensitively.
#[test]
fn keep_alive_rules() {
    assert!(head(1, "GET", &[]).unwrap().keep_alive());
    assert!(!head(1, "GET", &[("Connection", "foo, CLOSE")])
        .unwrap()
        .keep_alive());
    assert!(!head(0, "GET", &[]).unwrap().keep_alive());
    assert!(head(0, "GET", &[("connection", "Keep-Alive")])
        .unwrap()
        .keep_alive());
    assert!(!head(0, "GET", &[("Connection", "keep-alive, close")])
        .unwrap()
        .keep_alive());
}

/// Expect: 100-continue counts only in HTTP/1.1.
#[test]
fn expect_continue_only_in_http11() {
    assert!(head(1, "POST", &[("Expect", " 100-Continue ")])
        .unwrap()
        .expects_continue());
    assert!(!head(0, "POST", &[("Expect", "100-continue")])
        .unwrap()
        .expects_continue());
    assert!(!head(1, "POST", &[("Expect", "something")])
        .unwrap()
        .expects_continue());
}

/// Content-Length: agreeing repeats accepted, disagreeing or non-digit ones rejected.
#[test]
fn content_length_rules() {
    assert_eq!(
        framing(1, "POST", &[("Content-Length", "5")]),
        Ok(Framing::Length(5))
    );
    assert_eq!(
        framing(
            1,
            "POST",
            &[("Content-Length", "5, 5"), ("content-length", "5")]
        ),
        Ok(Framing::Length(5))
    );
    assert_eq!(
        framing(1, "POST", &[("Content-Length", "0")]),
        Ok(Framing::Empty)
    );
    for bad in ["", "-1", "+5", "5a", "0x5", "5,", " , "] {
        assert!(
            matches!(
                framing(1, "POST", &[("Content-Length", bad)]),
                Err(ParseError::Malformed(_))
            ),
            "{bad:?}"
        );
    }
    let two = [("Content-Length", "5"), ("Content-Length", "6")];
    assert!(matches!(
        framing(1, "POST", &two),
        Err(ParseError::Malformed(_))
    ));
}

/// Over max_body by Content-Length is 413 before any body byte.
#[test]
fn content_length_over_limit() {
    let big = (64 * 1024 + 1).to_string();
    assert_eq!(
        framing(1, "POST", &[("Content-Length", &big)]),
        Err(ParseError::BodyTooLarge)
    );
    let huge = "9".repeat(40);
    assert_eq!(
        framing(1, "POST", &[("Content-Length", &huge)]),
        Err(ParseError::BodyTooLarge)
    );
}

/// Transfer-Encoding: chunked once and last; another coding before it 501; chunked
/// missing, repeated or not last, with CL or in HTTP/1.0 400.
#[test]
fn transfer_encoding_rules() {
    assert_eq!(
        framing(1, "POST", &[("Transfer-Encoding", "Chunked")]),
        Ok(Framing::Chunked)
    );
    for coded in ["gzip, chunked", "gzip,chunked", "x-custom ,chunked"] {
        assert_eq!(
            framing(1, "POST", &[("Transfer-Encoding", coded)]),
            Err(ParseError::UnsupportedTransferEncoding),
            "{coded}"
        );
    }
    let split = [
        ("Transfer-Encoding", "gzip"),
        ("Transfer-Encoding", "chunked"),
    ];
    assert_eq!(
        framing(1, "POST", &split),
        Err(ParseError::UnsupportedTransferEncoding)
    );
    for unframed in [
        "",
        " , ",
        "identity",
        "gzip",
        "chunked, gzip",
        "chunked, chunked",
    ] {
        assert!(
            matches!(
                framing(1, "POST", &[("Transfer-Encoding", unframed)]),
                Err(ParseError::Malformed(_))
            ),
            "{unframed:?}"
        );
    }
    let twice = [
        ("Transfer-Encoding", "chunked"),
        ("Transfer-Encoding", "chunked"),
    ];
    assert!(matches!(
        framing(1, "POST", &twice),
        Err(ParseError::Malformed(_))
    ));
    let both = [("Content-Length", "3"), ("Transfer-Encoding", "chunked")];
    assert!(matches!(
        framing(1, "POST", &both),
        Err(ParseError::Malformed(_))
    ));
    assert!(matches!(
        framing(0, "POST", &[("Transfer-Encoding", "chunked")]),
        Err(ParseError::Malformed(_))
    ));
}

/// Body-carrying methods need a length; others default to no body.
#[test]
fn length_required_only_for_body_methods() {
    for m in ["POST", "PUT", "PATCH"] {
        assert_eq!(framing(1, m, &[]), Err(ParseError::LengthRequired), "{m}");
    }
    for m in ["GET", "HEAD", "DELETE", "OPTIONS"] {
        assert_eq!(framing(1, m, &[]), Ok(Framing::Empty), "{m}");
    }
}

/// The first Content-Type is kept; non-UTF-8 ones are malformed.
#[test]
fn content_type_is_kept() {
    let h = head(
        1,
        "POST",
        &[
            ("Content-Type", "application/json"),
            ("Content-Type", "text/plain"),
        ],
    )
    .unwrap();
    assert_eq!(h.content_type, Some("application/json"));
    let mut h = Head::default();
    assert!(h.add_field("Content-Type", b"text/\xff").is_err());
}

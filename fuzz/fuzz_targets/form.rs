//! Form decoding on arbitrary bytes: no panic; decoded fields re-encode to a body that
//! decodes to the same fields; a decoded value never holds NUL.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prefork::http::form::{decode, decode_task};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = decode(data) {
        assert!(!value.contains('\0'));
        assert_eq!(
            decode(encode(&value).as_bytes()).as_deref(),
            Ok(value.as_str())
        );
    }
    let Ok(fields) = decode_task(data) else {
        return;
    };
    let mut body = String::new();
    for (name, value) in [
        ("title", &fields.title),
        ("description", &fields.description),
    ] {
        if let Some(value) = value {
            assert!(!value.contains('\0'));
            body.push_str(&format!("{name}={}&", encode(value)));
        }
    }
    assert_eq!(decode_task(body.as_bytes()), Ok(fields));
});

/// Percent-encodes every byte but unreserved ones; space as `+`.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

//! The chunked decoder on arbitrary bytes: no panic; every prefix is incomplete until
//! the first that is not, and from there gives what the whole gives; a decoded body is
//! within `max_body` and re-encodes to framing that decodes to the same body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prefork::config::Limits;
use prefork::http::chunked::decode;

fuzz_target!(|data: &[u8]| {
    let tiny = Limits {
        max_head: 64,
        max_headers: 4,
        max_body: 32,
    };
    for limits in [Limits::default(), tiny] {
        let mut body = Vec::new();
        let whole = decode(data, &limits, &mut body);
        let mut decided = false;
        let mut scratch = Vec::new();
        for cut in 0..data.len().min(2048) {
            let part = decode(&data[..cut], &limits, &mut scratch);
            decided |= part != Ok(None);
            if decided {
                assert_eq!(part, whole, "cut at {cut}");
            }
        }
        if let Ok(Some(used)) = whole {
            assert!(used <= data.len() && body.len() <= limits.max_body);
            let wire = encode(&body);
            let mut again = Vec::new();
            assert_eq!(decode(&wire, &limits, &mut again), Ok(Some(wire.len())));
            assert_eq!(again, body);
        }
    }
});

/// `body` as one chunk (if any) and the last chunk.
fn encode(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if !body.is_empty() {
        out.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

//! JSON decoding on arbitrary bytes: no panic; decoded fields written back with the
//! server's own JSON string writer decode to the same fields; and that writer's output
//! for any text (the input, read as UTF-8 lossily) is a JSON string serde reads back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prefork::http::json::{decode_task, push_str};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut quoted = Vec::new();
    push_str(&mut quoted, &text);
    let back: String = serde_json::from_slice(&quoted).expect("push_str writes valid JSON");
    assert_eq!(back, text);

    let Ok(fields) = decode_task(data) else {
        return;
    };
    let mut body = b"{".to_vec();
    for (name, value) in [
        ("title", &fields.title),
        ("description", &fields.description),
    ] {
        if let Some(value) = value {
            if body.len() > 1 {
                body.push(b',');
            }
            push_str(&mut body, name);
            body.push(b':');
            push_str(&mut body, value);
        }
    }
    body.push(b'}');
    assert_eq!(decode_task(&body).unwrap(), fields);
});

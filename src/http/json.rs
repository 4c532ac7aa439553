//! JSON request bodies (serde_json) and response bodies (written by hand: the shapes
//! are fixed and small, so escaping strings straight into the output buffer is both
//! simpler and cheaper than building a serde value).
//!
//! A task's object is written from [`TaskJson`], its four fields as plain values: this
//! module knows the JSON shape, not where tasks are stored.

use super::fields::TaskFields;
use super::numbers::push_i64;

/// Why a JSON body was refused (answered with 400).
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The body is not a JSON object.
    #[error("JSON body must be an object")]
    NotAnObject,
    /// Invalid JSON or UTF-8, a field of the wrong type, or a field given twice.
    #[error("invalid JSON body: {0}")]
    Invalid(#[from] serde_json::Error),
}

/// Decodes `{"title": string, "description": string}`; unknown fields are ignored,
/// absent or `null` fields are `None`, a duplicated field is an error.
pub fn decode_task(body: &[u8]) -> Result<TaskFields, JsonError> {
    // serde would also accept `["t", "d"]` for a struct; only an object is meant.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(JsonError::NotAnObject);
    }
    Ok(serde_json::from_slice(body)?)
}

/// A task as the responses show it: `{"id":..,"title":..,"description":..,"created_at":..}`,
/// in that order, its text borrowed from wherever the task is kept. Whatever holds a task
/// converts into it (`From<&T>`), so [`task_body`], [`tasks_body`] and [`push_task`]
/// take that directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskJson<'a> {
    /// `id`.
    pub id: i64,
    /// `title`, escaped on output.
    pub title: &'a str,
    /// `description`, escaped on output.
    pub description: &'a str,
    /// `created_at`, escaped on output.
    pub created_at: &'a str,
}

impl<'a: 'b, 'b> From<&'b TaskJson<'a>> for TaskJson<'b> {
    fn from(task: &'b TaskJson<'a>) -> TaskJson<'b> {
        *task
    }
}

/// The task's object as a new body.
pub fn task_body<'a>(task: impl Into<TaskJson<'a>>) -> Vec<u8> {
    let task = task.into();
    let mut out = Vec::with_capacity(task_size(&task));
    push_task(&mut out, task);
    out
}

/// A JSON array of tasks, in the given order.
pub fn tasks_body<'a, T>(tasks: &'a [T]) -> Vec<u8>
where
    &'a T: Into<TaskJson<'a>>,
{
    let size = tasks
        .iter()
        .map(|t| task_size(&t.into()) + 1)
        .sum::<usize>();
    let mut out = Vec::with_capacity(2 + size);
    out.push(b'[');
    for (i, task) in tasks.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_task(&mut out, task);
    }
    out.push(b']');
    out
}

/// `{"error":"<message>"}`.
pub fn error_body(message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + message.len());
    out.extend_from_slice(b"{\"error\":");
    push_str(&mut out, message);
    out.push(b'}');
    out
}

/// Appends one task object to `out`.
pub fn push_task<'a>(out: &mut Vec<u8>, task: impl Into<TaskJson<'a>>) {
    let task = task.into();
    // One reservation for the common case (nothing to escape) instead of one per piece.
    out.reserve(task_size(&task));
    out.extend_from_slice(b"{\"id\":");
    push_i64(out, task.id);
    out.extend_from_slice(b",\"title\":");
    push_str(out, task.title);
    out.extend_from_slice(b",\"description\":");
    push_str(out, task.description);
    out.extend_from_slice(b",\"created_at\":");
    push_str(out, task.created_at);
    out.push(b'}');
}

/// The size of a task object when nothing needs escaping (an upper bound on the id's
/// digits included), so that one allocation usually holds it: a buffer that has to grow
/// pays a `realloc` and a copy.
fn task_size(task: &TaskJson<'_>) -> usize {
    // Keys, quotes, punctuation (51 bytes) and the longest id (20).
    const OVERHEAD: usize = 71;
    OVERHEAD + task.title.len() + task.description.len() + task.created_at.len()
}

/// Appends `s` as a JSON string literal (RFC 8259 §7): quotes, backslashes and control
/// characters escaped, everything else passed through as UTF-8.
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let mut rest = s.as_bytes();
    loop {
        let plain = plain_prefix(rest);
        out.extend_from_slice(&rest[..plain]);
        let Some(&b) = rest.get(plain) else { break };
        push_escape(out, b);
        rest = &rest[plain + 1..];
    }
    out.push(b'"');
}

/// The length of the run at the front of `bytes` that needs no escaping.
///
/// Looks at 8 bytes per step (text is mostly plain, and this runs for every string of
/// every response): a word holds a byte to escape iff one of its bytes is below 0x20,
/// `"` or `\`, which the classic "has a zero byte" bit trick decides without a branch
/// per byte. Bytes ≥ 0x80 (UTF-8) never match.
fn plain_prefix(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let mut done = 0;
    for chunk in bytes.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_ne_bytes(word);
        let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
        if below_space
            | has_zero(w ^ (ONES * u64::from(b'"')))
            | has_zero(w ^ (ONES * u64::from(b'\\')))
            != 0
        {
            break;
        }
        done += 8;
    }
    done + bytes[done..]
        .iter()
        .position(|&b| needs_escape(b))
        .unwrap_or(bytes.len() - done)
}

/// Whether JSON requires `b` escaped inside a string.
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// The escape for one byte that [`needs_escape`].
fn push_escape(out: &mut Vec<u8>, b: u8) {
    let short: &[u8] = match b {
        b'"' => b"\\\"",
        b'\\' => b"\\\\",
        b'\n' => b"\\n",
        b'\r' => b"\\r",
        b'\t' => b"\\t",
        _ => return push_unicode_escape(out, b),
    };
    out.extend_from_slice(short);
}

/// `\u00XX` for a control byte.
fn push_unicode_escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\\u00");
    out.push(HEX[usize::from(b >> 4)]);
    out.push(HEX[usize::from(b & 0xf)]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(title: &str) -> TaskJson<'_> {
        TaskJson {
            id: 42,
            title,
            description: "d",
            created_at: "2026-11-28T01:02:03.456789Z",
        }
    }

    /// Both fields decode; unknown fields are ignored.
    #[test]
    fn decodes_fields_ignoring_unknown() {
        let f =
            decode_task(br#" {"title":"t\u00e9","description":"d","x":[1,{"y":null}]}"#).unwrap();
        assert_eq!(
            f,
            TaskFields {
                title: Some("t\u{e9}".into()),
                description: Some("d".into())
            }
        );
    }

    /// Absent or null fields are None; validation is the app's job.
    #[test]
    fn missing_and_null_fields_are_none() {
        let f = decode_task(br#"{"title":null}"#).unwrap();
        assert_eq!(f, TaskFields::default());
    }

    /// Wrong types, duplicates, non-objects, bad JSON and bad UTF-8 are errors.
    #[test]
    fn rejects_bad_bodies() {
        for bad in [
            &br#"{"title":1,"description":"d"}"#[..],
            br#"{"title":"a","title":"b","description":"d"}"#,
            br#"["t","d"]"#,
            b"",
            b"null",
            br#"{"title":"t""#,
            b"{\"title\":\"\xff\",\"description\":\"d\"}",
            br#"{"title":"\ud800","description":"d"}"#,
            br#"{"title":"t","description":"d"} x"#,
        ] {
            assert!(
                decode_task(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    /// Escaping round-trips every control character, quotes, backslashes and non-ASCII.
    #[test]
    fn escaped_strings_round_trip() {
        let nasty: String = (0u8..0x20)
            .map(char::from)
            .chain("\"\\/é😀\u{7f}".chars())
            .collect();
        let mut out = Vec::new();
        push_str(&mut out, &nasty);
        assert_eq!(serde_json::from_slice::<String>(&out).unwrap(), nasty);
        let mut out = Vec::new();
        push_str(&mut out, "a\"b\n\u{1}");
        assert_eq!(out, br#""a\"b\n\u0001""#);
    }

    /// The word-at-a-time scan finds the first byte to escape at every position and
    /// never stops at plain bytes, ASCII or not.
    #[test]
    fn plain_prefix_finds_every_special_byte() {
        let plain = "abcdefghé😀xyz0123456789~\u{7f}";
        assert_eq!(plain_prefix(plain.as_bytes()), plain.len());
        for special in (0u8..0x20).chain([b'"', b'\\']) {
            for at in 0..plain.len() {
                let mut bytes = plain.as_bytes().to_vec();
                bytes[at] = special;
                assert_eq!(plain_prefix(&bytes), at, "{special:#x} at {at}");
            }
        }
        for b in (0x20..=0xffu8).filter(|&b| b != b'"' && b != b'\\') {
            assert_eq!(plain_prefix(&[b; 17]), 17, "{b:#x}");
        }
    }

    /// The size estimate holds a task with the longest id and nothing to escape exactly
    /// (no reallocation on the common path).
    #[test]
    fn task_size_is_tight_and_sufficient() {
        let t = TaskJson {
            id: i64::MIN,
            ..task("title")
        };
        assert_eq!(task_body(t).len(), task_size(&t));
        let body = task_body(task("t"));
        assert!(body.capacity() >= body.len());
    }

    /// A task encodes as the documented object, in field order.
    #[test]
    fn encodes_task() {
        assert_eq!(
            String::from_utf8(task_body(task("a\"b"))).unwrap(),
            r#"{"id":42,"title":"a\"b","description":"d","created_at":"2026-11-28T01:02:03.456789Z"}"#
        );
    }

    /// Lists are arrays (empty included); errors are {"error": ...}.
    #[test]
    fn encodes_lists_and_errors() {
        assert_eq!(tasks_body::<TaskJson>(&[]), b"[]");
        let two: serde_json::Value =
            serde_json::from_slice(&tasks_body(&[task("x"), task("y")])).unwrap();
        assert_eq!(two[1]["title"], "y");
        assert_eq!(error_body("bad \"x\""), br#"{"error":"bad \"x\""}"#);
    }
}

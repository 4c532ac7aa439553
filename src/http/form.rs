//! `application/x-www-form-urlencoded` decoding (the WHATWG URL standard's
//! `application/x-www-form-urlencoded` parser, made strict).
//!
//! Strict where browsers are lenient: a `%` not followed by two hex digits, decoded
//! bytes that are not UTF-8, and NUL bytes are errors rather than passed through or
//! replaced, since the values go into PostgreSQL text columns (which refuse NUL).
//! A key given twice is an error too, rather than "first wins" or "last wins": two
//! layers picking different copies is how parameter pollution works, and no honest
//! client sends a title twice. Every pair is decoded and checked, not only the two
//! fields used, so a malformed body is rejected as a whole.

use std::borrow::Cow;

use super::fields::TaskFields;

/// Why a form body was refused (answered with 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// `%` not followed by two hex digits.
    #[error("invalid percent-encoding in form body")]
    BadPercent,
    /// Decoded bytes are not UTF-8.
    #[error("form body is not valid UTF-8")]
    InvalidUtf8,
    /// A decoded key or value contains a NUL byte.
    #[error("NUL byte in form body")]
    Nul,
    /// The same field appears twice.
    #[error("duplicate form field `{0}`")]
    Duplicate(&'static str),
}

/// Decodes the `title` and `description` fields of a form body; other fields are
/// checked and ignored.
pub fn decode_task(body: &[u8]) -> Result<TaskFields, FormError> {
    let mut fields = TaskFields::default();
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, &b""[..]),
        };
        // Keys and ignored values are only looked at, never kept: they are borrowed when
        // they need no decoding, and a key that is a field name is known to be UTF-8.
        let key = decode_bytes(key)?;
        let slot = match &*key {
            b"title" => Some((&mut fields.title, "title")),
            b"description" => Some((&mut fields.description, "description")),
            _ => {
                text(&key)?;
                None
            }
        };
        let value = decode_bytes(value)?;
        match slot {
            Some((slot, name)) => set_once(slot, into_string(value)?, name)?,
            None => {
                text(&value)?;
            }
        }
    }
    Ok(fields)
}

fn set_once(slot: &mut Option<String>, value: String, name: &'static str) -> Result<(), FormError> {
    if slot.is_some() {
        return Err(FormError::Duplicate(name));
    }
    *slot = Some(value);
    Ok(())
}

/// Decodes one key or value: `+` is a space, `%XX` a byte.
pub fn decode(raw: &[u8]) -> Result<String, FormError> {
    into_string(decode_bytes(raw)?)
}

/// The bytes `raw` stands for, refusing bad escapes and NUL, not yet checked for UTF-8;
/// borrowed when there is nothing to decode.
fn decode_bytes(raw: &[u8]) -> Result<Cow<'_, [u8]>, FormError> {
    // One scan finds the common case: plain bytes, nothing to copy.
    let Some(first) = raw.iter().position(|&b| matches!(b, b'+' | b'%' | 0)) else {
        return Ok(Cow::Borrowed(raw));
    };
    let mut out = Vec::with_capacity(raw.len());
    let mut nul = false;
    let mut rest = raw;
    let mut special = first;
    loop {
        // The run of plain bytes goes in with one copy; then the byte that ended it.
        out.extend_from_slice(&rest[..special]);
        let Some(&byte) = rest.get(special) else {
            break;
        };
        let (decoded, used) = match byte {
            b'+' => (b' ', 1),
            b'%' => (percent_byte(rest.get(special + 1..special + 3))?, 3),
            _ => (byte, 1), // NUL
        };
        nul |= decoded == 0;
        out.push(decoded);
        rest = &rest[special + used..];
        special = rest
            .iter()
            .position(|&b| matches!(b, b'+' | b'%' | 0))
            .unwrap_or(rest.len());
    }
    // After the whole token, so a bad escape anywhere in it wins, as it always has.
    if nul {
        return Err(FormError::Nul);
    }
    Ok(Cow::Owned(out))
}

/// Decoded bytes as text.
fn text(bytes: &[u8]) -> Result<&str, FormError> {
    std::str::from_utf8(bytes).map_err(|_| FormError::InvalidUtf8)
}

/// Decoded bytes as an owned string (no copy when they were decoded into a new buffer).
fn into_string(bytes: Cow<'_, [u8]>) -> Result<String, FormError> {
    match bytes {
        Cow::Borrowed(b) => text(b).map(str::to_owned),
        Cow::Owned(v) => String::from_utf8(v).map_err(|_| FormError::InvalidUtf8),
    }
}

/// The byte encoded by the two hex digits after a `%`.
fn percent_byte(digits: Option<&[u8]>) -> Result<u8, FormError> {
    let hex = |b: u8| (b as char).to_digit(16);
    match digits {
        Some(&[hi, lo]) => match (hex(hi), hex(lo)) {
            // Two hex digits make at most 0xff.
            (Some(hi), Some(lo)) => Ok((hi * 16 + lo) as u8),
            _ => Err(FormError::BadPercent),
        },
        _ => Err(FormError::BadPercent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(title: &str, description: &str) -> TaskFields {
        TaskFields {
            title: Some(title.into()),
            description: Some(description.into()),
        }
    }

    /// The seed's payload: `+` is a space, percent escapes decode to UTF-8.
    #[test]
    fn decodes_plus_and_percent() {
        let f = decode_task(b"title=Hello+world%21&description=caf%C3%A9+%2B+%26").unwrap();
        assert_eq!(f, fields("Hello world!", "caf\u{e9} + &"));
    }

    /// Unknown keys are ignored, empty pairs skipped, keys percent-decoded, `=` in values kept.
    #[test]
    fn ignores_unknown_and_empty_pairs() {
        let f = decode_task(b"&x=1&&%74itle=a=b&description=&y").unwrap();
        assert_eq!(f, fields("a=b", ""));
    }

    /// Absent fields are None; a key without `=` is an empty value.
    #[test]
    fn missing_fields_are_none() {
        assert_eq!(decode_task(b"").unwrap(), TaskFields::default());
        let f = decode_task(b"title").unwrap();
        assert_eq!(
            f,
            TaskFields {
                title: Some(String::new()),
                description: None
            }
        );
    }

    /// Truncated or non-hex escapes are errors, anywhere in the body.
    #[test]
    fn rejects_bad_percent() {
        for bad in [
            &b"title=%"[..],
            b"title=%4",
            b"title=%zz",
            b"title=%4g",
            b"x=%&title=a",
        ] {
            assert_eq!(decode_task(bad), Err(FormError::BadPercent), "{bad:?}");
        }
    }

    /// Decoded bytes must be UTF-8, raw or escaped.
    #[test]
    fn rejects_invalid_utf8() {
        assert_eq!(decode_task(b"title=%C3"), Err(FormError::InvalidUtf8));
        assert_eq!(decode_task(b"title=\xff"), Err(FormError::InvalidUtf8));
    }

    /// NUL after decoding is an error, escaped or raw.
    #[test]
    fn rejects_nul() {
        assert_eq!(decode_task(b"title=a%00b"), Err(FormError::Nul));
        assert_eq!(decode_task(b"description=\0"), Err(FormError::Nul));
    }

    /// Ignored keys and values are checked as strictly as the fields, key before value.
    #[test]
    fn ignored_pairs_are_checked() {
        for (bad, err) in [
            (&b"x%ff=1"[..], FormError::InvalidUtf8),
            (b"x=%ff", FormError::InvalidUtf8),
            (b"x=a%00", FormError::Nul),
            (b"x\0=a", FormError::Nul),
            (b"%ff=%zz", FormError::InvalidUtf8),
            (b"x=%zz%00", FormError::BadPercent),
        ] {
            assert_eq!(decode_task(bad), Err(err), "{bad:?}");
        }
        assert_eq!(decode(b"a+b%2B"), Ok("a b+".to_owned()));
    }

    /// A field given twice is an error, even when the copies agree.
    #[test]
    fn rejects_duplicates() {
        assert_eq!(
            decode_task(b"title=a&title=a"),
            Err(FormError::Duplicate("title"))
        );
        let dup = decode_task(b"description=a&%64escription=b");
        assert_eq!(dup, Err(FormError::Duplicate("description")));
    }
}

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

use super::TaskFields;

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
        let key = decode(key)?;
        let value = decode(value)?;
        match key.as_str() {
            "title" => set_once(&mut fields.title, value, "title")?,
            "description" => set_once(&mut fields.description, value, "description")?,
            _ => {}
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
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                out.push(percent_byte(raw.get(i + 1..i + 3))?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    if out.contains(&0) {
        return Err(FormError::Nul);
    }
    String::from_utf8(out).map_err(|_| FormError::InvalidUtf8)
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

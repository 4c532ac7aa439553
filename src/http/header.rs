//! A response's extra headers without heap allocation in the common case.
//!
//! Every response the server sends has at most one extra header (`Location`, `Allow`,
//! `Retry-After`, `Cache-Control`), and its value is short: [`Headers`] keeps the first
//! in place and [`HeaderValue`] keeps up to [`INLINE_VALUE`] bytes in place, so building
//! a 201 costs no allocation besides its body. More or longer ones spill to the heap:
//! no limit, only a slower path. (One slot, not more: a `Response` stays under the 128
//! bytes past which clippy's `result_large_err` wants `Result<_, Response>` boxed.)

use std::fmt;

/// Bytes of a value kept in place (`/api/tasks/` and any positive `i64` fit).
pub const INLINE_VALUE: usize = 30;

/// One header value (the bytes after `name: `; never CR or LF).
#[derive(Clone)]
pub struct HeaderValue(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE_VALUE] },
    Owned(String),
}

impl HeaderValue {
    /// `prefix` followed by `n` in decimal (e.g. `/api/tasks/` and an id), without
    /// `format!` and, when it fits in [`INLINE_VALUE`] bytes, without allocating.
    pub fn with_number(prefix: &str, n: i64) -> HeaderValue {
        let mut number = itoa::Buffer::new();
        let digits = number.format(n).as_bytes();
        let len = prefix.len() + digits.len();
        if len > INLINE_VALUE {
            let mut text = String::with_capacity(len);
            text.push_str(prefix);
            text.extend(digits.iter().map(|&d| char::from(d)));
            return HeaderValue(Repr::Owned(text));
        }
        let mut bytes = [0u8; INLINE_VALUE];
        bytes[..prefix.len()].copy_from_slice(prefix.as_bytes());
        bytes[prefix.len()..len].copy_from_slice(digits);
        inline(bytes, len)
    }

    /// The value as text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Inline bytes are only ever copied from a &str or ASCII digits, and only
            // whole: they are UTF-8, so this never takes the `""` branch.
            Repr::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or("")
            }
            Repr::Owned(s) => s,
        }
    }

    /// The value's bytes, as they go on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Repr::Owned(s) => s.as_bytes(),
        }
    }
}

/// An inline value of `len` bytes (`len <= INLINE_VALUE`, so it fits in the `u8`).
fn inline(bytes: [u8; INLINE_VALUE], len: usize) -> HeaderValue {
    HeaderValue(Repr::Inline {
        len: len as u8,
        bytes,
    })
}

impl From<&str> for HeaderValue {
    /// Copies short values in place, allocates for long ones.
    fn from(value: &str) -> HeaderValue {
        if value.len() > INLINE_VALUE {
            return HeaderValue(Repr::Owned(value.to_owned()));
        }
        let mut bytes = [0u8; INLINE_VALUE];
        bytes[..value.len()].copy_from_slice(value.as_bytes());
        inline(bytes, value.len())
    }
}

impl From<String> for HeaderValue {
    /// Takes the string as it is (already allocated).
    fn from(value: String) -> HeaderValue {
        HeaderValue(Repr::Owned(value))
    }
}

impl PartialEq for HeaderValue {
    /// Values are equal when their text is, however each is stored.
    fn eq(&self, other: &HeaderValue) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for HeaderValue {}

impl PartialEq<&str> for HeaderValue {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for HeaderValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// A header: its name (a constant) and its value.
pub type Header = (&'static str, HeaderValue);

/// The extra headers of a response, in the order they were added.
#[derive(Clone, Default)]
pub struct Headers {
    first: Option<Header>,
    /// Headers after the first.
    rest: Vec<Header>,
}

impl Headers {
    /// Appends a header.
    pub fn push(&mut self, header: Header) {
        if self.first.is_none() {
            self.first = Some(header);
        } else {
            self.rest.push(header);
        }
    }

    /// The headers in order.
    pub fn iter(&self) -> impl Iterator<Item = &Header> + '_ {
        self.first.iter().chain(self.rest.iter())
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Headers) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl FromIterator<Header> for Headers {
    fn from_iter<I: IntoIterator<Item = Header>>(iter: I) -> Headers {
        let mut headers = Headers::default();
        for header in iter {
            headers.push(header);
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers after a prefix match `format!`: inline up to the largest id, heap beyond.
    #[test]
    fn with_number_matches_format() {
        for n in [0, 7, -1, 123_456, i64::MAX, i64::MIN] {
            let v = HeaderValue::with_number("/api/tasks/", n);
            assert_eq!(v.as_str(), format!("/api/tasks/{n}"));
            let inline = matches!(v.0, Repr::Inline { .. });
            assert_eq!(inline, n != i64::MIN, "{n}");
        }
        let long = "/a/very/long/prefix/for/a/location/";
        let v = HeaderValue::with_number(long, i64::MIN);
        assert_eq!(v.as_str(), format!("{long}{}", i64::MIN));
    }

    /// Every way of building a value keeps its text; equality ignores the storage.
    #[test]
    fn values_keep_their_text() {
        let long = "x".repeat(INLINE_VALUE + 1);
        assert_eq!(HeaderValue::from(long.as_str()).as_str(), long);
        assert_eq!(HeaderValue::from(long.clone()), HeaderValue::from(&*long));
        assert_eq!(HeaderValue::from("GET, HEAD").as_bytes(), b"GET, HEAD");
        assert_eq!(HeaderValue::from(""), "");
        assert_eq!(format!("{:?}", HeaderValue::from("a\"")), r#""a\"""#);
    }

    /// Headers keep their order past the inline slot; equality compares contents.
    #[test]
    fn headers_spill_in_order() {
        let names = ["A", "B", "C", "D"];
        let headers: Headers = names.iter().map(|&n| (n, HeaderValue::from(n))).collect();
        let seen: Vec<_> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        assert_eq!(seen, [("A", "A"), ("B", "B"), ("C", "C"), ("D", "D")]);
        assert_eq!(Headers::default().iter().count(), 0);
        let mut two = Headers::default();
        two.push(("A", "A".into()));
        assert_ne!(two, headers);
        assert_eq!(format!("{two:?}"), r#"[("A", "A")]"#);
    }
}

//! Small number helpers for the hot path: decimal output without `format!` (itoa, on the
//! stack), and saturating decimal/hex input (an overflowing length is simply "too large").

/// Appends the decimal digits of `n` to `out`.
pub(crate) fn push_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends the decimal digits of `n`, with a sign if negative.
pub(crate) fn push_i64(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Parses a non-empty run of ASCII digits, saturating at `u64::MAX`; `None` if any
/// byte is not a digit.
pub(crate) fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| {
        let d = (b as char).to_digit(10)?;
        Some(n.saturating_mul(10).saturating_add(u64::from(d)))
    })
}

/// Parses a non-empty run of hex digits, saturating at `u64::MAX`.
pub(crate) fn parse_hex(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| {
        let d = (b as char).to_digit(16)?;
        Some(n.saturating_mul(16).saturating_add(u64::from(d)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decimal output matches `to_string` at the edges.
    #[test]
    fn push_u64_matches_to_string() {
        let edges = [65_536, 1 << 40, u64::MAX / 10, u64::MAX - 1, u64::MAX];
        for n in (0..=10_100).chain(edges) {
            let mut out = Vec::new();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
    }

    /// Signed output matches `to_string`, including the most negative value.
    #[test]
    fn push_i64_matches_to_string() {
        for n in [0, -1, 42, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            push_i64(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
    }

    /// Decimal input rejects signs and empties, and saturates instead of wrapping.
    #[test]
    fn parse_decimal_is_strict_and_saturating() {
        assert_eq!(parse_decimal(b"0042"), Some(42));
        assert_eq!(parse_decimal(b""), None);
        assert_eq!(parse_decimal(b"+1"), None);
        assert_eq!(parse_decimal(b"1 "), None);
        assert_eq!(parse_decimal(b"99999999999999999999999"), Some(u64::MAX));
    }

    /// Hex input accepts both cases and saturates.
    #[test]
    fn parse_hex_accepts_both_cases() {
        assert_eq!(parse_hex(b"fF"), Some(255));
        assert_eq!(parse_hex(b"0"), Some(0));
        assert_eq!(parse_hex(b"g"), None);
        assert_eq!(parse_hex(b""), None);
        assert_eq!(parse_hex(b"ffffffffffffffffffff"), Some(u64::MAX));
    }
}

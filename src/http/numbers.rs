//! Small number helpers for the hot path: decimal output without `format!`, and
//! saturating decimal/hex input (an overflowing length is simply "too large").

/// The decimal text of an integer, formatted on the stack.
pub(crate) struct Decimal {
    /// Room for `u64::MAX` (20 digits) or `i64::MIN` (sign and 19 digits).
    buf: [u8; 20],
    start: usize,
}

impl Decimal {
    /// The digits of `n`.
    pub(crate) fn of_u64(n: u64) -> Decimal {
        let mut buf = [0; 20];
        let start = write_digits(&mut buf, n);
        Decimal { buf, start }
    }

    /// The digits of `n`, with a sign if negative.
    pub(crate) fn of_i64(n: i64) -> Decimal {
        let mut d = Decimal::of_u64(n.unsigned_abs());
        if n < 0 {
            d.start -= 1;
            d.buf[d.start] = b'-';
        }
        d
    }

    /// The text, ASCII.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

/// Writes the digits of `n` at the end of `buf`; returns where they start.
///
/// One digit per division: a two-digits-per-division table (the `itoa` way) measured
/// ~9 ns slower per response here (criterion `encode/201_task`), lengths and ids being
/// short.
fn write_digits(buf: &mut [u8; 20], mut n: u64) -> usize {
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return start;
        }
    }
}

/// Appends the decimal digits of `n` to `out`.
pub(crate) fn push_u64(out: &mut Vec<u8>, n: u64) {
    let mut buf = [0; 20];
    let start = write_digits(&mut buf, n);
    out.extend_from_slice(&buf[start..]);
}

/// Appends the decimal digits of `n`, with a sign if negative.
pub(crate) fn push_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_u64(out, n.unsigned_abs());
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

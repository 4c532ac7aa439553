//! wrk-style quantities on the command line: durations (`30s`, `500ms`, `2m`, `1h`)
//! and counts (`10k`, `1.5M`).

use std::time::Duration;

/// Parses a duration: a number followed by `ms`, `s`, `m` or `h`; a bare number is
/// seconds (as in wrk).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    // `ms` before `m`/`s`, so "500ms" is not read as 500 minutes-and-garbage.
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = text.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (text, 1.0)
    };
    let value = parse_number(number)
        .map(|v| v * scale)
        .filter(|v| v.is_finite() && *v >= 0.0 && *v < 1e9)
        .ok_or_else(|| format!("`{text}` is not a duration (examples: 30s, 500ms, 2m, 1h)"))?;
    Ok(Duration::from_secs_f64(value))
}

/// Parses a count with an optional `k`, `M` or `G` suffix (`10k` = 10000); `m` and
/// `g` are accepted too. The result may have a fraction (`1.5k` = 1500.0).
pub fn parse_scaled(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let (number, scale) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 1e3),
        Some((i, 'm' | 'M')) => (&text[..i], 1e6),
        Some((i, 'g' | 'G')) => (&text[..i], 1e9),
        _ => (text, 1.0),
    };
    parse_number(number)
        .map(|v| v * scale)
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| format!("`{text}` is not a count (examples: 100, 10k, 1.5M)"))
}

/// Parses a whole count (`10k` = 10000): what clap's `value_parser` calls.
pub fn parse_count(text: &str) -> Result<u64, String> {
    let value = parse_scaled(text)?;
    if value.fract() != 0.0 || value > u64::MAX as f64 {
        return Err(format!("`{text}` is not a whole number"));
    }
    Ok(value as u64)
}

/// A plain decimal number, no sign, no exponent (so `1e3s` is refused, as wrk does).
fn parse_number(text: &str) -> Option<f64> {
    let ok = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().any(|b| b.is_ascii_digit());
    if ok {
        text.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every duration unit wrk users type is understood.
    #[test]
    fn durations_with_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
    }

    /// A bare number is seconds.
    #[test]
    fn bare_duration_is_seconds() {
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    /// Garbage, signs, unknown units and empty strings are refused with an example.
    #[test]
    fn bad_durations() {
        for bad in ["", "s", "ms", "-1s", "3x", "1e3s", "abc", "1..2s", "5 days"] {
            let err = parse_duration(bad).expect_err(bad);
            assert!(err.contains("30s"), "{err}");
        }
    }

    /// Counts take k/M/G suffixes, in either case.
    #[test]
    fn counts_with_suffixes() {
        assert_eq!(parse_count("100"), Ok(100));
        assert_eq!(parse_count("10k"), Ok(10_000));
        assert_eq!(parse_count("10K"), Ok(10_000));
        assert_eq!(parse_count("1.5k"), Ok(1_500));
        assert_eq!(parse_count("2M"), Ok(2_000_000));
        assert_eq!(parse_count("1g"), Ok(1_000_000_000));
    }

    /// A count must be whole and well-formed.
    #[test]
    fn bad_counts() {
        for bad in ["", "k", "1.5", "-3", "1.0001k", "ten", "1kk"] {
            assert!(parse_count(bad).is_err(), "{bad}");
        }
    }

    /// Rates may have fractions.
    #[test]
    fn scaled_fraction() {
        assert_eq!(parse_scaled("2.5k"), Ok(2500.0));
        assert_eq!(parse_scaled("0.5"), Ok(0.5));
    }
}

//! The `Date` header (RFC 9110 §6.6.1): IMF-fixdate, formatted at most once per second.

use std::time::{SystemTime, UNIX_EPOCH};

/// The `Date` header value, formatted at most once per second.
#[derive(Debug, Default)]
pub struct DateCache {
    /// The second `value` was formatted for (`None` before first use).
    secs: Option<u64>,
    value: [u8; 29],
}

impl DateCache {
    /// The current time as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
    pub fn now(&mut self) -> &[u8] {
        // A clock before 1970 is a broken machine; 1970 is as good a date as any there.
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.at(secs)
    }

    /// The IMF-fixdate for `unix_secs`, reformatted only when the second changed.
    pub fn at(&mut self, unix_secs: u64) -> &[u8] {
        if self.secs != Some(unix_secs) {
            self.value = imf_fixdate(unix_secs);
            self.secs = Some(unix_secs);
        }
        &self.value
    }
}

/// Formats seconds since the Unix epoch as an IMF-fixdate (RFC 9110 §5.6.7).
pub fn imf_fixdate(unix_secs: u64) -> [u8; 29] {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let days = unix_secs / 86_400;
    let secs_of_day = unix_secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    // 1970-01-01 was a Thursday.
    out[0..3].copy_from_slice(DAYS[(days % 7) as usize]);
    put_digits(&mut out[5..7], day);
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    put_digits(&mut out[12..16], year);
    put_digits(&mut out[17..19], secs_of_day / 3600);
    put_digits(&mut out[20..22], secs_of_day / 60 % 60);
    put_digits(&mut out[23..25], secs_of_day % 60);
    out
}

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01, by Howard
/// Hinnant's `civil_from_days` (eras of 400 years, years starting in March).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Writes `n` as zero-padded decimal filling `out` (high digits dropped if too long).
fn put_digits(out: &mut [u8], mut n: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &[u8] = b"Sun, 06 Nov 1994 08:49:37 GMT";

    /// IMF-fixdate for known instants: epoch, RFC example, leap days, century, year 9999.
    #[test]
    fn imf_fixdate_known_instants() {
        for (secs, text) in [
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (1_709_164_799, "Wed, 28 Feb 2024 23:59:59 GMT"),
            (1_709_164_800, "Thu, 29 Feb 2024 00:00:00 GMT"),
            (4_102_444_800, "Fri, 01 Jan 2100 00:00:00 GMT"),
            (253_402_300_799, "Fri, 31 Dec 9999 23:59:59 GMT"),
        ] {
            assert_eq!(
                std::str::from_utf8(&imf_fixdate(secs)).unwrap(),
                text,
                "{secs}"
            );
        }
    }

    /// The cache reformats only when the second changes; `now` is a plausible date.
    #[test]
    fn date_cache_follows_the_second() {
        let mut cache = DateCache::default();
        assert_eq!(cache.at(784_111_777), DATE);
        assert_eq!(cache.at(784_111_777), DATE);
        assert_eq!(cache.at(784_111_778), b"Sun, 06 Nov 1994 08:49:38 GMT");
        let now = cache.now().to_vec();
        assert!(now.ends_with(b" GMT") && now.len() == 29);
    }
}

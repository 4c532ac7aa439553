//! The `Date` header (RFC 9110 §6.6.1): IMF-fixdate, formatted at most once per second.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use httpdate::HttpDate;

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

/// The last second httpdate formats (9999-12-31T23:59:59Z); it panics after it.
const LAST_SECOND: u64 = 253_402_300_799;

/// Formats seconds since the Unix epoch as an IMF-fixdate (RFC 9110 §5.6.7) with
/// httpdate, into an array (no allocation). A clock past the year 9999 gets its last
/// second.
fn imf_fixdate(unix_secs: u64) -> [u8; 29] {
    let time = UNIX_EPOCH + Duration::from_secs(unix_secs.min(LAST_SECOND));
    let mut out = [0; 29];
    // An IMF-fixdate is always 29 bytes: the write fills the array exactly.
    let written = (&mut out[..]).write_fmt(format_args!("{}", HttpDate::from(time)));
    debug_assert!(written.is_ok(), "an IMF-fixdate is 29 bytes");
    out
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
            (u64::MAX, "Fri, 31 Dec 9999 23:59:59 GMT"),
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

//! One access-log line: the Common Log Format, then the request time in microseconds
//! and the worker's number.
//!
//! ```text
//! 127.0.0.1 - - [03/Dec/2026:07:10:00 +0000] "POST /tasks HTTP/1.1" 201 57 812 3
//! host      ident user [time, UTC]            "request line"        status bytes µs worker
//! ```
//!
//! The request line is the client's own bytes, so it is escaped: every byte outside
//! printable ASCII, `"` and `\` become `\xHH` (nginx's rule). A client cannot end a
//! line early, forge a field or send terminal escapes to whoever reads the log.

use std::time::Duration;

use crate::peer::Peer;

/// Longest request line logged; a longer one is cut and ends in `...`.
pub(super) const MAX_REQUEST_LINE: usize = 2048;

/// What one line says about one response.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The client.
    pub peer: Peer,
    /// The start of the request as received (its first line is logged); empty if
    /// nothing usable arrived.
    pub request: &'a [u8],
    /// The status sent.
    pub status: u16,
    /// Bytes of the response body (0: logged as `-`, as CLF does).
    pub body_bytes: usize,
    /// The request time (see the README: from the request complete to its response
    /// encoded; for the parser's own errors and timeouts, from its first byte).
    pub elapsed: Duration,
}

/// Appends the line for `entry` to `out`; `host`: its peer as text ([`write_host`]),
/// `time`: the CLF timestamp without brackets. No `core::fmt` on this path: it runs
/// once per response.
pub(super) fn format(
    out: &mut Vec<u8>,
    entry: &Entry<'_>,
    host: &[u8],
    time: &[u8],
    worker: usize,
) {
    out.extend_from_slice(host);
    out.extend_from_slice(b" - - [");
    out.extend_from_slice(time);
    out.extend_from_slice(b"] \"");
    escape_into(out, first_line(entry.request));
    out.extend_from_slice(b"\" ");
    push_decimal(out, u64::from(entry.status));
    out.push(b' ');
    if entry.body_bytes == 0 {
        out.push(b'-');
    } else {
        push_decimal(out, entry.body_bytes as u64);
    }
    out.push(b' ');
    push_decimal(
        out,
        u64::try_from(entry.elapsed.as_micros()).unwrap_or(u64::MAX),
    );
    out.push(b' ');
    push_decimal(out, worker as u64);
    out.push(b'\n');
}

/// Replaces `out` with the host field for `peer` (in place: no allocation once `out`
/// has room for an address).
pub(super) fn write_host(out: &mut Vec<u8>, peer: Peer) {
    use std::io::Write as _;
    out.clear();
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{peer}");
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// The request line at the start of `request`: up to the first LF (a CR before it
/// dropped), after the empty lines a client may send first (RFC 9112 §2.2).
pub fn first_line(request: &[u8]) -> &[u8] {
    let start = request
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(request.len());
    let rest = &request[start..];
    let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let line = &rest[..end];
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Appends `line` escaped (`-` if empty), cut at [`MAX_REQUEST_LINE`] bytes.
pub(super) fn escape_into(out: &mut Vec<u8>, line: &[u8]) {
    if line.is_empty() {
        out.push(b'-');
        return;
    }
    let kept = &line[..line.len().min(MAX_REQUEST_LINE)];
    for &b in kept {
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            out.push(b);
        } else {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]);
        }
    }
    if kept.len() < line.len() {
        out.extend_from_slice(b"...");
    }
}

/// The length of the body of the response encoded at the start of `encoded`
/// (everything after the blank line ending its head).
pub fn body_bytes(encoded: &[u8]) -> usize {
    match encoded.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(end) => encoded.len() - end - 4,
        None => 0,
    }
}

/// The Common Log Format timestamp (`03/Dec/2026:07:10:00 +0000`, always UTC) for
/// seconds since the Unix epoch.
pub(super) fn clf_time(unix_secs: u64) -> [u8; 26] {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix_secs / 86_400;
    let secs = unix_secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = [b' '; 26];
    let text = format!(
        "{day:02}/{}/{year:04}:{:02}:{:02}:{:02} +0000",
        MONTHS[month as usize - 1],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    let len = text.len().min(out.len());
    out[..len].copy_from_slice(&text.as_bytes()[..len]);
    out
}

/// Year, month (1–12) and day (1–31) of a day counted from 1970-01-01, in the
/// proleptic Gregorian calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

//! Log lines on stderr, each written whole.

use std::fmt::Arguments;
use std::io::Write as _;

/// Writes one line (a newline is added) to stderr in one `write`, so that it cannot be
/// interleaved with the lines of other processes sharing stderr (prefork's master and
/// workers).
pub(crate) fn say(line: Arguments<'_>) {
    let text = format!("{line}\n");
    // Nothing sensible is left to do if stderr itself is gone.
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

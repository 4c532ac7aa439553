//! Log lines on stderr, each written with one `write(2)`.
//!
//! The master and its workers share one stderr. `eprintln!` may split a line into
//! several writes, so two processes logging at once could interleave mid-line
//! ("prefork: worker prefork: worker 0 …"). A line formatted first and written whole
//! stays whole: writes to a pipe of at most `PIPE_BUF` (4 KiB) bytes are atomic.

use std::fmt::{Arguments, Write as _};
use std::io::Write as _;

/// Writes one formatted line (a newline is added) to stderr in one call; see [`say!`](crate::say).
pub fn line(args: Arguments<'_>) {
    let mut text = String::with_capacity(160);
    // Formatting into a String cannot fail unless a Display impl does; log what we have.
    let _ = text.write_fmt(args);
    text.push('\n');
    // Nothing sensible is left to do if stderr itself is gone.
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// `eprintln!` whose line is written whole (see [`log`](crate::log)).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::log::line(format_args!($($arg)*))
    };
}

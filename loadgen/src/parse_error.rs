//! Why a response cannot be framed, and the largest head the parser accepts: shared by
//! the response parser and the framing rules it applies.

/// Largest response head accepted; a server sending more is broken for our purposes.
pub const MAX_HEAD: usize = 64 * 1024;

/// A response that cannot be framed: the `malformed` error kind.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    /// httparse refused the status line or headers.
    #[error("bad response head: {0}")]
    Head(#[from] httparse::Error),
    /// The head did not end within [`MAX_HEAD`] bytes.
    #[error("response head larger than {MAX_HEAD} bytes")]
    HeadTooLarge,
    /// Content-Length not a number, or two different ones.
    #[error("bad Content-Length")]
    ContentLength,
    /// Chunked framing broken.
    #[error("bad chunked encoding")]
    Chunk,
}

//! The request size limits the parser enforces (set from the command line).

/// Request size limits enforced while parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest request head (request line + headers) in bytes; over it: 431.
    pub max_head: usize,
    /// Most headers in one request; over it: 431.
    pub max_headers: usize,
    /// Largest body in bytes; over it: 413.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head: 8 * 1024,
            max_headers: 64,
            max_body: 64 * 1024,
        }
    }
}

//! Why a request cannot be served: the one error type of the request parser, shared by
//! the modules that read the head, the target and the body.

/// A request that cannot be served; each variant has exactly one status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Syntax error in the head or chunked framing (400).
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    /// Head larger than `Limits::max_head` (431).
    #[error("request header fields too large")]
    HeadTooLarge,
    /// More than `Limits::max_headers` headers (431).
    #[error("too many header fields")]
    TooManyHeaders,
    /// A body-carrying method without Content-Length or chunked (411).
    #[error("length required")]
    LengthRequired,
    /// Body larger than `Limits::max_body` (413).
    #[error("request body too large")]
    BodyTooLarge,
    /// A Transfer-Encoding other than chunked (501).
    #[error("unsupported transfer encoding")]
    UnsupportedTransferEncoding,
    /// Not HTTP/1.0 or HTTP/1.1 (505).
    #[error("HTTP version not supported")]
    UnsupportedVersion,
    /// A method the server does not implement for any resource (501).
    #[error("method not implemented")]
    UnsupportedMethod,
}

impl ParseError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            ParseError::Malformed(_) => 400,
            ParseError::HeadTooLarge | ParseError::TooManyHeaders => 431,
            ParseError::LengthRequired => 411,
            ParseError::BodyTooLarge => 413,
            ParseError::UnsupportedTransferEncoding | ParseError::UnsupportedMethod => 501,
            ParseError::UnsupportedVersion => 505,
        }
    }
}

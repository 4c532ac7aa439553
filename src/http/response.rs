//! Response encoding (status line, headers, cached `Date`, JSON body).
//!
//! CONTRACT (stub — being implemented).

/// The interim response sent once per request that asked for it.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// A response before encoding; the body is always JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Extra headers (e.g. `Location`, `Allow`, `Retry-After`); `Content-Type`,
    /// `Content-Length`, `Date`, `Server` and `Connection` are added by [`encode`].
    pub headers: Vec<(&'static str, String)>,
    /// JSON body bytes.
    pub body: Vec<u8>,
    /// Close the connection after this response even if the client wanted keep-alive
    /// (set for errors after which the rest of the stream cannot be trusted).
    pub close: bool,
}

/// The `Date` header value, formatted at most once per second.
#[derive(Debug, Default)]
pub struct DateCache {}

/// Appends the encoded response to `out`.
pub fn encode(resp: &Response, keep_alive: bool, date: &mut DateCache, out: &mut Vec<u8>) {
    let _ = (resp, keep_alive, date, out);
    unimplemented!("http::response::encode")
}

//! HTTP/1.1 on plain bytes: request parsing with limits, response encoding, bodies.
//!
//! Nothing here does I/O; both worker modes feed bytes in and take bytes out.
//!
//! The hot path allocates as little as it can: [`request::parse_into`] reuses a caller's
//! `Request`, [`response::encode_json_with`] writes a body straight into the output
//! buffer, [`header::HeaderValue`] keeps short values inline, and numbers are formatted
//! by hand (`numbers`), never with `format!`. `benches/http.rs` measures each of these.

pub mod chunked;
mod date;
pub mod form;
mod head;
pub mod header;
pub mod json;
mod line;
mod numbers;
pub mod request;
pub mod response;
mod target;

/// The two fields of a task as a client sent them, before validation.
///
/// `None` means the field was absent (or JSON `null`); the app decides what is required.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub struct TaskFields {
    /// `title`, decoded.
    pub title: Option<String>,
    /// `description`, decoded.
    pub description: Option<String>,
}

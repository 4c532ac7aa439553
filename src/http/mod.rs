//! HTTP/1.1 on plain bytes: request parsing with limits, response encoding, bodies.
//!
//! Nothing here does I/O; both worker modes feed bytes in and take bytes out.
//!
//! The hot path allocates little. The workers parse with [`request::parse`], which
//! allocates the owned [`request::Request`] of each whole request (path, query, content
//! type, body) and nothing for the head's fields. [`request::parse_into`]
//! refills a caller's `Request` in place instead (no allocation once its buffers have
//! grown); no worker calls it yet, `benches/http.rs` measures it against `parse`.
//! [`response::encode_json_with`] writes a body straight into the output buffer (group
//! commit's 201s), [`header::HeaderValue`] keeps short values inline, and numbers are
//! formatted on the stack with itoa, never with `format!`. `benches/http.rs` measures
//! each of these.

pub mod chunked;
mod date;
mod error;
mod fields;
pub mod form;
mod head;
pub mod header;
pub mod json;
mod limits;
mod line;
mod numbers;
pub mod request;
pub mod response;
mod target;

pub use error::ParseError;
pub use fields::TaskFields;
pub use limits::Limits;

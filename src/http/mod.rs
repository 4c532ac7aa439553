//! HTTP/1.1 on plain bytes: request parsing with limits, response encoding, bodies.
//!
//! Nothing here does I/O; both worker modes feed bytes in and take bytes out.

pub mod form;
pub mod json;
pub mod request;
pub mod response;

//! HTTP/1.1 on plain bytes: request parsing with limits, response encoding, bodies.
//!
//! Nothing here does I/O; both worker modes feed bytes in and take bytes out.

mod chunked;
pub mod form;
mod head;
pub mod json;
mod numbers;
pub mod request;
pub mod response;

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

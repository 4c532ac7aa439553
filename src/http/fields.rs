//! The fields of a task as a client sent them: what both body decoders (`form`, `json`)
//! produce.

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

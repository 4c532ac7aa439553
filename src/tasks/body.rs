//! A POST body: media type, decoding, validation.

use super::db::NewTask;
use crate::http::response::Response;
use crate::http::{form, json, TaskFields};

/// 400 for a well-framed request with bad content: the stream is still in sync, so
/// unlike a framing error the connection stays open.
pub(super) fn invalid(message: &str) -> Response {
    Response {
        close: false,
        ..Response::error(400, message)
    }
}

/// `title` is `varchar(255)`, which PostgreSQL counts in characters, not bytes.
pub const MAX_TITLE_CHARS: usize = 255;

/// The body's media types we decode.
enum Media {
    Form,
    Json,
}

/// The media type of `Content-Type`, parameters (`; charset=utf-8`) ignored.
fn media(content_type: Option<&str>) -> Option<Media> {
    let essence = content_type?.split(';').next()?.trim_matches([' ', '\t']);
    if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Some(Media::Form)
    } else if essence.eq_ignore_ascii_case("application/json") {
        Some(Media::Json)
    } else {
        None
    }
}

/// Decodes and validates a POST body: 415 for a missing or other media type, 400
/// (connection kept) for a body that does not decode or validate.
pub(super) fn new_task(content_type: Option<&str>, body: &[u8]) -> Result<NewTask, Response> {
    let fields = match media(content_type) {
        Some(Media::Form) => form::decode_task(body).map_err(|e| invalid(&e.to_string()))?,
        Some(Media::Json) => json::decode_task(body).map_err(|e| invalid(&e.to_string()))?,
        None => {
            let msg = "Content-Type must be application/x-www-form-urlencoded or application/json";
            return Err(Response::error(415, msg));
        }
    };
    validate(fields).map_err(|msg| invalid(&msg))
}

/// Both fields present and non-empty (not trimmed), no NUL, title ≤ 255 characters.
pub fn validate(fields: TaskFields) -> Result<NewTask, String> {
    let title = required("title", fields.title)?;
    let description = required("description", fields.description)?;
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(format!("title longer than {MAX_TITLE_CHARS} characters"));
    }
    Ok(NewTask { title, description })
}

fn required(name: &str, value: Option<String>) -> Result<String, String> {
    match value {
        None => Err(format!("missing field `{name}`")),
        Some(v) if v.is_empty() => Err(format!("field `{name}` is empty")),
        // PostgreSQL text cannot hold NUL; JSON's \u0000 gets this far.
        Some(v) if v.contains('\0') => Err(format!("NUL byte in field `{name}`")),
        Some(v) => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
    const JSON: Option<&str> = Some("application/json");

    fn task(title: &str, description: &str) -> NewTask {
        NewTask {
            title: title.into(),
            description: description.into(),
        }
    }

    /// Form and JSON decode; media type case, spacing and parameters do not matter.
    #[test]
    fn decodes_both_media_types() {
        assert_eq!(
            new_task(FORM, b"title=a+b&description=%21"),
            Ok(task("a b", "!"))
        );
        let ct = Some(" Application/JSON ; charset=utf-8");
        assert_eq!(
            new_task(ct, br#"{"title":"a","description":" "}"#),
            Ok(task("a", " "))
        );
    }

    /// A missing or other Content-Type is 415, keeping the connection.
    #[test]
    fn unsupported_media_type() {
        for ct in [
            None,
            Some("text/plain"),
            Some("application/jsonx"),
            Some(""),
            Some("multipart/form-data"),
        ] {
            let resp = new_task(ct, b"title=a&description=b").unwrap_err();
            assert_eq!((resp.status, resp.close), (415, false), "{ct:?}");
        }
    }

    /// Missing, empty, NUL-bearing or too-long fields and undecodable bodies are 400,
    /// keeping the connection open.
    #[test]
    fn invalid_bodies() {
        let long = format!("title={}&description=d", "a".repeat(256));
        for (ct, body) in [
            (FORM, &b"description=d"[..]),
            (FORM, b"title=t&description="),
            (FORM, b"title=&description=d"),
            (FORM, long.as_bytes()),
            (FORM, b"title=%zz&description=d"),
            (FORM, b"title=%00&description=d"),
            (FORM, b"title=%FF&description=d"),
            (JSON, br#"{"title":"a\u0000","description":"d"}"#),
            (JSON, br#"{"title":"t"}"#),
            (JSON, br#"{"title":1,"description":"d"}"#),
            (JSON, b"{\"title\":\"\xff\",\"description\":\"d\"}"),
            (JSON, b"not json"),
        ] {
            let resp = new_task(ct, body).unwrap_err();
            let msg = String::from_utf8_lossy(body);
            assert_eq!((resp.status, resp.close), (400, false), "{msg:?}");
        }
    }

    /// The title limit counts characters: 255 two-byte characters are fine, 256 are not.
    #[test]
    fn title_limit_counts_characters() {
        let fields = |n: usize| TaskFields {
            title: Some("é".repeat(n)),
            description: Some("d".into()),
        };
        assert!(validate(fields(255)).is_ok());
        assert_eq!(
            validate(fields(256)).unwrap_err(),
            "title longer than 255 characters"
        );
    }

    /// Validation messages name the field.
    #[test]
    fn messages_name_the_field() {
        let f = TaskFields {
            title: Some("t".into()),
            description: None,
        };
        assert_eq!(validate(f).unwrap_err(), "missing field `description`");
        let f = TaskFields {
            title: Some("a\0".into()),
            description: Some("d".into()),
        };
        assert_eq!(validate(f).unwrap_err(), "NUL byte in field `title`");
    }
}

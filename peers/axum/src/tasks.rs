//! `POST /api/tasks/`: validate, insert, answer `201` with the row and `Location`.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::Json;
use deadpool_postgres::Pool;
use serde::Deserialize;

use crate::db::{self, Task};
use crate::error::ApiError;
use crate::form_or_json::FormOrJson;

/// `title` is `varchar(255)`, which PostgreSQL counts in characters.
const MAX_TITLE_CHARS: usize = 255;

/// The request body (a missing field is a decoding error: 400).
#[derive(Deserialize)]
pub struct NewTask {
    title: String,
    description: String,
}

impl NewTask {
    /// Both fields non-empty (not trimmed), no NUL, title ≤ 255 characters: prefork's
    /// rules and messages.
    fn validate(&self) -> Result<(), ApiError> {
        required("title", &self.title)?;
        required("description", &self.description)?;
        if self.title.chars().count() > MAX_TITLE_CHARS {
            let message = format!("title longer than {MAX_TITLE_CHARS} characters");
            return Err(ApiError::Invalid(message));
        }
        Ok(())
    }
}

fn required(name: &str, value: &str) -> Result<(), ApiError> {
    if value.is_empty() {
        return Err(ApiError::Invalid(format!("field `{name}` is empty")));
    }
    // PostgreSQL text cannot hold NUL; a form's %00 or JSON's \u0000 gets this far.
    if value.contains('\0') {
        return Err(ApiError::Invalid(format!("NUL byte in field `{name}`")));
    }
    Ok(())
}

/// Inserts the task and answers `201` with it.
pub async fn create(
    State(pool): State<Pool>,
    FormOrJson(task): FormOrJson<NewTask>,
) -> Result<(StatusCode, HeaderMap, Json<Task>), ApiError> {
    task.validate()?;
    let client = pool.get().await?;
    let row = db::insert(&client, &task.title, &task.description).await?;
    let mut headers = HeaderMap::new();
    let location = format!("/api/tasks/{}", row.id);
    headers.insert(
        header::LOCATION,
        HeaderValue::from_str(&location).expect("a path of digits is a valid header value"),
    );
    Ok((StatusCode::CREATED, headers, Json(row)))
}

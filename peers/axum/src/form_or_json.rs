//! An extractor for a body that is either form-urlencoded or JSON, chosen by
//! `Content-Type` (axum's own `Form` and `Json` do the decoding).

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::{Form, Json};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The body decoded as `T`: 415 for another media type, 400 when it does not decode.
pub struct FormOrJson<T>(pub T);

enum Media {
    Form,
    Json,
}

/// The media type of `Content-Type`, parameters (`; charset=utf-8`) and case ignored.
fn media(req: &Request) -> Option<Media> {
    let value = req.headers().get(CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next()?.trim();
    if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Some(Media::Form)
    } else if essence.eq_ignore_ascii_case("application/json") {
        Some(Media::Json)
    } else {
        None
    }
}

impl<S, T> FromRequest<S> for FormOrJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match media(&req) {
            Some(Media::Form) => Form::<T>::from_request(req, state)
                .await
                .map(|Form(value)| FormOrJson(value))
                .map_err(|e| ApiError::Invalid(e.body_text())),
            Some(Media::Json) => Json::<T>::from_request(req, state)
                .await
                .map(|Json(value)| FormOrJson(value))
                .map_err(|e| ApiError::Invalid(e.body_text())),
            None => Err(ApiError::UnsupportedMediaType),
        }
    }
}

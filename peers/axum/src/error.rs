//! The answers that are not a `201`, each a JSON `{"error": "..."}` like Express's.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// Why a request got no row.
pub enum ApiError {
    /// 400: the body does not decode or validate.
    Invalid(String),
    /// 415: neither form-urlencoded nor JSON.
    UnsupportedMediaType,
    /// 404: no such route.
    NotFound,
    /// 503 + `Retry-After`: PostgreSQL cannot be reached.
    Unavailable,
    /// 500: anything else (the details go to stderr, not to the client).
    Internal,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            ApiError::Invalid(message) => (StatusCode::BAD_REQUEST, message.as_str()),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type must be application/x-www-form-urlencoded or application/json",
            ),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not found"),
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "database unavailable, retry later",
            ),
            ApiError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal server error"),
        };
        let body = Json(Body { error: message });
        match self {
            ApiError::Unavailable => (status, [(header::RETRY_AFTER, "1")], body).into_response(),
            _ => (status, body).into_response(),
        }
    }
}

impl From<deadpool_postgres::PoolError> for ApiError {
    /// No connection from the pool: PostgreSQL is down or refuses us.
    fn from(e: deadpool_postgres::PoolError) -> ApiError {
        match e {
            deadpool_postgres::PoolError::Backend(e) => ApiError::from(e),
            e => {
                eprintln!("axum peer: no database connection: {e}");
                ApiError::Unavailable
            }
        }
    }
}

impl From<tokio_postgres::Error> for ApiError {
    /// 503 when the connection is lost or PostgreSQL is shutting down, starting up or
    /// out of connections; 500 for any other failure.
    fn from(e: tokio_postgres::Error) -> ApiError {
        eprintln!("axum peer: database error: {e}");
        if unavailable(&e) {
            ApiError::Unavailable
        } else {
            ApiError::Internal
        }
    }
}

fn unavailable(e: &tokio_postgres::Error) -> bool {
    use std::error::Error as _;
    if let Some(db) = e.as_db_error() {
        // Class 08: connection exception; 57P0x: shutdown/cannot connect now;
        // 53: insufficient resources (too many connections).
        let code = db.code().code();
        return code.starts_with("08") || code.starts_with("57P0") || code.starts_with("53");
    }
    e.is_closed() || e.source().is_some_and(|s| s.is::<std::io::Error>())
}

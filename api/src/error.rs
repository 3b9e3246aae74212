//! The one error type of the HTTP layer, rendered as RFC 9457 problem details.
//!
//! Client errors say exactly what is wrong (the field, the header, the limit). Server errors stay
//! opaque to the client: their cause goes to the log, never into the response.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use recete_shared::events::NormalizeError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{field}: {detail}")]
    InvalidField { field: String, detail: String },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A value that must be unique across every merchant is taken: names the field, never who
    /// holds it.
    #[error("{field}: {detail}")]
    FieldConflict { field: String, detail: String },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{detail}")]
    Unavailable { detail: String, retry_after: Duration },
    /// A rate limit refused the request; renders `Retry-After`, `RateLimit-Policy` and `RateLimit`.
    #[error("{}", crate::rate_limit_headers::refusal_detail(.0))]
    TooManyRequests(recete_platform::rate_limit::LimitStatus),
    /// A bound on work in progress (such as concurrent uploads) is reached; renders `Retry-After`.
    #[error("{detail}")]
    TooManyInProgress { detail: String, retry_after: Duration },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// An RFC 9457 problem document, the body of every error response.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A relative URI naming the kind of problem, e.g. `/problems/invalid-field`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    /// What is wrong, in words meant for the developer calling the API.
    pub detail: String,
    /// The field or parameter at fault, for `invalid-field` problems and conflicts over a value
    /// that must be unique.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Seconds a store or Meta should wait before retrying when we are briefly unavailable.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

impl ApiError {
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::Unavailable { detail: detail.into(), retry_after: RETRY_AFTER }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            Self::InvalidField { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid-field", "Invalid field"),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            Self::Conflict(_) | Self::FieldConflict { .. } => (StatusCode::CONFLICT, "conflict", "Conflict"),
            Self::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", "Payload too large"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported media type")
            }
            Self::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable"),
            Self::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "rate-limited", "Too many requests"),
            Self::TooManyInProgress { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too-many-in-progress", "Too many requests in progress")
            }
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal server error"),
        }
    }
}

/// A database error: unreachable means 503 (the sender retries), anything else is ours (500), so
/// handlers write `?` on every query.
impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        if recete_platform::db::is_unavailable(&error) {
            tracing::warn!(error = %error, "database unavailable");
            return Self::unavailable("the database is unavailable; retry later");
        }
        // Text PostgreSQL cannot store (a NUL character, an invalid byte sequence) is the
        // client's input, not our fault, wherever a handler let it through.
        if let sqlx::Error::Database(db) = &error
            && matches!(db.code().as_deref(), Some("22021" | "22P05"))
        {
            return Self::BadRequest("text must not contain NUL characters or invalid UTF-8".into());
        }
        Self::Internal(error.into())
    }
}

impl From<NormalizeError> for ApiError {
    fn from(error: NormalizeError) -> Self {
        match error {
            NormalizeError::Malformed(_) | NormalizeError::MissingHeader(_) => Self::BadRequest(error.to_string()),
            NormalizeError::InvalidField { field, message } => Self::InvalidField { field, detail: message },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.parts();
        let detail = match &self {
            Self::Internal(cause) => {
                tracing::error!(error.cause_chain = ?cause, "request failed");
                "the server could not complete the request".to_owned()
            }
            Self::InvalidField { detail, .. } | Self::FieldConflict { detail, .. } => detail.clone(),
            other => other.to_string(),
        };
        let field = match &self {
            Self::InvalidField { field, .. } | Self::FieldConflict { field, .. } => Some(field.clone()),
            _ => None,
        };
        let body = Problem {
            problem_type: format!("/problems/{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            field,
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Self::Unavailable { retry_after, .. } | Self::TooManyInProgress { retry_after, .. } = &self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after.as_secs()));
        }
        if let Self::TooManyRequests(limit) = &self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(limit.wait_secs()));
            crate::rate_limit_headers::insert_headers(headers, limit);
        }
        response
    }
}

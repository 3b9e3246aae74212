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
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{detail}")]
    Unavailable { detail: String, retry_after: Duration },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    problem_type: String,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

/// Seconds a store or Meta should wait before retrying when we are briefly unavailable.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

impl ApiError {
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::Unavailable { detail: detail.into(), retry_after: RETRY_AFTER }
    }

    /// A database error: unreachable means 503 (the sender retries), anything else is ours (500).
    pub fn from_database(error: sqlx::Error) -> Self {
        if recete_shared::db::is_unavailable(&error) {
            tracing::warn!(error = %error, "database unavailable");
            Self::unavailable("the database is unavailable; retry later")
        } else {
            Self::Internal(error.into())
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            Self::InvalidField { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid-field", "Invalid field"),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            Self::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", "Payload too large"),
            Self::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal server error"),
        }
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
            Self::InvalidField { detail, .. } => detail.clone(),
            other => other.to_string(),
        };
        let field = match &self {
            Self::InvalidField { field, .. } => Some(field.as_str()),
            _ => None,
        };
        let body = Problem { problem_type: format!("/problems/{slug}"), title, status: status.as_u16(), detail, field };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Self::Unavailable { retry_after, .. } = &self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after.as_secs()));
        }
        response
    }
}

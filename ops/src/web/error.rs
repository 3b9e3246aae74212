//! What goes wrong on the board, as pages (or JSON for the scripts' endpoints) that say what
//! is wrong. A database that cannot be reached is a 503 page, never a panic or a blank.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::bare;
use crate::operators::Role;

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// No session or token, or one that is unknown, expired or disabled.
    #[error("{0}")]
    Unauthorized(String),
    /// The operator's role does not allow `action`.
    #[error("{action} needs the {needs} role; you are signed in as {have}")]
    Forbidden { action: &'static str, needs: Role, have: Role },
    /// The request came from another site or lacked this session's CSRF token.
    #[error("{0}")]
    CrossSite(String),
    #[error("{0}")]
    Conflict(String),
    /// A failure worth showing as it is (a payload that cannot be opened, say).
    #[error("{0}")]
    Failed(String),
    #[error("the database cannot be reached right now; try again in a moment")]
    Unavailable,
    #[error("something went wrong on our side; it has been logged")]
    Internal,
}

impl PageError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } | Self::CrossSite(_) => StatusCode::FORBIDDEN,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Failed(_) | Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "Bad request",
            Self::NotFound(_) => "Not found",
            Self::Unauthorized(_) => "Sign-in needed",
            Self::Forbidden { .. } => "Not allowed for your role",
            Self::CrossSite(_) => "Request refused",
            Self::Conflict(_) => "Cannot do that now",
            Self::Unavailable => "Database unavailable",
            Self::Failed(_) => "Failed",
            Self::Internal => "Internal error",
        }
    }

    /// The same error for an endpoint that scripts read: `{"error": "..."}`.
    pub fn json(self) -> JsonError {
        JsonError(self)
    }
}

/// Database errors: unreachable is a 503, anything else an internal error logged here.
impl From<sqlx::Error> for PageError {
    fn from(error: sqlx::Error) -> Self {
        if recete_platform::db::is_unavailable(&error) {
            tracing::warn!(%error, "board: database unavailable");
            Self::Unavailable
        } else {
            tracing::error!(%error, "board: database error");
            Self::Internal
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.status();
        let markup = bare::bare(
            self.title(),
            html! {
                main.narrow {
                    h1 { (status.as_u16()) " · " (self.title()) }
                    p.error-detail { (self.to_string()) }
                    p { a href="/ops" { "Back to the queues" } }
                }
            },
        );
        let mut response = (status, markup).into_response();
        if matches!(self, Self::Unavailable) {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("5"));
        }
        response
    }
}

/// A [`PageError`] answered as JSON.
#[derive(Debug)]
pub struct JsonError(pub PageError);

impl From<PageError> for JsonError {
    fn from(error: PageError) -> Self {
        Self(error)
    }
}

impl From<sqlx::Error> for JsonError {
    fn from(error: sqlx::Error) -> Self {
        Self(error.into())
    }
}

impl IntoResponse for JsonError {
    fn into_response(self) -> Response {
        (self.0.status(), axum::Json(serde_json::json!({ "error": self.0.to_string() }))).into_response()
    }
}

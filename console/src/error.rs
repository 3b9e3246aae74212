//! What goes wrong in the console, as pages that say what is wrong. A database that cannot be
//! reached is a 503 page, never a panic or a blank.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;
use recete_shared::customers::read::ReadError;

use crate::users::{Role, UserError};
use crate::{layout, text};

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// No session, or one that is unknown, idle too long or of a disabled user.
    #[error("{0}")]
    Unauthorized(String),
    /// The user's role does not allow `action`.
    #[error("{}", text::forbidden(.action, .needs.label(), .have.label()))]
    Forbidden { action: &'static str, needs: Role, have: Role },
    /// The request came from another site or lacked this session's CSRF token.
    #[error("{0}")]
    CrossSite(String),
    #[error("{0}")]
    Conflict(String),
    /// Too many failed sign-ins; `retry_after_secs` goes into `Retry-After`.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_secs: u64 },
    #[error("{}", text::DATABASE_UNAVAILABLE)]
    Unavailable,
    #[error("{}", text::TIMED_OUT)]
    TimedOut,
    #[error("{}", text::INTERNAL)]
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
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable | Self::TimedOut => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => text::ERROR_BAD_REQUEST,
            Self::NotFound(_) => text::ERROR_NOT_FOUND,
            Self::Unauthorized(_) => text::ERROR_SIGN_IN_NEEDED,
            Self::Forbidden { .. } => text::ERROR_FORBIDDEN,
            Self::CrossSite(_) => text::ERROR_REFUSED,
            Self::Conflict(_) => text::ERROR_CONFLICT,
            Self::TooManyRequests { .. } => text::ERROR_TOO_MANY,
            Self::Unavailable | Self::TimedOut => text::ERROR_UNAVAILABLE,
            Self::Internal => text::ERROR_INTERNAL,
        }
    }
}

/// Database errors: unreachable is a 503, anything else an internal error logged here.
impl From<sqlx::Error> for PageError {
    fn from(error: sqlx::Error) -> Self {
        if recete_platform::db::is_unavailable(&error) {
            tracing::warn!(%error, "console: database unavailable");
            Self::Unavailable
        } else {
            tracing::error!(%error, "console: database error");
            Self::Internal
        }
    }
}

/// A customer's record that cannot be read: the database's own error, or a sealed field that does
/// not open with the keys this process holds (logged here; the page says only that it failed).
impl From<ReadError> for PageError {
    fn from(error: ReadError) -> Self {
        match error {
            ReadError::Database(error) => error.into(),
            sealed @ ReadError::Sealed { .. } => {
                tracing::error!(error = %sealed, "console: a customer's sealed field does not open");
                Self::Internal
            }
        }
    }
}

impl From<UserError> for PageError {
    fn from(error: UserError) -> Self {
        match error {
            UserError::Database(error) => error.into(),
            UserError::NotFound | UserError::UnknownEmail(_) => Self::NotFound(error.to_string()),
            UserError::BadEmail(_) | UserError::UnknownMerchant(_) => Self::BadRequest(error.to_string()),
            UserError::EmailTaken(_) | UserError::LastOwner(_) => Self::Conflict(error.to_string()),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.status();
        let markup = layout::bare(
            self.title(),
            html! {
                h1 { (self.title()) }
                p.error role="alert" { (self.to_string()) }
                p { a href="/console" { (text::BACK_HOME) } }
            },
        );
        let mut response = (status, markup).into_response();
        let retry_after = match &self {
            Self::Unavailable | Self::TimedOut => Some(5),
            Self::TooManyRequests { retry_after_secs, .. } => Some(*retry_after_secs),
            _ => None,
        };
        if let Some(secs) = retry_after
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

//! The console's own pages: signing in (password or one-time link), the account page, the
//! owners' users page under settings, the inbox (with its live updates), the orders with their
//! follow-up timeline, the customers with their export and erasure, imports, knowledge, the
//! settings and the analytics.

pub mod account;
pub mod analytics;
pub mod customers;
pub mod imports;
pub mod inbox;
pub mod inbox_events;
pub mod knowledge;
mod list_cursor;
pub mod orders;
pub mod records;
pub mod settings;
pub mod sign_in;
pub mod users;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::SESSION_COOKIE;
use crate::error::PageError;
use crate::layout;
use crate::signed_in::ConsoleUser;

/// `/console`: the first page the user may open.
pub async fn home(user: ConsoleUser) -> Redirect {
    Redirect::to(layout::home(&user))
}

/// The session cookie: HttpOnly, SameSite=Strict, Path=/console, Secure over https. With no
/// `max_age` it lasts the browser session (the server ends idle sessions itself).
pub(crate) fn session_cookie(value: &str, max_age_secs: Option<u64>, secure: bool) -> String {
    let max_age = max_age_secs.map(|secs| format!("; Max-Age={secs}")).unwrap_or_default();
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={value}; Path=/console; HttpOnly; SameSite=Strict{max_age}{secure}")
}

pub(crate) fn with_cookie(mut response: Response, cookie: &str) -> Response {
    match HeaderValue::from_str(cookie) {
        Ok(value) => {
            response.headers_mut().append(header::SET_COOKIE, value);
            response
        }
        // Session values are alphanumeric, so this cannot happen; refuse rather than sign in half.
        Err(_) => PageError::Internal.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_only_over_https() {
        assert_eq!(
            session_cookie("abc", None, false),
            "recete_console_session=abc; Path=/console; HttpOnly; SameSite=Strict"
        );
        assert!(session_cookie("abc", None, true).ends_with("; Secure"));
        assert!(session_cookie("", Some(0), false).contains("; Max-Age=0"));
    }
}

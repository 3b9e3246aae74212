//! Signing in with an operator's token (the page sets an HttpOnly, SameSite=Strict session
//! cookie, Secure when the public URL is https) and signing out.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::BoardState;
use super::auth::{SESSION_COOKIE, cookie_value, safe_next};
use super::bare;
use super::error::PageError;
use crate::operators;

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn page(Query(query): Query<NextQuery>) -> Markup {
    form(safe_next(query.next.as_deref()), None)
}

fn form(next: &str, problem: Option<&str>) -> Markup {
    bare::bare(
        "Sign in",
        html! {
            main.narrow {
                h1 { "Sign in" }
                p.muted { "Paste the operator token you were given (" code { "recete operators add" } " prints it once)." }
                @if let Some(problem) = problem { p.flash.error { (problem) } }
                form.stack method="post" action="/ops/sign-in" {
                    input type="hidden" name="next" value=(next);
                    label for="token" { "Token" }
                    input #token type="password" name="token" autocomplete="current-password" required autofocus;
                    button.primary type="submit" { "Sign in" }
                }
            }
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    token: String,
    next: Option<String>,
}

pub async fn sign_in(
    State(state): State<BoardState>,
    Form(form_data): Form<SignInForm>,
) -> Result<Response, PageError> {
    let next = safe_next(form_data.next.as_deref());
    let Some(operator) = operators::by_token(&state.pool, form_data.token.trim()).await? else {
        let page = form(next, Some("That token is unknown, or its operator has been disabled."));
        return Ok((StatusCode::UNAUTHORIZED, page).into_response());
    };
    let session = operators::open_session(&state.pool, &operator, state.session_ttl).await?;
    tracing::info!(operator = %operator.name, "board: operator signed in");
    // A browser-session cookie: the server ends idle sessions itself, so the cookie needs no age.
    let cookie = session_cookie(&session.cookie_value, None, state.secure_cookies);
    Ok(with_cookie(Redirect::to(next).into_response(), &cookie))
}

pub async fn sign_out(State(state): State<BoardState>, headers: HeaderMap) -> Result<Response, PageError> {
    if let Some(value) = cookie_value(&headers, SESSION_COOKIE) {
        operators::close_session(&state.pool, value).await?;
    }
    let cleared = session_cookie("", Some(0), state.secure_cookies);
    Ok(with_cookie(Redirect::to("/ops/sign-in").into_response(), &cleared))
}

fn session_cookie(value: &str, max_age_secs: Option<u64>, secure: bool) -> String {
    let max_age = max_age_secs.map(|secs| format!("; Max-Age={secs}")).unwrap_or_default();
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={value}; Path=/ops; HttpOnly; SameSite=Strict{max_age}{secure}")
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
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
        let plain = session_cookie("abc", None, false);
        assert_eq!(plain, "recete_ops_session=abc; Path=/ops; HttpOnly; SameSite=Strict");
        assert!(session_cookie("abc", None, true).ends_with("; Secure"));
        assert!(session_cookie("", Some(0), false).ends_with("; Max-Age=0"));
    }
}

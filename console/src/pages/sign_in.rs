//! Signing in with email and password, choosing a password through a one-time link (which
//! signs in too), and signing out.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::{session_cookie, with_cookie};
use crate::auth::{self, SESSION_COOKIE, cookie_value, safe_next};
use crate::error::PageError;
use crate::sign_in_limits::{self, Refusal};
use crate::users::MerchantUser;
use crate::{ConsoleState, layout, passwords, sessions, sign_in_links, text};

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn page(Query(query): Query<NextQuery>) -> Markup {
    form(safe_next(query.next.as_deref()), "", None)
}

fn form(next: &str, email: &str, problem: Option<&str>) -> Markup {
    layout::bare(
        text::SIGN_IN,
        html! {
            h1 { (text::SIGN_IN) }
            p.muted { (text::SIGN_IN_INTRO) }
            @if let Some(problem) = problem { (layout::flash(problem, false)) }
            form.stack method="post" action="/console/sign-in" {
                input type="hidden" name="next" value=(next);
                label for="email" { (text::EMAIL) }
                input #email type="email" name="email" value=(email) autocomplete="username" required autofocus;
                label for="password" { (text::PASSWORD) }
                input #password type="password" name="password" autocomplete="current-password" required;
                button.primary type="submit" { (text::SIGN_IN) }
            }
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
    next: Option<String>,
}

pub async fn sign_in(
    State(state): State<ConsoleState>,
    parts: Parts,
    Form(input): Form<SignInForm>,
) -> Result<Response, PageError> {
    let next = safe_next(input.next.as_deref());
    let address = auth::client_address(&parts, &state);
    let limits = state.sign_in_limits;
    if let Some(refusal) = sign_in_limits::check(&state.pool, limits, &input.email, address).await? {
        let message = match refusal {
            Refusal::Account { wait_secs } => text::too_many_attempts_for_account(wait_secs),
            Refusal::Address { wait_secs } => text::too_many_attempts_from_address(wait_secs),
        };
        let mut response = (StatusCode::TOO_MANY_REQUESTS, form(next, &input.email, Some(&message))).into_response();
        if let Ok(value) = HeaderValue::from_str(&refusal.wait_secs().to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(response);
    }
    let credentials = crate::users::credentials_by_email(&state.pool, &input.email).await?;
    let (user, stored) = match credentials {
        Some(credentials) => (Some(credentials.user), credentials.password_hash),
        None => (None, None),
    };
    // Unknown emails spend the same time on a dummy hash.
    let matches = passwords::verify(input.password, stored).await;
    let Some(user) = user.filter(|_| matches) else {
        sign_in_limits::record_failure(&state.pool, limits, &input.email, address).await?;
        tracing::info!("console: sign-in refused");
        let page = form(next, &input.email, Some(text::WRONG_EMAIL_OR_PASSWORD));
        return Ok((StatusCode::UNAUTHORIZED, page).into_response());
    };
    sign_in_limits::clear_account(&state.pool, &input.email).await?;
    start_session(&state, &user, next).await
}

async fn start_session(state: &ConsoleState, user: &MerchantUser, next: &str) -> Result<Response, PageError> {
    let session = sessions::open(&state.pool, user, state.session_idle).await?;
    tracing::info!(user = %user.id, merchant = %user.merchant_id, "console: user signed in");
    let cookie = session_cookie(&session.cookie_value, None, state.secure_cookies);
    Ok(with_cookie(Redirect::to(next).into_response(), &cookie))
}

pub async fn sign_out(State(state): State<ConsoleState>, headers: HeaderMap) -> Result<Response, PageError> {
    if let Some(value) = cookie_value(&headers, SESSION_COOKIE) {
        sessions::close(&state.pool, value).await?;
    }
    Ok(signed_out(&state))
}

/// Clears the cookie and shows the sign-in page.
pub(crate) fn signed_out(state: &ConsoleState) -> Response {
    let cleared = session_cookie("", Some(0), state.secure_cookies);
    with_cookie(Redirect::to("/console/sign-in").into_response(), &cleared)
}

fn link_form(token: &str, user: &MerchantUser, problem: Option<&str>) -> Markup {
    layout::bare(
        text::SET_PASSWORD,
        html! {
            h1 { (text::SET_PASSWORD) }
            p { (text::set_password_intro(&user.email)) }
            @if let Some(problem) = problem { (layout::flash(problem, false)) }
            form.stack method="post" action=(sign_in_links::path(token)) {
                input type="email" name="username" value=(user.email) autocomplete="username" readonly hidden;
                label for="password" { (text::NEW_PASSWORD) }
                p #password-rules.hint { (text::password_rules(passwords::MIN_CHARS)) }
                input #password type="password" name="password" autocomplete="new-password"
                    minlength=(passwords::MIN_CHARS) required autofocus aria-describedby="password-rules";
                label for="repeat" { (text::REPEAT_PASSWORD) }
                input #repeat type="password" name="repeat" autocomplete="new-password" required;
                button.primary type="submit" { (text::SAVE_AND_SIGN_IN) }
            }
        },
    )
}

/// GET of a one-time link: the form to choose a password (the link stays usable until posted).
pub async fn link_page(State(state): State<ConsoleState>, Path(token): Path<String>) -> Result<Markup, PageError> {
    let user = sign_in_links::usable(&state.pool, &token)
        .await?
        .ok_or_else(|| PageError::NotFound(text::LINK_UNUSABLE.into()))?;
    Ok(link_form(&token, &user, None))
}

#[derive(Debug, Deserialize)]
pub struct LinkForm {
    password: String,
    repeat: String,
}

/// POST of a one-time link (no session yet, so no CSRF token; cross-site posts are refused by
/// their Origin): sets the password, uses up the link and signs in.
pub async fn redeem_link(
    State(state): State<ConsoleState>,
    Path(token): Path<String>,
    Form(input): Form<LinkForm>,
) -> Result<Response, PageError> {
    let unusable = || PageError::NotFound(text::LINK_UNUSABLE.into());
    let user = sign_in_links::usable(&state.pool, &token).await?.ok_or_else(unusable)?;
    let problem = if input.password != input.repeat {
        Some(text::PASSWORDS_DIFFER.to_owned())
    } else {
        passwords::check_rules(&input.password).err().map(|error| error.to_string())
    };
    if let Some(problem) = problem {
        return Ok((StatusCode::BAD_REQUEST, link_form(&token, &user, Some(&problem))).into_response());
    }
    let hash = passwords::hash(input.password).await.map_err(|_| PageError::Internal)?;
    let user = sign_in_links::redeem(&state.pool, &token, &hash).await?.ok_or_else(unusable)?;
    sign_in_limits::clear_account(&state.pool, &user.email).await?;
    start_session(&state, &user, "/console").await
}

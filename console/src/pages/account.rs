//! The signed-in user's own account: their password, and signing out everywhere.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::sign_in::signed_out;
use crate::auth::commit;
use crate::error::PageError;
use crate::layout::{self, Nav};
use crate::signed_in::ConsoleUser;
use crate::{ConsoleState, passwords, sessions, text, users};

pub async fn page(user: ConsoleUser) -> Markup {
    view(&user, None)
}

fn view(user: &ConsoleUser, flash: Option<(&str, bool)>) -> Markup {
    layout::page(
        text::ACCOUNT,
        user,
        Nav::Account,
        html! {
            @if let Some((message, ok)) = flash { (layout::flash(message, ok)) }
            p { (text::signed_in_as(&user.email, text::role(user.role))) }
            section aria-labelledby="change-password" {
                h2 #change-password { (text::CHANGE_PASSWORD) }
                form.stack method="post" action="/console/account/password" {
                    (layout::csrf_field(user))
                    input type="email" name="username" value=(user.email) autocomplete="username" readonly hidden;
                    label for="current" { (text::CURRENT_PASSWORD) }
                    input #current type="password" name="current" autocomplete="current-password" required;
                    label for="password" { (text::NEW_PASSWORD) }
                    p #password-rules.hint { (text::password_rules(passwords::MIN_CHARS)) }
                    input #password type="password" name="password" autocomplete="new-password"
                        minlength=(passwords::MIN_CHARS) required aria-describedby="password-rules";
                    label for="repeat" { (text::REPEAT_PASSWORD) }
                    input #repeat type="password" name="repeat" autocomplete="new-password" required;
                    button.primary type="submit" { (text::CHANGE_PASSWORD_BUTTON) }
                }
            }
            section aria-labelledby="everywhere" {
                h2 #everywhere { (text::SIGN_OUT_EVERYWHERE) }
                p.hint { (text::SIGN_OUT_EVERYWHERE_HELP) }
                (layout::post_button(user, "/console/sign-out-everywhere", text::SIGN_OUT_EVERYWHERE, "danger"))
            }
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    current: String,
    password: String,
    repeat: String,
}

/// Changes the password (the current one must be right) and ends the user's other sessions.
pub async fn change_password(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Form(input): Form<PasswordForm>,
) -> Result<Response, PageError> {
    let refuse = |message: &str| (StatusCode::BAD_REQUEST, view(&user, Some((message, false)))).into_response();
    let mut tx = user.transaction(&state.pool).await?;
    let stored = users::password_hash(&mut tx, user.user_id).await?;
    commit(tx).await?;
    if !passwords::verify(input.current, stored).await {
        return Ok(refuse(text::CURRENT_PASSWORD_WRONG));
    }
    if input.password != input.repeat {
        return Ok(refuse(text::PASSWORDS_DIFFER));
    }
    let hash = match passwords::hash(input.password).await {
        Ok(hash) => hash,
        Err(passwords::PasswordError::Hashing) => return Err(PageError::Internal),
        Err(rule) => return Ok(refuse(&rule.to_string())),
    };
    let mut tx = user.transaction(&state.pool).await?;
    let actor = user.actor();
    users::change_password(&mut tx, user.merchant_id, user.user_id, &hash, &actor, user.session_cookie_value()).await?;
    commit(tx).await?;
    Ok(view(&user, Some((text::PASSWORD_CHANGED, true))).into_response())
}

/// Ends every session of the user, this one included.
pub async fn sign_out_everywhere(State(state): State<ConsoleState>, user: ConsoleUser) -> Result<Response, PageError> {
    let mut tx = user.transaction(&state.pool).await?;
    sessions::end_everywhere(&mut tx, user.merchant_id, user.user_id, &user.actor()).await?;
    commit(tx).await?;
    Ok(signed_out(&state))
}

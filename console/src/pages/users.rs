//! Settings › Users: everyone sees who may sign in; owners invite people (the one-time link is
//! shown once), change roles and disable users. The last active owner cannot be demoted or
//! disabled. Another merchant's user is not found (row-level security).

use axum::Form;
use axum::extract::{Path, State};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::commit;
use crate::error::PageError;
use crate::layout::{self, Nav};
use crate::signed_in::ConsoleUser;
use crate::users::{self, MerchantUser, Role};
use crate::{ConsoleState, sign_in_links, text};

/// What a POST did, shown above the list.
enum Outcome<'a> {
    Invited { user: &'a MerchantUser, link: String, ttl_hours: u64 },
    Done(String),
}

pub async fn list(State(state): State<ConsoleState>, user: ConsoleUser) -> Result<Markup, PageError> {
    render(&state, &user, None).await
}

async fn render(state: &ConsoleState, user: &ConsoleUser, outcome: Option<Outcome<'_>>) -> Result<Markup, PageError> {
    let mut tx = user.transaction(&state.pool).await?;
    let people = users::list(&mut tx, user.merchant_id).await?;
    commit(tx).await?;
    Ok(layout::page(
        text::USERS,
        user,
        Nav::Users,
        html! {
            @match outcome {
                Some(Outcome::Invited { user: invited, link, ttl_hours }) => {
                    section.flash.ok role="status" {
                        p { strong { (text::invited(&invited.email)) } }
                        p { (text::invitation_link_once(ttl_hours)) }
                        code.secret { (link) }
                    }
                }
                Some(Outcome::Done(message)) => { (layout::flash(&message, true)) }
                None => {}
            }
            p.muted { (text::USERS_INTRO) }
            @if people.is_empty() {
                p { (text::NO_USERS) }
            } @else {
                table {
                    thead { tr { th scope="col" { (text::EMAIL) } th scope="col" { (text::ROLE) } th scope="col" { (text::STATUS) } th scope="col" { (text::ADDED) } } }
                    tbody {
                        @for person in &people {
                            tr {
                                td data-label=(text::EMAIL) {
                                    a href=(format!("/console/settings/users/{}", person.id)) { (person.email) }
                                    @if person.id == user.user_id { " " span.badge { (text::YOU) } }
                                }
                                td data-label=(text::ROLE) { (text::role(person.role)) }
                                td data-label=(text::STATUS) { (status(person)) }
                                td data-label=(text::ADDED) { (layout::time(person.created_at)) }
                            }
                        }
                    }
                }
            }
            @if user.may(Role::Owner) {
                section aria-labelledby="invite" {
                    h2 #invite { (text::INVITE) }
                    form.stack method="post" action="/console/settings/users" {
                        (layout::csrf_field(user))
                        label for="email" { (text::EMAIL) }
                        input #email type="email" name="email" autocomplete="off" required;
                        label for="role" { (text::ROLE) }
                        (role_select("role", Role::Agent))
                        button.primary type="submit" { (text::INVITE_BUTTON) }
                    }
                }
            } @else {
                p.hint { (text::ONLY_OWNERS_CHANGE_USERS) }
            }
        },
    ))
}

fn status(person: &MerchantUser) -> &'static str {
    if person.disabled_at.is_some() {
        text::DISABLED
    } else if person.has_password {
        text::ACTIVE
    } else {
        text::INVITED
    }
}

fn role_select(id: &str, selected: Role) -> Markup {
    html! {
        select id=(id) name="role" {
            @for role in Role::ALL {
                option value=(role.as_str()) selected[role == selected] {
                    (text::role(role)) " — " (text::role_description(role))
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    email: String,
    role: String,
}

fn parse_role(name: &str) -> Result<Role, PageError> {
    name.parse().map_err(|error: users::UnknownRole| PageError::BadRequest(error.to_string()))
}

/// Adds a user and shows their one-time sign-in link, once.
pub async fn invite(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Form(input): Form<InviteForm>,
) -> Result<Markup, PageError> {
    user.require(Role::Owner, text::ACTION_INVITE)?;
    let role = parse_role(&input.role)?;
    let mut tx = user.transaction(&state.pool).await?;
    let invited =
        users::invite(&mut tx, user.merchant_id, &input.email, role, &user.actor(), state.sign_in_link_ttl).await?;
    commit(tx).await?;
    let link = sign_in_links::url(&state.public_url, &invited.link_token);
    let ttl_hours = state.sign_in_link_ttl.as_secs().div_ceil(3600);
    render(&state, &user, Some(Outcome::Invited { user: &invited.user, link, ttl_hours })).await
}

/// An id in a path; one that is not a UUID names no user.
fn user_id(id: &str) -> Result<Uuid, PageError> {
    id.parse().map_err(|_| PageError::NotFound(text::NO_SUCH_USER.into()))
}

/// One user, with the owner's forms to change their role or disable them.
pub async fn detail(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let id = user_id(&id)?;
    let mut tx = user.transaction(&state.pool).await?;
    let person = users::find(&mut tx, id).await?.ok_or_else(|| PageError::NotFound(text::NO_SUCH_USER.into()))?;
    commit(tx).await?;
    let base = format!("/console/settings/users/{}", person.id);
    Ok(layout::page(
        &person.email,
        &user,
        Nav::Users,
        html! {
            p { a href="/console/settings/users" { (text::BACK_TO_USERS) } }
            dl {
                dt { (text::ROLE) } dd { (text::role(person.role)) }
                dt { (text::STATUS) } dd { (status(&person)) }
                dt { (text::ADDED) } dd { (layout::time(person.created_at)) }
            }
            @if user.may(Role::Owner) && person.disabled_at.is_none() {
                section aria-labelledby="change-role" {
                    h2 #change-role { (text::CHANGE_ROLE) }
                    form.stack method="post" action=(format!("{base}/role")) {
                        (layout::csrf_field(&user))
                        label for="role" { (text::ROLE) }
                        (role_select("role", person.role))
                        button.primary type="submit" { (text::CHANGE_ROLE) }
                    }
                }
                section aria-labelledby="disable" {
                    h2 #disable { (text::DISABLE) }
                    (layout::post_button(&user, &format!("{base}/disable"), text::DISABLE, "danger"))
                }
            }
        },
    ))
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    role: String,
}

pub async fn change_role(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(input): Form<RoleForm>,
) -> Result<Markup, PageError> {
    user.require(Role::Owner, text::ACTION_CHANGE_ROLE)?;
    let id = user_id(&id)?;
    let role = parse_role(&input.role)?;
    let mut tx = user.transaction(&state.pool).await?;
    let changed = users::change_role(&mut tx, id, role, &user.actor()).await?;
    commit(tx).await?;
    let message = text::role_changed(&changed.email, text::role(changed.role));
    render(&state, &user, Some(Outcome::Done(message))).await
}

pub async fn disable(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<axum::response::Response, PageError> {
    use axum::response::IntoResponse;
    user.require(Role::Owner, text::ACTION_DISABLE)?;
    let id = user_id(&id)?;
    let mut tx = user.transaction(&state.pool).await?;
    let person = users::find(&mut tx, id).await?.ok_or_else(|| PageError::NotFound(text::NO_SUCH_USER.into()))?;
    users::disable(&mut tx, id, &user.actor(), false).await?;
    commit(tx).await?;
    if id == user.user_id {
        // Owners may disable themselves when another owner remains; their session is gone now.
        return Ok(super::sign_in::signed_out(&state));
    }
    let message = text::user_disabled(&person.email);
    Ok(render(&state, &user, Some(Outcome::Done(message))).await?.into_response())
}

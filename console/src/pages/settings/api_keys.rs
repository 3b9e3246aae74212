//! Settings › API keys: the merchant's keys (never the key itself), making one (shown once) and
//! revoking one with every key it made, as the API does.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, Utc};
use maud::{Markup, html};
use recete_platform::ids::ApiKeyId;
use recete_shared::api_keys::{self, ApiKeyRecord, KeyGrant, Scope};
use recete_shared::audit::{self, AuditEntry};
use serde_json::json;

use super::{Notice, View, maybe_time, render};
use crate::auth::commit;
use crate::error::PageError;
use crate::layout;
use crate::signed_in::ConsoleUser;
use crate::users::Role;
use crate::{ConsoleState, text};

const MAX_NAME: usize = 100;
/// Keys live at most this long, as through the API.
const MAX_LIFETIME_DAYS: i64 = 730;

fn scope_label(scope: Scope) -> &'static str {
    match scope {
        Scope::Read => text::SCOPE_READ,
        Scope::Write => text::SCOPE_WRITE,
        Scope::Admin => text::SCOPE_ADMIN,
    }
}

pub(super) fn section(user: &ConsoleUser, state: &ConsoleState, list: &[ApiKeyRecord], owner: bool) -> Markup {
    let default_days = state.settings.api.default_key_expiry_days;
    html! {
        section aria-labelledby="api-keys" {
            h2 #api-keys { (text::API_KEYS) }
            p.hint { (text::API_KEYS_HINT) }
            @if list.is_empty() {
                p { (text::NO_API_KEYS) }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { (text::NAME) } th scope="col" { (text::KEY_START) }
                        th scope="col" { (text::STATE) } th scope="col" { (text::SCOPES) }
                        th scope="col" { (text::ADDED) } th scope="col" { (text::EXPIRES) }
                        th scope="col" { (text::LAST_USED) }
                        @if owner { th scope="col" { (text::ACTIONS) } }
                    } }
                    tbody {
                        @for key in list {
                            tr {
                                td data-label=(text::NAME) { (key.name) }
                                td data-label=(text::KEY_START) { code { (key.display_prefix) } }
                                td data-label=(text::STATE) { (key.state) }
                                td data-label=(text::SCOPES) {
                                    (key.scopes().iter().map(|scope| scope.as_str()).collect::<Vec<_>>().join(", "))
                                }
                                td data-label=(text::ADDED) { (layout::time(key.created_at)) }
                                td data-label=(text::EXPIRES) { (maybe_time(key.expires_at)) }
                                td data-label=(text::LAST_USED) { (maybe_time(key.last_used_at)) }
                                @if owner {
                                    td data-label=(text::ACTIONS) {
                                        @if key.state == "active" {
                                            (layout::post_button(user, &format!("/console/settings/api-keys/{}/revoke", key.id), text::REVOKE, "danger"))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if owner {
                h3 { (text::NEW_API_KEY) }
                form.stack method="post" action="/console/settings/api-keys" {
                    (layout::csrf_field(user))
                    label for="key-name" { (text::NAME) }
                    p #key-name-hint.hint { (text::KEY_NAME_HINT) }
                    input #key-name type="text" name="name" maxlength=(MAX_NAME) required aria-describedby="key-name-hint";
                    fieldset {
                        legend { (text::SCOPES) }
                        @for scope in Scope::ALL {
                            label {
                                input type="checkbox" name="scope" value=(scope.as_str()) checked[scope != Scope::Admin];
                                " " (scope_label(scope))
                            }
                        }
                    }
                    label for="key-expiry" { (text::EXPIRY_DAYS) }
                    p #key-expiry-hint.hint { (text::expiry_days_hint(MAX_LIFETIME_DAYS)) }
                    input #key-expiry type="number" name="expires_in_days" min="0" max=(MAX_LIFETIME_DAYS)
                        value=(default_days) aria-describedby="key-expiry-hint";
                    button.primary type="submit" { (text::NEW_API_KEY_BUTTON) }
                }
            }
        }
    }
}

/// `POST /console/settings/api-keys`: makes a key with the scopes ticked; shown once.
pub async fn create(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    user.require(Role::Owner, text::ACTION_MAKE_API_KEY)?;
    let refuse = |label: &str, detail: &str| View::refused(StatusCode::BAD_REQUEST, text::field_error(label, detail));
    let value = |name: &str| fields.iter().find(|(key, _)| key == name).map(|(_, value)| value.trim());
    let name = value("name").unwrap_or_default();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.contains(char::is_control) {
        return render(&state, &user, refuse(text::NAME, text::KEY_NAME_RULE)).await;
    }
    let mut scopes: Vec<Scope> =
        fields.iter().filter(|(key, _)| key == "scope").filter_map(|(_, value)| Scope::parse(value)).collect();
    scopes.sort_unstable();
    scopes.dedup();
    if scopes.is_empty() {
        return render(&state, &user, refuse(text::SCOPES, text::SCOPES_RULE)).await;
    }
    let days = match value("expires_in_days") {
        None | Some("") => i64::from(state.settings.api.default_key_expiry_days),
        Some(days) => match days.parse::<i64>().ok().filter(|days| (0..=MAX_LIFETIME_DAYS).contains(days)) {
            Some(days) => days,
            None => {
                return render(&state, &user, refuse(text::EXPIRY_DAYS, &text::expiry_rule(MAX_LIFETIME_DAYS))).await;
            }
        },
    };
    let expires_at = (days > 0).then(|| Utc::now() + Duration::days(days));
    let mut tx = user.transaction(&state.pool).await?;
    let grant = KeyGrant { name, expires_at, scopes: &scopes, created_by: None };
    let (id, key) = api_keys::create(&mut tx, user.merchant_id, &grant).await?;
    let record = api_keys::find(&mut tx, id).await?.ok_or(PageError::Internal)?;
    audit::record(
        &mut tx,
        AuditEntry {
            merchant_id: Some(user.merchant_id),
            actor: &user.actor(),
            action: "api_key.created",
            subject_type: "api_key",
            subject_id: id.to_string(),
            event_id: None,
            before: None,
            after: Some(json!({
                "name": record.name,
                "display_prefix": record.display_prefix,
                "expires_at": record.expires_at,
                "scopes": scopes.iter().map(|scope| scope.as_str()).collect::<Vec<_>>(),
                "created_by_key_id": null,
            })),
        },
    )
    .await?;
    commit(tx).await?;
    render(&state, &user, View::notice(Notice::Secret { message: text::api_key_created(name), secret: key })).await
}

/// `POST /console/settings/api-keys/{id}/revoke`: revokes it with every key it made.
pub async fn revoke(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    user.require(Role::Owner, text::ACTION_REVOKE_API_KEY)?;
    let id: ApiKeyId = id.parse().map_err(|_| PageError::NotFound(text::NO_SUCH_API_KEY.into()))?;
    let mut tx = user.transaction(&state.pool).await?;
    let record = api_keys::find(&mut tx, id).await?.ok_or_else(|| PageError::NotFound(text::NO_SUCH_API_KEY.into()))?;
    let revoked = api_keys::revoke_with_descendants(&mut tx, id).await?;
    let revoked_at = api_keys::find(&mut tx, id).await?.and_then(|key| key.revoked_at);
    for revoked_id in &revoked {
        let cascaded = *revoked_id != id;
        audit::record(
            &mut tx,
            AuditEntry {
                merchant_id: Some(user.merchant_id),
                actor: &user.actor(),
                action: "api_key.revoked",
                subject_type: "api_key",
                subject_id: revoked_id.to_string(),
                event_id: None,
                before: Some(json!({ "revoked_at": null })),
                after: Some(json!({
                    "revoked_at": revoked_at,
                    "revoked_calling_key": false,
                    "revoked_with": cascaded.then(|| id.to_string()),
                })),
            },
        )
        .await?;
    }
    commit(tx).await?;
    let with = revoked.iter().filter(|revoked_id| **revoked_id != id).count();
    render(&state, &user, View::notice(Notice::Done(text::api_key_revoked(&record.name, with)))).await
}

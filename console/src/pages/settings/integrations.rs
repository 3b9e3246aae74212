//! Settings › store integrations: each one's webhook URL (selectable, with a copy button),
//! connecting a store (the generated secret shown once), rotating its secret (the old one keeps
//! working for the overlap chosen, as through the API) and disabling it.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use recete_platform::ids::IntegrationId;
use recete_shared::audit::{self, AuditEntry};
use recete_shared::integrations::{
    self, CreateIntegrationError, IntegrationKind, IntegrationRecord, MAX_ROTATION_OVERLAP, NewIntegration,
    RotateError, Rotation,
};
use serde::Deserialize;
use serde_json::json;

use super::{Notice, View, copyable, maybe_time, render};
use crate::auth::commit;
use crate::error::PageError;
use crate::layout;
use crate::signed_in::ConsoleUser;
use crate::users::Role;
use crate::{ConsoleState, text};

/// The overlaps offered, in hours; 24 is chosen unless the owner picks another.
const OVERLAP_HOURS: [i64; 5] = [0, 1, 24, 72, 168];
const DEFAULT_OVERLAP_HOURS: i64 = 24;
/// The kinds a store connects through this page (WhatsApp numbers are connected by the operator).
const STORE_KINDS: [IntegrationKind; 3] =
    [IntegrationKind::Shopify, IntegrationKind::WooCommerce, IntegrationKind::Generic];

pub(super) fn section(user: &ConsoleUser, state: &ConsoleState, list: &[IntegrationRecord], owner: bool) -> Markup {
    let public_url = state.public_url.trim_end_matches('/');
    html! {
        section aria-labelledby="integrations" {
            h2 #integrations { (text::INTEGRATIONS) }
            p.hint { (text::INTEGRATIONS_HINT) }
            @if list.is_empty() {
                p { (text::NO_INTEGRATIONS) }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { (text::KIND) } th scope="col" { (text::STATUS) }
                        th scope="col" { (text::WEBHOOK_URL) } th scope="col" { (text::SECRET_ROTATED) }
                        th scope="col" { (text::ADDED) }
                        @if owner { th scope="col" { (text::ACTIONS) } }
                    } }
                    tbody {
                        @for integration in list {
                            @let id = integration.id.to_string();
                            tr {
                                td data-label=(text::KIND) { (integration.kind) }
                                td data-label=(text::STATUS) { (integration.status) }
                                td data-label=(text::WEBHOOK_URL) {
                                    @if let Some(path) = integration.webhook_path() {
                                        (copyable(&format!("url-{id}"), &format!("{public_url}{path}")))
                                    }
                                }
                                td data-label=(text::SECRET_ROTATED) { (maybe_time(integration.secret_rotated_at)) }
                                td data-label=(text::ADDED) { (layout::time(integration.created_at)) }
                                @if owner {
                                    td data-label=(text::ACTIONS) {
                                        @if integration.status == "active" {
                                            (rotate_form(user, &id))
                                            (layout::post_button(user, &format!("/console/settings/integrations/{id}/disable"), text::DISABLE, "danger"))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if owner {
                h3 { (text::NEW_INTEGRATION) }
                form.stack method="post" action="/console/settings/integrations" {
                    (layout::csrf_field(user))
                    label for="integration-kind" { (text::KIND) }
                    select #integration-kind name="kind" {
                        @for kind in STORE_KINDS { option value=(kind.as_str()) { (kind.as_str()) } }
                    }
                    label for="integration-secret" { (text::INTEGRATION_SECRET) }
                    p #integration-secret-hint.hint { (text::INTEGRATION_SECRET_HINT) }
                    input #integration-secret type="password" name="secret" autocomplete="off" aria-describedby="integration-secret-hint";
                    label for="shop-domain" { (text::SHOP_DOMAIN) }
                    p #shop-domain-hint.hint { (text::SHOP_DOMAIN_HINT) }
                    input #shop-domain type="text" name="shop_domain" autocomplete="off" aria-describedby="shop-domain-hint";
                    button.primary type="submit" { (text::NEW_INTEGRATION_BUTTON) }
                }
            }
        }
    }
}

fn rotate_form(user: &ConsoleUser, id: &str) -> Markup {
    html! {
        details {
            summary { (text::ROTATE_SECRET) }
            form.stack method="post" action=(format!("/console/settings/integrations/{id}/rotate")) {
                (layout::csrf_field(user))
                label for=(format!("overlap-{id}")) { (text::OVERLAP) }
                select id=(format!("overlap-{id}")) name="overlap_hours" {
                    @for hours in OVERLAP_HOURS {
                        option value=(hours) selected[hours == DEFAULT_OVERLAP_HOURS] { (text::overlap_choice(hours)) }
                    }
                }
                label for=(format!("new-secret-{id}")) { (text::NEW_SECRET) }
                p.hint id=(format!("new-secret-hint-{id}")) { (text::NEW_SECRET_HINT) }
                input id=(format!("new-secret-{id}")) type="password" name="secret" autocomplete="off"
                    aria-describedby=(format!("new-secret-hint-{id}"));
                button.primary type="submit" { (text::ROTATE_SECRET) }
            }
        }
    }
}

/// This process's webhooks see the rotation or disable at once.
fn forget(state: &ConsoleState, id: IntegrationId) {
    if let Some(directory) = &state.integrations {
        directory.forget(id);
    }
}

fn integration_id(id: &str) -> Result<IntegrationId, PageError> {
    id.parse().map_err(|_| PageError::NotFound(text::NO_SUCH_INTEGRATION.into()))
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|value| !value.is_empty())
}

#[derive(Debug, Deserialize)]
pub struct NewIntegrationForm {
    kind: String,
    secret: Option<String>,
    shop_domain: Option<String>,
}

/// `POST /console/settings/integrations`: connects a store; a generated secret is shown once.
pub async fn create(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Form(input): Form<NewIntegrationForm>,
) -> Result<Response, PageError> {
    user.require(Role::Owner, text::ACTION_CONNECT_STORE)?;
    let refuse = |label: &str, detail: &str| View::refused(StatusCode::BAD_REQUEST, text::field_error(label, detail));
    let kind = input
        .kind
        .parse::<IntegrationKind>()
        .ok()
        .filter(|kind| STORE_KINDS.contains(kind))
        .ok_or_else(|| PageError::BadRequest(text::bad_kind(&input.kind)))?;
    let secret = given(&input.secret);
    if kind == IntegrationKind::Shopify && secret.is_none() {
        return render(&state, &user, refuse(text::INTEGRATION_SECRET, text::SHOPIFY_NEEDS_SECRET)).await;
    }
    let shop_domain = match integrations::given_shop_domain(kind, given(&input.shop_domain)) {
        Ok(domain) => domain,
        Err(CreateIntegrationError::UnexpectedShopDomain) => {
            return render(&state, &user, refuse(text::SHOP_DOMAIN, text::SHOP_DOMAIN_SHOPIFY_ONLY)).await;
        }
        Err(_) => return render(&state, &user, refuse(text::SHOP_DOMAIN, text::SHOP_DOMAIN_RULE)).await,
    };
    let new = NewIntegration { merchant_id: user.merchant_id, kind, secret, phone_number_id: None };
    let mut tx = user.transaction(&state.pool).await?;
    let created = match integrations::insert(&mut tx, &state.keyring, &new, None).await {
        Ok(created) => created,
        Err(CreateIntegrationError::WeakSecret) => {
            return render(&state, &user, refuse(text::INTEGRATION_SECRET, text::SECRET_RULE)).await;
        }
        Err(CreateIntegrationError::Database(error)) => return Err(error.into()),
        Err(error) => {
            tracing::error!(%error, "console: integration not created");
            return Err(PageError::Internal);
        }
    };
    audit::record(
        &mut tx,
        AuditEntry {
            merchant_id: Some(user.merchant_id),
            actor: &user.actor(),
            action: "integration.created",
            subject_type: "integration",
            subject_id: created.integration_id.to_string(),
            event_id: None,
            before: None,
            after: Some(json!({
                "kind": created.kind,
                "phone_number_id": null,
                "shop_domain": shop_domain,
                "secret": if secret.is_some() { "given" } else { "generated" },
            })),
        },
    )
    .await?;
    if let Some(domain) = &shop_domain {
        integrations::bind_shop_domain(&mut tx, created.integration_id, domain).await?;
    }
    commit(tx).await?;
    // Deliveries for it may have been refused (and remembered as unknown) before it existed.
    if let Some(directory) = &state.integrations {
        directory.forget_unknown();
    }
    let message = text::integration_created(kind.as_str());
    let notice = match secret {
        Some(_) => Notice::Done(message),
        None => Notice::Secret { message, secret: created.secret },
    };
    render(&state, &user, View::notice(notice)).await
}

#[derive(Debug, Deserialize)]
pub struct RotateForm {
    overlap_hours: Option<String>,
    secret: Option<String>,
}

/// `POST /console/settings/integrations/{id}/rotate`: a new secret (shown once when made here);
/// the replaced one keeps verifying for the overlap chosen.
pub async fn rotate(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(input): Form<RotateForm>,
) -> Result<Response, PageError> {
    user.require(Role::Owner, text::ACTION_ROTATE_SECRET)?;
    let id = integration_id(&id)?;
    let max_hours = MAX_ROTATION_OVERLAP.num_hours();
    let overlap_hours = match input.overlap_hours.as_deref().map(str::trim) {
        None | Some("") => DEFAULT_OVERLAP_HOURS,
        Some(hours) => hours
            .parse::<i64>()
            .ok()
            .filter(|hours| (0..=max_hours).contains(hours))
            .ok_or_else(|| PageError::BadRequest(text::bad_overlap(max_hours)))?,
    };
    let new_secret = given(&input.secret);
    let rotation = Rotation { new_secret, overlap: chrono::Duration::hours(overlap_hours) };
    let mut tx = user.transaction(&state.pool).await?;
    let before =
        integrations::find(&mut tx, id).await?.ok_or_else(|| PageError::NotFound(text::NO_SUCH_INTEGRATION.into()))?;
    let refuse = |detail: &str| View::refused(StatusCode::BAD_REQUEST, text::field_error(text::NEW_SECRET, detail));
    let rotated = match integrations::rotate_secret(&mut tx, &state.keyring, id, rotation).await {
        Ok(Some(rotated)) => rotated,
        Ok(None) => return Err(PageError::NotFound(text::NO_SUCH_INTEGRATION.into())),
        Err(RotateError::Disabled(_)) => return Err(PageError::Conflict(text::integration_is_disabled())),
        Err(RotateError::WeakSecret) => return render(&state, &user, refuse(text::SECRET_RULE)).await,
        Err(RotateError::SameSecret) => return render(&state, &user, refuse(text::SAME_SECRET)).await,
        Err(RotateError::OverlapOutOfRange) => return Err(PageError::BadRequest(text::bad_overlap(max_hours))),
        Err(RotateError::Database(error)) => return Err(error.into()),
        Err(error @ RotateError::Secret(..)) => {
            tracing::error!(%error, "console: secret not rotated");
            return Err(PageError::Internal);
        }
    };
    audit::record(
        &mut tx,
        AuditEntry {
            merchant_id: Some(user.merchant_id),
            actor: &user.actor(),
            action: "integration.secret_rotated",
            subject_type: "integration",
            subject_id: id.to_string(),
            event_id: None,
            before: Some(json!({ "secret_rotated_at": before.secret_rotated_at })),
            after: Some(json!({
                "secret_rotated_at": rotated.rotated_at,
                "previous_secret_valid_until": rotated.previous_valid_until,
                "overlap_seconds": overlap_hours * 3600,
                "secret": if new_secret.is_some() { "given" } else { "generated" },
            })),
        },
    )
    .await?;
    commit(tx).await?;
    forget(&state, id);
    let until = rotated.previous_valid_until.map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string());
    let message = text::secret_rotated(until.as_deref());
    let notice = match rotated.generated_secret {
        Some(secret) => Notice::Secret { message, secret },
        None => Notice::Done(message),
    };
    render(&state, &user, View::notice(notice)).await
}

/// `POST /console/settings/integrations/{id}/disable`: its webhooks are refused from now on.
pub async fn disable(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    user.require(Role::Owner, text::ACTION_DISABLE_INTEGRATION)?;
    let id = integration_id(&id)?;
    let mut tx = user.transaction(&state.pool).await?;
    let changed = integrations::disable(&mut tx, id)
        .await?
        .ok_or_else(|| PageError::NotFound(text::NO_SUCH_INTEGRATION.into()))?;
    if changed {
        audit::record(
            &mut tx,
            AuditEntry {
                merchant_id: Some(user.merchant_id),
                actor: &user.actor(),
                action: "integration.disabled",
                subject_type: "integration",
                subject_id: id.to_string(),
                event_id: None,
                before: Some(json!({ "status": "active" })),
                after: Some(json!({ "status": "disabled" })),
            },
        )
        .await?;
    }
    commit(tx).await?;
    forget(&state, id);
    render(&state, &user, View::notice(Notice::Done(text::INTEGRATION_DISABLED.into()))).await
}

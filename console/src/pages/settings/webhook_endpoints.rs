//! Settings › webhook endpoints: where the merchant's own systems receive events (Standard
//! Webhooks). Listing, adding one (its secret shown once), rotating its secret (the old one keeps
//! signing beside the new for `webhooks.secret_overlap_secs`, as through the API), disabling it,
//! and its recent deliveries. URLs pass the same guard as through the API.

use std::time::Duration;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use recete_platform::config::Environment;
use recete_shared::audit::{self, AuditEntry};
use recete_shared::merchant_events::EventType;
use recete_shared::webhooks::deliveries;
use recete_shared::webhooks::endpoints::{self, EndpointChange, EndpointRecord, MAX_PER_MERCHANT, NewEndpoint};
use serde_json::json;
use uuid::Uuid;

use super::{Notice, View, copyable, maybe_time, render};
use crate::auth::commit;
use crate::error::PageError;
use crate::layout::{self, Nav};
use crate::signed_in::ConsoleUser;
use crate::users::Role;
use crate::{ConsoleState, text};

/// Deliveries shown on an endpoint's page, newest first.
const RECENT_DELIVERIES: i64 = 25;

pub(super) fn section(user: &ConsoleUser, list: &[EndpointRecord], owner: bool) -> Markup {
    html! {
        section aria-labelledby="webhook-endpoints" {
            h2 #webhook-endpoints { (text::WEBHOOK_ENDPOINTS) }
            p.hint { (text::WEBHOOK_ENDPOINTS_HINT) }
            @if list.is_empty() {
                p { (text::NO_WEBHOOK_ENDPOINTS) }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { (text::URL) } th scope="col" { (text::EVENT_TYPES) }
                        th scope="col" { (text::STATUS) } th scope="col" { (text::ADDED) }
                        @if owner { th scope="col" { (text::ACTIONS) } }
                    } }
                    tbody {
                        @for endpoint in list {
                            @let base = format!("/console/settings/webhook-endpoints/{}", endpoint.id);
                            tr {
                                td data-label=(text::URL) {
                                    a href=(base) { (endpoint.url) }
                                    @if let Some(description) = &endpoint.description { br; span.hint { (description) } }
                                }
                                td data-label=(text::EVENT_TYPES) { (endpoint.event_types.join(", ")) }
                                td data-label=(text::STATUS) { (status(endpoint)) }
                                td data-label=(text::ADDED) { (layout::time(endpoint.created_at)) }
                                @if owner {
                                    td data-label=(text::ACTIONS) {
                                        (layout::post_button(user, &format!("{base}/rotate"), text::ROTATE_SECRET, "secondary"))
                                        @if endpoint.disabled_at.is_none() {
                                            (layout::post_button(user, &format!("{base}/disable"), text::DISABLE, "danger"))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if owner {
                h3 { (text::NEW_WEBHOOK_ENDPOINT) }
                form.stack method="post" action="/console/settings/webhook-endpoints" {
                    (layout::csrf_field(user))
                    label for="endpoint-url" { (text::URL) }
                    input #endpoint-url type="url" name="url" required;
                    label for="endpoint-description" { (text::DESCRIPTION) }
                    input #endpoint-description type="text" name="description" maxlength=(endpoints::MAX_DESCRIPTION);
                    fieldset {
                        legend { (text::EVENT_TYPES) }
                        @for kind in EventType::ALL {
                            label { input type="checkbox" name="event_type" value=(kind.as_str()) checked; " " (kind.as_str()) }
                        }
                    }
                    button.primary type="submit" { (text::NEW_WEBHOOK_ENDPOINT_BUTTON) }
                }
            }
        }
    }
}

fn status(endpoint: &EndpointRecord) -> String {
    match (&endpoint.disabled_at, &endpoint.disabled_reason, endpoint.failing_since) {
        (Some(_), Some(reason), _) => text::endpoint_disabled_because(reason),
        (Some(_), None, _) => text::DISABLED.to_owned(),
        (None, _, Some(since)) => text::endpoint_failing_since(&since.format("%Y-%m-%d %H:%M UTC").to_string()),
        (None, _, None) => text::ACTIVE.to_owned(),
    }
}

fn endpoint_id(id: &str) -> Result<Uuid, PageError> {
    id.parse().map_err(|_| PageError::NotFound(text::NO_SUCH_ENDPOINT.into()))
}

async fn record_audit(
    tx: &mut recete_platform::db::Tx,
    user: &ConsoleUser,
    action: &'static str,
    endpoint: Uuid,
    after: serde_json::Value,
) -> Result<(), PageError> {
    audit::record(
        tx,
        AuditEntry {
            merchant_id: Some(user.merchant_id),
            actor: &user.actor(),
            action,
            subject_type: "webhook_endpoint",
            subject_id: endpoint.to_string(),
            event_id: None,
            before: None,
            after: Some(after),
        },
    )
    .await?;
    Ok(())
}

/// `POST /console/settings/webhook-endpoints`: registers an endpoint; its secret is shown once.
pub async fn create(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    user.require(Role::Owner, text::ACTION_ADD_ENDPOINT)?;
    let refuse = |label: &str, detail: &str| View::refused(StatusCode::BAD_REQUEST, text::field_error(label, detail));
    let value = |name: &str| fields.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    let webhooks = &state.settings.webhooks;
    let require_https = state.settings.app.environment == Environment::Production;
    let lookup_timeout = Duration::from_millis(webhooks.connect_timeout_ms);
    let url = match recete_scrape::outbound::checked_webhook_url(
        value("url").unwrap_or_default(),
        require_https,
        webhooks.allow_loopback,
        lookup_timeout,
    )
    .await
    {
        Ok(url) => url,
        Err(detail) => return render(&state, &user, refuse(text::URL, &detail)).await,
    };
    let description = match endpoints::checked_description(value("description")) {
        Ok(description) => description,
        Err(detail) => return render(&state, &user, refuse(text::DESCRIPTION, &detail)).await,
    };
    let mut event_types: Vec<EventType> = Vec::new();
    for (_, name) in fields.iter().filter(|(key, _)| key == "event_type") {
        match EventType::ALL.iter().find(|kind| kind.as_str() == name) {
            Some(kind) if !event_types.contains(kind) => event_types.push(*kind),
            Some(_) => {}
            None => return render(&state, &user, refuse(text::EVENT_TYPES, &text::unknown_event_type(name))).await,
        }
    }
    if event_types.is_empty() {
        return render(&state, &user, refuse(text::EVENT_TYPES, text::EVENT_TYPES_RULE)).await;
    }
    let mut tx = user.transaction(&state.pool).await?;
    if endpoints::count(&mut tx).await? >= MAX_PER_MERCHANT {
        return Err(PageError::Conflict(text::too_many_endpoints(MAX_PER_MERCHANT)));
    }
    let new = NewEndpoint { url: &url, description, event_types: &event_types };
    let (record, secret) = endpoints::create(&mut tx, &state.keyring, user.merchant_id, &new).await?;
    let after = json!({ "url": record.url, "event_types": record.event_types });
    record_audit(&mut tx, &user, "webhook_endpoint.created", record.id, after).await?;
    commit(tx).await?;
    let notice = Notice::Secret { message: text::endpoint_created(&record.url), secret: secret.expose() };
    render(&state, &user, View::notice(notice)).await
}

/// `POST /console/settings/webhook-endpoints/{id}/rotate`: a new secret, shown once.
pub async fn rotate(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    user.require(Role::Owner, text::ACTION_ROTATE_ENDPOINT_SECRET)?;
    let id = endpoint_id(&id)?;
    let overlap =
        chrono::Duration::seconds(i64::try_from(state.settings.webhooks.secret_overlap_secs).unwrap_or(i64::MAX / 2));
    let mut tx = user.transaction(&state.pool).await?;
    let (record, secret) = endpoints::rotate_secret(&mut tx, &state.keyring, user.merchant_id, id, overlap)
        .await?
        .ok_or_else(|| PageError::NotFound(text::NO_SUCH_ENDPOINT.into()))?;
    let until = record.previous_secret_expires_at.unwrap_or_else(|| chrono::Utc::now() + overlap);
    record_audit(&mut tx, &user, "webhook_endpoint.secret_rotated", id, json!({ "previous_secret_expires_at": until }))
        .await?;
    commit(tx).await?;
    let message = text::secret_rotated(Some(&until.format("%Y-%m-%d %H:%M UTC").to_string()));
    render(&state, &user, View::notice(Notice::Secret { message, secret: secret.expose() })).await
}

/// `POST /console/settings/webhook-endpoints/{id}/disable`: nothing is sent to it any more.
pub async fn disable(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    user.require(Role::Owner, text::ACTION_DISABLE_ENDPOINT)?;
    let id = endpoint_id(&id)?;
    let mut tx = user.transaction(&state.pool).await?;
    let change = EndpointChange { enabled: Some(false), ..EndpointChange::default() };
    let record = endpoints::update(&mut tx, id, &change)
        .await?
        .ok_or_else(|| PageError::NotFound(text::NO_SUCH_ENDPOINT.into()))?;
    let after = json!({ "url": record.url, "event_types": record.event_types, "enabled": false });
    record_audit(&mut tx, &user, "webhook_endpoint.updated", id, after).await?;
    commit(tx).await?;
    render(&state, &user, View::notice(Notice::Done(text::endpoint_disabled(&record.url)))).await
}

/// `GET /console/settings/webhook-endpoints/{id}`: the endpoint and its recent deliveries.
pub async fn detail(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    use axum::response::IntoResponse;
    let id = endpoint_id(&id)?;
    let mut tx = user.transaction(&state.pool).await?;
    let endpoint =
        endpoints::find(&mut tx, id).await?.ok_or_else(|| PageError::NotFound(text::NO_SUCH_ENDPOINT.into()))?;
    let recent = deliveries::list(&mut tx, id, None, RECENT_DELIVERIES).await?;
    commit(tx).await?;
    let markup = layout::page(
        &endpoint.url,
        &user,
        Nav::Settings,
        html! {
            p { a href="/console/settings#webhook-endpoints" { (text::BACK_TO_SETTINGS) } }
            dl {
                dt { (text::URL) } dd { (copyable("endpoint-url", &endpoint.url)) }
                dt { (text::EVENT_TYPES) } dd { (endpoint.event_types.join(", ")) }
                dt { (text::STATUS) } dd { (status(&endpoint)) }
                dt { (text::ADDED) } dd { (layout::time(endpoint.created_at)) }
            }
            h2 { (text::RECENT_DELIVERIES) }
            @if recent.is_empty() {
                p { (text::NO_DELIVERIES) }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { (text::EVENT) } th scope="col" { (text::STATE) }
                        th scope="col" { (text::ATTEMPTS) } th scope="col" { (text::LAST_ATTEMPT) }
                        th scope="col" { (text::HTTP_STATUS) } th scope="col" { (text::ADDED) }
                    } }
                    tbody {
                        @for delivery in &recent {
                            tr {
                                td data-label=(text::EVENT) { (delivery.event_type.as_str()) }
                                td data-label=(text::STATE) { (text::delivery_state(delivery.state)) }
                                td data-label=(text::ATTEMPTS) { (delivery.attempts) }
                                td data-label=(text::LAST_ATTEMPT) { (maybe_time(delivery.last_attempt_at)) }
                                td data-label=(text::HTTP_STATUS) {
                                    @if let Some(code) = delivery.last_status_code { (code) }
                                    @if let Some(error) = &delivery.last_error { " " span.hint { (error) } }
                                }
                                td data-label=(text::ADDED) { (layout::time(delivery.created_at)) }
                            }
                        }
                    }
                }
            }
            script src="/console/assets/copy.js" defer {}
        },
    );
    Ok(markup.into_response())
}

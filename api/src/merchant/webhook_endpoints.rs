//! `/api/webhook-endpoints`: where the merchant's own systems receive events, as Standard
//! Webhooks. The secret (`whsec_...`) is shown once, when the endpoint is made or its secret is
//! rotated; after a rotation the previous secret keeps signing beside the new one for
//! `webhooks.secret_overlap_secs`. Each endpoint's deliveries are listed with what their last
//! attempt saw, and any of them can be sent again with the same `webhook-id`.
//!
//! A URL must be `https` in production and must not point at a private, loopback or link-local
//! address (the product-page guard, checked here and again at every connection). Changes need
//! the `admin` scope: an endpoint receives the merchant's data.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use recete_platform::db::Tx;
use recete_shared::audit::{self, AuditEntry};
use recete_shared::customers::MaskedContact;
use recete_shared::merchant_events::render::EventEnvelope;
use recete_shared::merchant_events::{
    EventType, GuardrailHit, HandedOver, ImportCompleted, MessageFailed, MessageReceived, OptedOut,
    PrivacyRequestCompleted,
};
use recete_shared::webhooks::deliveries::{self, DeliveryRecord, DeliveryState};
use recete_shared::webhooks::endpoints::{self, EndpointChange, EndpointRecord, MAX_PER_MERCHANT, NewEndpoint};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::json_body::JsonBody;
use super::pagination::{ListQuery, Listed, NoFilter, Page, PageParams};
use super::patch::Patch;
use crate::auth::Merchant;
use crate::error::ApiError;
use crate::extract::Path;
use crate::state::AppState;
pub use crate::state::WebhookPolicy;
use crate::tenant_tx::TenantTx;

/// The payloads of the events, for the OpenAPI document: every delivery's body is an
/// `EventEnvelope` whose `data` is the payload of its `type`, plus `customer` (`MaskedContact`)
/// when the event names a customer, and the customer's words as `question`
/// (`conversation.handed_over`) or `text` (`conversation.message_received`) when there are any.
#[derive(OpenApi)]
#[openapi(components(schemas(
    EventEnvelope,
    EventType,
    HandedOver,
    GuardrailHit,
    MessageReceived,
    OptedOut,
    MessageFailed,
    ImportCompleted,
    PrivacyRequestCompleted,
    MaskedContact
)))]
struct EventSchemas;

/// The webhook endpoint routes, with their part of the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(EventSchemas::openapi())
        .routes(routes!(list, create))
        .routes(routes!(show, update, delete))
        .routes(routes!(rotate_secret))
        .routes(routes!(list_deliveries))
        .routes(routes!(retry_delivery))
}

/// An endpoint, without its secret.
#[derive(Serialize, ToSchema)]
pub struct WebhookEndpoint {
    id: Uuid,
    url: String,
    description: Option<String>,
    /// The event types this endpoint receives.
    event_types: Vec<EventType>,
    /// False once disabled, by the merchant or after failing for days (see `disabled_reason`).
    enabled: bool,
    disabled_at: Option<DateTime<Utc>>,
    disabled_reason: Option<String>,
    /// Since when every attempt has failed; absent after a success.
    failing_since: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation still signs beside the current one.
    previous_secret_expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<EndpointRecord> for WebhookEndpoint {
    fn from(record: EndpointRecord) -> Self {
        let now = Utc::now();
        Self {
            event_types: record.event_types(),
            id: record.id,
            url: record.url,
            description: record.description,
            enabled: record.disabled_at.is_none(),
            disabled_at: record.disabled_at,
            disabled_reason: record.disabled_reason,
            failing_since: record.failing_since,
            previous_secret_expires_at: record.previous_secret_expires_at.filter(|at| *at > now),
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct WebhookEndpointList {
    webhook_endpoints: Vec<WebhookEndpoint>,
}

/// The merchant's webhook endpoints, oldest first.
#[utoipa::path(
    get,
    path = "/api/webhook-endpoints",
    tag = "webhook-endpoints",
    responses((status = 200, description = "Every endpoint of the merchant.", body = WebhookEndpointList))
)]
pub async fn list(mut tenant: TenantTx) -> Result<Json<WebhookEndpointList>, ApiError> {
    let tx = tenant.begin().await?;
    let records = endpoints::list(tx).await?;
    Ok(Json(WebhookEndpointList { webhook_endpoints: records.into_iter().map(WebhookEndpoint::from).collect() }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookEndpoint {
    /// Where to POST events: `https` (plain `http` only outside production), a public address.
    #[schema(min_length = 1, max_length = 2048, example = "https://example.com/hooks/recete")]
    url: String,
    /// The event types to receive, at least one.
    #[schema(min_items = 1)]
    event_types: Vec<EventType>,
    /// What the endpoint is for, up to 200 characters.
    #[schema(max_length = 200)]
    description: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedWebhookEndpoint {
    webhook_endpoint: WebhookEndpoint,
    /// The signing secret, `whsec_<base64>`: shown this once.
    secret: String,
}

/// Registers an endpoint (needs the `admin` scope). The answer holds its secret, shown only now.
#[utoipa::path(
    post,
    path = "/api/webhook-endpoints",
    tag = "webhook-endpoints",
    request_body = NewWebhookEndpoint,
    responses((status = 201, description = "Created; `secret` is shown this once.", body = CreatedWebhookEndpoint))
)]
pub async fn create(
    State(state): State<AppState>,
    merchant: Merchant,
    mut tenant: TenantTx,
    JsonBody(body): JsonBody<NewWebhookEndpoint>,
) -> Result<(StatusCode, Json<CreatedWebhookEndpoint>), ApiError> {
    let url = checked_url(&state.webhooks, &body.url).await?;
    let event_types = checked_event_types(&body.event_types)?;
    let description = checked_description(body.description.as_deref())?;
    let tx = tenant.begin().await?;
    if endpoints::count(tx).await? >= MAX_PER_MERCHANT {
        return Err(ApiError::Conflict(format!(
            "a merchant may have at most {MAX_PER_MERCHANT} webhook endpoints; delete one first"
        )));
    }
    let new = NewEndpoint { url: &url, description, event_types: &event_types };
    let (record, secret) = endpoints::create(tx, &state.keyring, merchant.merchant_id, &new).await?;
    let webhook_endpoint = WebhookEndpoint::from(record);
    let after = json!({ "url": webhook_endpoint.url, "event_types": webhook_endpoint.event_types });
    record_audit(tx, &merchant, "webhook_endpoint.created", webhook_endpoint.id, None, Some(after)).await?;
    Ok((StatusCode::CREATED, Json(CreatedWebhookEndpoint { webhook_endpoint, secret: secret.expose() })))
}

async fn find(tx: &mut Tx, id: Uuid) -> Result<EndpointRecord, ApiError> {
    endpoints::find(tx, id).await?.ok_or_else(|| ApiError::NotFound(format!("no webhook endpoint {id}")))
}

/// One endpoint.
#[utoipa::path(
    get,
    path = "/api/webhook-endpoints/{endpoint_id}",
    tag = "webhook-endpoints",
    params(("endpoint_id" = Uuid, Path, description = "The endpoint's id.")),
    responses((status = 200, description = "The endpoint.", body = WebhookEndpoint))
)]
pub async fn show(mut tenant: TenantTx, Path(endpoint_id): Path<Uuid>) -> Result<Json<WebhookEndpoint>, ApiError> {
    let tx = tenant.begin().await?;
    let record = find(tx, endpoint_id).await?;
    Ok(Json(record.into()))
}

/// Changes to an endpoint; a field left out is unchanged.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointChanges {
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 2048)]
    url: Patch<String>,
    /// Replaces the list; at least one type.
    #[serde(default)]
    #[schema(value_type = Vec<EventType>, min_items = 1)]
    event_types: Patch<Vec<EventType>>,
    /// null clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 200)]
    description: Patch<String>,
    /// `false` disables the endpoint (nothing is sent to it); `true` enables it again, also after
    /// it was disabled for failing, and starts its failure count afresh.
    #[serde(default)]
    #[schema(value_type = bool)]
    enabled: Patch<bool>,
}

/// Changes an endpoint: its URL, event types, description, or whether it is enabled.
#[utoipa::path(
    patch,
    path = "/api/webhook-endpoints/{endpoint_id}",
    tag = "webhook-endpoints",
    params(("endpoint_id" = Uuid, Path, description = "The endpoint's id.")),
    request_body = WebhookEndpointChanges,
    responses((status = 200, description = "The endpoint as changed.", body = WebhookEndpoint))
)]
pub async fn update(
    State(state): State<AppState>,
    merchant: Merchant,
    mut tenant: TenantTx,
    Path(endpoint_id): Path<Uuid>,
    JsonBody(changes): JsonBody<WebhookEndpointChanges>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    let url = match changes.url.non_null("url")? {
        Some(url) => Some(checked_url(&state.webhooks, &url).await?),
        None => None,
    };
    let event_types = match changes.event_types.non_null("event_types")? {
        Some(types) => Some(checked_event_types(&types)?),
        None => None,
    };
    let description_patch = changes.description;
    let description = match &description_patch {
        Patch::Absent => None,
        Patch::Null => Some(None),
        Patch::Value(text) => Some(checked_description(Some(text))?),
    };
    let enabled = changes.enabled.non_null("enabled")?;
    let change = EndpointChange { url: url.as_deref(), description, event_types: event_types.as_deref(), enabled };
    let tx = tenant.begin().await?;
    let before = WebhookEndpoint::from(find(tx, endpoint_id).await?);
    let record = endpoints::update(tx, endpoint_id, &change)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no webhook endpoint {endpoint_id}")))?;
    let after = WebhookEndpoint::from(record);
    let summary = |endpoint: &WebhookEndpoint| json!({ "url": endpoint.url, "event_types": endpoint.event_types, "enabled": endpoint.enabled });
    record_audit(tx, &merchant, "webhook_endpoint.updated", endpoint_id, Some(summary(&before)), Some(summary(&after)))
        .await?;
    Ok(Json(after))
}

/// Deletes an endpoint with its delivery history; deliveries still waiting are not sent.
#[utoipa::path(
    delete,
    path = "/api/webhook-endpoints/{endpoint_id}",
    tag = "webhook-endpoints",
    params(("endpoint_id" = Uuid, Path, description = "The endpoint's id.")),
    responses((status = 204, description = "Deleted."))
)]
pub async fn delete(
    merchant: Merchant,
    mut tenant: TenantTx,
    Path(endpoint_id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let tx = tenant.begin().await?;
    let record = find(tx, endpoint_id).await?;
    endpoints::delete(tx, endpoint_id).await?;
    let before = json!({ "url": record.url, "event_types": record.event_types });
    record_audit(tx, &merchant, "webhook_endpoint.deleted", endpoint_id, Some(before), None).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct RotatedWebhookSecret {
    webhook_endpoint: WebhookEndpoint,
    /// The new signing secret, `whsec_<base64>`: shown this once.
    secret: String,
    /// Until then deliveries carry a signature with the previous secret too.
    previous_secret_expires_at: DateTime<Utc>,
}

/// Gives the endpoint a new secret. The previous one keeps signing beside it (a second `v1,`
/// signature in `webhook-signature`) for `webhooks.secret_overlap_secs` (24 hours by default).
#[utoipa::path(
    post,
    path = "/api/webhook-endpoints/{endpoint_id}/rotate-secret",
    tag = "webhook-endpoints",
    params(("endpoint_id" = Uuid, Path, description = "The endpoint's id.")),
    responses((status = 200, description = "Rotated; `secret` is shown this once.", body = RotatedWebhookSecret))
)]
pub async fn rotate_secret(
    State(state): State<AppState>,
    merchant: Merchant,
    mut tenant: TenantTx,
    Path(endpoint_id): Path<Uuid>,
) -> Result<Json<RotatedWebhookSecret>, ApiError> {
    let tx = tenant.begin().await?;
    let overlap = state.webhooks.secret_overlap;
    let (record, secret) = endpoints::rotate_secret(tx, &state.keyring, merchant.merchant_id, endpoint_id, overlap)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no webhook endpoint {endpoint_id}")))?;
    let previous_secret_expires_at = record.previous_secret_expires_at.unwrap_or_else(|| Utc::now() + overlap);
    let after = json!({ "previous_secret_expires_at": previous_secret_expires_at });
    record_audit(tx, &merchant, "webhook_endpoint.secret_rotated", endpoint_id, None, Some(after)).await?;
    Ok(Json(RotatedWebhookSecret {
        webhook_endpoint: record.into(),
        secret: secret.expose(),
        previous_secret_expires_at,
    }))
}

impl Listed for WebhookDelivery {
    const KEY: &'static str = "deliveries";
    const LIST: &'static str = "WebhookDeliveryList";
}

pub type WebhookDeliveryList = Page<WebhookDelivery>;

/// One event sent (or to be sent) to one endpoint.
#[derive(Serialize, ToSchema)]
pub struct WebhookDelivery {
    id: Uuid,
    endpoint_id: Uuid,
    /// The `webhook-id` header of every attempt and replay of this delivery.
    webhook_id: String,
    event_id: Uuid,
    event_type: EventType,
    state: DeliveryState,
    /// Attempts made so far, replays included.
    attempts: i32,
    last_attempt_at: Option<DateTime<Utc>>,
    /// The endpoint's HTTP status on the last attempt; absent when it did not answer.
    last_status_code: Option<i32>,
    last_error: Option<String>,
    last_duration_ms: Option<i32>,
    /// When the next attempt is due, while the delivery is waiting.
    next_attempt_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl From<DeliveryRecord> for WebhookDelivery {
    fn from(record: DeliveryRecord) -> Self {
        Self {
            id: record.id,
            endpoint_id: record.endpoint_id,
            webhook_id: record.event_id.to_string(),
            event_id: record.event_id,
            event_type: record.event_type,
            state: record.state,
            attempts: record.attempts,
            last_attempt_at: record.last_attempt_at,
            last_status_code: record.last_status_code,
            last_error: record.last_error,
            last_duration_ms: record.last_duration_ms,
            next_attempt_at: record.next_attempt_at,
            delivered_at: record.delivered_at,
            created_at: record.created_at,
        }
    }
}

/// The endpoint's deliveries, newest first.
#[utoipa::path(
    get,
    path = "/api/webhook-endpoints/{endpoint_id}/deliveries",
    tag = "webhook-endpoints",
    params(("endpoint_id" = Uuid, Path, description = "The endpoint's id."), PageParams),
    responses((status = 200, description = "One page of deliveries.", body = WebhookDeliveryList))
)]
pub async fn list_deliveries(
    mut tenant: TenantTx,
    Path(endpoint_id): Path<Uuid>,
    ListQuery { page, filter: NoFilter {} }: ListQuery<NoFilter>,
) -> Result<Json<WebhookDeliveryList>, ApiError> {
    let tx = tenant.begin().await?;
    find(tx, endpoint_id).await?;
    let before = page.after.map(|(_, id)| id);
    let records = deliveries::list(tx, endpoint_id, before, page.fetch_limit()).await?;
    Ok(Json(page.page(records.into_iter().map(WebhookDelivery::from).collect(), |last| (last.created_at, last.id))))
}

/// Sends a delivery again now, whatever its state, with the same `webhook-id` (so a receiver
/// that already has it can tell). Its attempts restart from the first of the retry schedule.
#[utoipa::path(
    post,
    path = "/api/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry",
    tag = "webhook-endpoints",
    params(
        ("endpoint_id" = Uuid, Path, description = "The endpoint's id."),
        ("delivery_id" = Uuid, Path, description = "The delivery's id."),
    ),
    responses((status = 202, description = "Put back in line; sent within moments.", body = WebhookDelivery))
)]
pub async fn retry_delivery(
    merchant: Merchant,
    mut tenant: TenantTx,
    Path((endpoint_id, delivery_id)): Path<(Uuid, Uuid)>,
) -> Result<(StatusCode, Json<WebhookDelivery>), ApiError> {
    let tx = tenant.begin().await?;
    let endpoint = find(tx, endpoint_id).await?;
    if endpoint.disabled_at.is_some() {
        return Err(ApiError::Conflict(format!(
            "webhook endpoint {endpoint_id} is disabled; enable it (PATCH with \"enabled\": true) before a retry"
        )));
    }
    let replayed = deliveries::replay(tx, merchant.merchant_id, endpoint_id, delivery_id).await?;
    if !replayed {
        return Err(ApiError::NotFound(format!("no delivery {delivery_id} for webhook endpoint {endpoint_id}")));
    }
    let record = deliveries::find(tx, endpoint_id, delivery_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no delivery {delivery_id}")))?;
    record_audit(
        tx,
        &merchant,
        "webhook_delivery.retried",
        endpoint_id,
        None,
        Some(json!({ "delivery_id": delivery_id })),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(record.into())))
}

/// A URL the fleet may call: http(s) without credentials, `https` in production, not on a
/// private, loopback or link-local address. Returns it as it will be called.
async fn checked_url(policy: &WebhookPolicy, raw: &str) -> Result<String, ApiError> {
    recete_scrape::outbound::checked_webhook_url(
        raw,
        policy.require_https,
        policy.allow_loopback,
        policy.lookup_timeout,
    )
    .await
    .map_err(|detail| ApiError::InvalidField { field: "url".into(), detail })
}

fn checked_event_types(types: &[EventType]) -> Result<Vec<EventType>, ApiError> {
    if types.is_empty() {
        return Err(ApiError::InvalidField {
            field: "event_types".into(),
            detail: format!(
                "must name at least one of {}",
                EventType::ALL.iter().map(EventType::as_str).collect::<Vec<_>>().join(", ")
            ),
        });
    }
    let mut unique: Vec<EventType> = Vec::with_capacity(types.len());
    for kind in types {
        if !unique.contains(kind) {
            unique.push(*kind);
        }
    }
    Ok(unique)
}

fn checked_description(description: Option<&str>) -> Result<Option<&str>, ApiError> {
    endpoints::checked_description(description)
        .map_err(|detail| ApiError::InvalidField { field: "description".into(), detail })
}

async fn record_audit(
    tx: &mut Tx,
    merchant: &Merchant,
    action: &'static str,
    endpoint: Uuid,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), ApiError> {
    let actor = format!("api-key:{}", merchant.api_key_id);
    audit::record(
        tx,
        AuditEntry {
            merchant_id: Some(merchant.merchant_id),
            actor: &actor,
            action,
            subject_type: "webhook_endpoint",
            subject_id: endpoint.to_string(),
            event_id: None,
            before,
            after,
        },
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn policy(require_https: bool) -> WebhookPolicy {
        WebhookPolicy {
            require_https,
            allow_loopback: true,
            lookup_timeout: Duration::from_secs(1),
            secret_overlap: chrono::Duration::hours(24),
        }
    }

    fn refusal(error: ApiError) -> String {
        match error {
            ApiError::InvalidField { field, detail } => format!("{field}: {detail}"),
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn production_endpoints_must_use_https() {
        let refused = refusal(checked_url(&policy(true), "http://127.0.0.1:9/hooks").await.expect_err("http"));
        assert_eq!(refused, "url: must use https");
        assert_eq!(
            checked_url(&policy(true), " https://127.0.0.1:9/hooks ").await.expect("https"),
            "https://127.0.0.1:9/hooks"
        );
        assert!(checked_url(&policy(false), "http://127.0.0.1:9/hooks").await.is_ok(), "http outside production");
        let refused = refusal(checked_url(&policy(true), "https://127.0.0.1:9/hooks#x").await.expect_err("fragment"));
        assert!(refused.contains("fragment"), "{refused}");
    }
}

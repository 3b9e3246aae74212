//! Webhook receivers: each checks the sender's signature over the raw body before trusting a
//! byte of it, normalizes the body and answers 2xx only once the event row is committed.
//!
//! Order of checks, the same for every platform: read the signature header (401 when missing or
//! malformed), find the integration and verify the signature (401), charge the sender's rate
//! limit (429), read the headers and body (400/422), store (503 when the database is down, so
//! the sender retries). A duplicate delivery gets 200 and adds nothing.
//!
//! An unknown id, a disabled integration, an integration of another platform and a signature
//! that does not match all answer the same 401, with the same body and headers, and all cost
//! one HMAC: nobody can learn which ids exist by probing. Unknown ids are remembered for a few
//! seconds (see `IntegrationDirectory`), so probing costs the database nothing either.

pub mod generic;
pub mod shopify;
pub mod signature;
pub mod whatsapp;
pub mod woocommerce;

use std::sync::Arc;

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use recete_platform::ids::IntegrationId;
use recete_shared::events::store::{IncomingEvent, StoreError, StoreOutcome};
use recete_shared::events::{EventSource, NormalizedEvent};
use recete_shared::integrations::{ActiveIntegration, IntegrationKind, IntegrationLookup, LookupError};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// The key a signature is checked with when no integration was found, so an unknown id costs
/// the same HMAC as a known one and answers as late.
const NO_SECRET: &[u8] = b"no integration answers to this id; the signature is checked all the same";

pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

pub(crate) fn required_header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, ApiError> {
    header(headers, name).ok_or_else(|| ApiError::BadRequest(format!("missing or empty header {name}")))
}

pub(crate) async fn find_integration(
    state: &AppState,
    lookup: &IntegrationLookup,
) -> Result<Option<Arc<ActiveIntegration>>, ApiError> {
    state.integrations.find(lookup).await.map_err(lookup_failure)
}

fn lookup_failure(error: LookupError) -> ApiError {
    match error {
        LookupError::Database(error) => ApiError::from(error),
        other => ApiError::Internal(other.into()),
    }
}

/// The integration (found by `lookup`) when `check` accepts one of its secrets: the current
/// one, or the previous one while a rotation's overlap runs. On a mismatch the integration is
/// looked up once more before giving up, so a secret rotated by another process is honoured
/// before this process's cached entry expires.
pub(crate) async fn signed_by(
    state: &AppState,
    lookup: &IntegrationLookup,
    integration: Arc<ActiveIntegration>,
    check: impl Fn(&[u8]) -> bool,
) -> Result<Option<Arc<ActiveIntegration>>, ApiError> {
    if integration.signed_with_any(Utc::now(), &check) {
        return Ok(Some(integration));
    }
    let fresh = state.integrations.refresh(lookup).await.map_err(lookup_failure)?;
    Ok(fresh.filter(|fresh| !Arc::ptr_eq(fresh, &integration) && fresh.signed_with_any(Utc::now(), &check)))
}

/// The active commerce integration named in the path, of the kind the path says, when `check`
/// accepts one of its secrets. Everything else (a malformed, unknown or disabled id, another
/// platform's integration, a signature that does not match) is the same 401 with `mismatch` for
/// its detail.
pub(crate) async fn verified_commerce(
    state: &AppState,
    source: EventSource,
    raw_id: &str,
    kind: IntegrationKind,
    mismatch: &'static str,
    check: impl Fn(&[u8]) -> bool,
) -> Result<Arc<ActiveIntegration>, ApiError> {
    let Ok(id) = raw_id.parse::<IntegrationId>() else {
        return Err(unverified(source, mismatch, &check));
    };
    let lookup = IntegrationLookup::Id(id);
    let Some(found) = find_integration(state, &lookup).await?.filter(|found| found.kind == kind) else {
        return Err(unverified(source, mismatch, &check));
    };
    signed_by(state, &lookup, found, &check)
        .await?
        .filter(|verified| verified.kind == kind)
        .ok_or_else(|| signature_failure(source, mismatch))
}

/// The answer for a delivery no integration could verify: the signature is still checked once
/// (against [`NO_SECRET`]), so it takes as long as a mismatch, and the answer is the mismatch's.
pub(crate) fn unverified(source: EventSource, mismatch: &'static str, check: impl Fn(&[u8]) -> bool) -> ApiError {
    std::hint::black_box(check(NO_SECRET));
    signature_failure(source, mismatch)
}

/// Charges a verified sender's quota; see [`crate::rate_limit`].
pub(crate) async fn charge_sender(
    state: &AppState,
    charged: &crate::rate_limit::Charged,
    limit: recete_platform::rate_limit::Limit,
) -> Result<(), ApiError> {
    crate::rate_limit::charge_sender(&state.rate_limiter, charged, limit).await
}

pub(crate) fn signature_failure(source: EventSource, detail: impl Into<String>) -> ApiError {
    metrics::counter!("recete_webhook_signature_failures_total", "source" => source.as_str()).increment(1);
    ApiError::Unauthorized(detail.into())
}

pub(crate) fn rejected(source: EventSource, reason: &'static str, error: ApiError) -> ApiError {
    metrics::counter!("recete_webhook_rejected_total", "source" => source.as_str(), "reason" => reason).increment(1);
    error
}

/// A signed delivery of a topic we do not act on: acknowledged so the sender does not retry it
/// for days, and not stored.
pub(crate) fn ignored(source: EventSource, topic: &str) -> Response {
    metrics::counter!("recete_webhook_ignored_total", "source" => source.as_str()).increment(1);
    tracing::info!(source = source.as_str(), topic, "webhook topic ignored");
    (StatusCode::OK, Json(json!({ "status": "ignored", "reason": format!("topic `{topic}` is not handled") })))
        .into_response()
}

/// Stores every event of one delivery and answers 202 when anything was new, 200 when all of
/// it was seen before (the stores: any 2xx is a delivery to them).
pub(crate) async fn store_events(
    state: &AppState,
    request_id: &str,
    raw_body: &[u8],
    events: &[(Arc<ActiveIntegration>, NormalizedEvent)],
) -> Result<Response, ApiError> {
    store_events_answering(state, request_id, raw_body, events, StatusCode::ACCEPTED).await
}

/// Stores every event of one delivery and answers `new` when anything was new, 200 when all of
/// it was seen before. Meta counts only 200 as delivered, so WhatsApp passes 200 for `new`.
pub(crate) async fn store_events_answering(
    state: &AppState,
    request_id: &str,
    raw_body: &[u8],
    events: &[(Arc<ActiveIntegration>, NormalizedEvent)],
    new: StatusCode,
) -> Result<Response, ApiError> {
    let stores = events.iter().map(|(integration, event)| {
        state.events.store(IncomingEvent {
            merchant_id: integration.merchant_id,
            integration_id: integration.id,
            request_id: Some(request_id),
            raw_body,
            event,
        })
    });
    let outcomes = futures_util::future::join_all(stores).await;
    let mut stored = Vec::new();
    let mut duplicates = Vec::new();
    for ((_, event), outcome) in events.iter().zip(outcomes) {
        match outcome {
            Ok(StoreOutcome::Stored(id)) => {
                metrics::counter!("recete_webhook_events_stored_total", "source" => event.source.as_str(), "kind" => event.kind.as_str())
                    .increment(1);
                stored.push(id);
            }
            Ok(StoreOutcome::Duplicate(id)) => {
                metrics::counter!("recete_webhook_duplicates_total", "source" => event.source.as_str()).increment(1);
                duplicates.push(id);
            }
            Err(StoreError::Unavailable(detail)) => return Err(ApiError::unavailable(detail)),
            Err(StoreError::Rejected(detail)) => {
                return Err(ApiError::Internal(anyhow::anyhow!(detail)));
            }
        }
    }
    let (status, word) = if stored.is_empty() { (StatusCode::OK, "duplicate") } else { (new, "stored") };
    tracing::info!(stored = stored.len(), duplicates = duplicates.len(), "webhook accepted");
    Ok((status, Json(json!({ "status": word, "stored": stored, "duplicates": duplicates }))).into_response())
}

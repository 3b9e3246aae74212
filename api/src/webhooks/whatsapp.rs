//! `GET /webhooks/whatsapp` (Meta's verification handshake) and `POST /webhooks/whatsapp`
//! (messages, statuses and marketing preferences), answered 200 whenever accepted.
//!
//! Meta signs the body with the app secret, and one app may serve several business phone
//! numbers. Before the signature is checked we read only `metadata.phone_number_id`, to find the
//! integration whose secret to check against; every other phone number in the same body must
//! verify against its own integration's secret too, or its events are dropped. An unknown phone
//! number id answers exactly like a wrong signature, so nobody learns which numbers we serve.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header as http_header};
use axum::response::{IntoResponse, Response};
use recete_platform::crypto::verify_hmac_sha256;
use recete_shared::events::{EventBody, EventSource, whatsapp};
use recete_shared::integrations::{ActiveIntegration, IntegrationLookup};
use serde::Deserialize;
use serde_json::json;

use super::{
    charge_sender, find_integration, header, rejected, signature_failure, signed_by, store_events_answering, unverified,
};
use crate::body::RawBody;
use crate::error::ApiError;
use crate::rate_limit::{Charged, is_phone_number_id};
use crate::request_id::RequestId;
use crate::state::AppState;

const SOURCE: EventSource = EventSource::WhatsApp;

const MISMATCH: &str = "X-Hub-Signature-256 does not verify for this phone number";

#[derive(Deserialize)]
pub struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

pub async fn verify(State(state): State<AppState>, Query(handshake): Query<Handshake>) -> Result<Response, ApiError> {
    if handshake.mode.as_deref() != Some("subscribe") {
        return Err(ApiError::BadRequest("hub.mode must be `subscribe`".into()));
    }
    let token = handshake
        .verify_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::BadRequest("hub.verify_token is missing".into()))?;
    let challenge = handshake
        .challenge
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::BadRequest("hub.challenge is missing".into()))?;
    if find_integration(&state, &IntegrationLookup::verify_token(&token)).await?.is_none() {
        return Err(ApiError::Forbidden("hub.verify_token does not match any WhatsApp integration".into()));
    }
    Ok(([(http_header::CONTENT_TYPE, "text/plain; charset=utf-8")], challenge).into_response())
}

pub async fn receive(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    Extension(charged): Extension<Charged>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let signature = header(&headers, "x-hub-signature-256")
        .ok_or_else(|| signature_failure(SOURCE, "missing X-Hub-Signature-256 header"))?;
    let mac = super::signature::hub_signature(signature)
        .ok_or_else(|| signature_failure(SOURCE, "X-Hub-Signature-256 must be sha256= followed by 64 hex digits"))?;
    let signed_with = |secret: &[u8]| verify_hmac_sha256(secret, &[&body], &mac);
    let phone_number_ids = whatsapp::phone_number_ids(&body).map_err(|e| rejected(SOURCE, "invalid_body", e.into()))?;
    let Some(first) = phone_number_ids.first() else {
        // Account-level notifications carry no phone number: nothing for us to act on.
        return Ok((
            StatusCode::OK,
            Json(json!({ "status": "ignored", "reason": "no phone_number_id in the notification" })),
        )
            .into_response());
    };
    let lookup = IntegrationLookup::PhoneNumberId(first.clone());
    let Some(primary) = find_integration(&state, &lookup).await? else {
        return Err(unverified(SOURCE, MISMATCH, signed_with));
    };
    let primary =
        signed_by(&state, &lookup, primary, signed_with).await?.ok_or_else(|| signature_failure(SOURCE, MISMATCH))?;
    if is_phone_number_id(first) {
        charge_sender(&state, &charged, state.rate_limiter.whatsapp_number_limit(first)).await?;
    }
    let mut routes: HashMap<String, Arc<ActiveIntegration>> = HashMap::from([(first.clone(), primary)]);
    for phone_number_id in &phone_number_ids[1..] {
        let lookup = IntegrationLookup::PhoneNumberId(phone_number_id.clone());
        let verified = match find_integration(&state, &lookup).await? {
            Some(other) => signed_by(&state, &lookup, other, signed_with).await?,
            None => None,
        };
        match verified {
            Some(other) => {
                routes.insert(phone_number_id.clone(), other);
            }
            None => tracing::warn!(phone_number_id, "events for an unknown or differently signed phone number dropped"),
        }
    }
    let events = whatsapp::normalize(&body).map_err(|e| rejected(SOURCE, "invalid_body", e.into()))?;
    let routed: Vec<_> = events
        .into_iter()
        .filter_map(|event| {
            let phone_number_id = match &event.body {
                EventBody::InboundMessage(message) => &message.phone_number_id,
                EventBody::MessageStatus(status) => &status.phone_number_id,
                EventBody::MarketingPreference(preference) => &preference.phone_number_id,
                EventBody::Order(_) | EventBody::Privacy(_) => return None,
            };
            routes.get(phone_number_id).map(|integration| (integration.clone(), event))
        })
        .collect();
    if routed.is_empty() {
        return Ok((
            StatusCode::OK,
            Json(json!({ "status": "ignored", "reason": "no messages, statuses or preferences" })),
        )
            .into_response());
    }
    // Meta and the providers built on it count only 200 as delivered: anything else is retried
    // and, if it persists, gets the subscription disabled.
    store_events_answering(&state, &request_id, &body, &routed, StatusCode::OK).await
}

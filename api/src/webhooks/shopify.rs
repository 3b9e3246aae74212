//! `POST /webhooks/commerce/shopify/{integration_id}`

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use recete_shared::crypto::verify_hmac_sha256;
use recete_shared::events::{EventSource, shopify};
use recete_shared::integrations::{IntegrationKind, IntegrationLookup};

use super::{
    commerce_integration, header, ignored, rejected, required_header, signature_failure, signed_by, store_events,
};
use crate::body::RawBody;
use crate::error::ApiError;
use crate::request_id::RequestId;
use crate::state::AppState;

const SOURCE: EventSource = EventSource::Shopify;

pub async fn receive(
    State(state): State<AppState>,
    Path(integration_id): Path<String>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let integration = commerce_integration(&state, &integration_id, IntegrationKind::Shopify).await?;
    let signature = header(&headers, "x-shopify-hmac-sha256")
        .ok_or_else(|| signature_failure(SOURCE, "missing X-Shopify-Hmac-Sha256 header"))?;
    let mac = super::signature::base64_mac(signature)
        .ok_or_else(|| signature_failure(SOURCE, "X-Shopify-Hmac-Sha256 is not base64 of a SHA-256 HMAC"))?;
    let lookup = IntegrationLookup::Id(integration.id);
    let integration = signed_by(&state, &lookup, integration, |secret| verify_hmac_sha256(secret, &[&body], &mac))
        .await?
        .ok_or_else(|| signature_failure(SOURCE, "X-Shopify-Hmac-Sha256 does not match the body"))?;
    let delivery = shopify::Delivery {
        topic: required_header(&headers, "x-shopify-topic")?,
        webhook_id: required_header(&headers, "x-shopify-webhook-id")?,
        event_id: header(&headers, "x-shopify-event-id"),
        triggered_at: header(&headers, "x-shopify-triggered-at"),
    };
    let Some(event) = shopify::normalize(&delivery, &body).map_err(|e| rejected(SOURCE, "invalid_body", e.into()))?
    else {
        return Ok(ignored(SOURCE, delivery.topic));
    };
    store_events(&state, &request_id, &body, &[(integration, event)]).await
}

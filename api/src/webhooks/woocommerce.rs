//! `POST /webhooks/commerce/woocommerce/{integration_id}`

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use recete_platform::crypto::verify_hmac_sha256;
use recete_shared::events::{EventSource, woocommerce};
use recete_shared::integrations::IntegrationKind;
use serde_json::json;

use super::{
    charge_sender, header, ignored, rejected, required_header, signature_failure, store_events, verified_commerce,
};
use crate::body::RawBody;
use crate::error::ApiError;
use crate::rate_limit::Charged;
use crate::request_id::RequestId;
use crate::state::AppState;

const SOURCE: EventSource = EventSource::WooCommerce;

const MISMATCH: &str = "X-WC-Webhook-Signature does not verify for this webhook URL";

/// WooCommerce checks a new webhook URL with an unsigned form post `webhook_id=N` and disables
/// the webhook unless it gets a 2xx. The ping is answered before any lookup, whatever the id:
/// it stores nothing, and answering it only for ids that exist would tell a prober which do.
fn is_ping(headers: &HeaderMap, body: &[u8]) -> bool {
    if header(headers, "x-wc-webhook-signature").is_some() {
        return false;
    }
    let Ok(fields) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) else {
        return false;
    };
    matches!(fields.as_slice(), [(key, value)] if key == "webhook_id" && !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
}

pub async fn receive(
    State(state): State<AppState>,
    Path(integration_id): Path<String>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    Extension(charged): Extension<Charged>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    if is_ping(&headers, &body) {
        tracing::info!("woocommerce webhook ping acknowledged");
        return Ok((StatusCode::OK, Json(json!({ "status": "ping" }))).into_response());
    }
    let signature = header(&headers, "x-wc-webhook-signature")
        .ok_or_else(|| signature_failure(SOURCE, "missing X-WC-Webhook-Signature header"))?;
    let mac = super::signature::base64_mac(signature)
        .ok_or_else(|| signature_failure(SOURCE, "X-WC-Webhook-Signature is not base64 of a SHA-256 HMAC"))?;
    let integration =
        verified_commerce(&state, SOURCE, &integration_id, IntegrationKind::WooCommerce, MISMATCH, |secret| {
            verify_hmac_sha256(secret, &[&body], &mac)
        })
        .await?;
    charge_sender(&state, &charged, state.rate_limiter.integration_limit(integration.id)).await?;
    let delivery = woocommerce::Delivery {
        topic: required_header(&headers, "x-wc-webhook-topic")?,
        delivery_id: required_header(&headers, "x-wc-webhook-delivery-id")?,
    };
    let Some(event) =
        woocommerce::normalize(&delivery, &body).map_err(|e| rejected(SOURCE, "invalid_body", e.into()))?
    else {
        return Ok(ignored(SOURCE, delivery.topic));
    };
    store_events(&state, &request_id, &body, &[(integration, event)]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unsigned_webhook_id_form_is_a_ping() {
        let unsigned = HeaderMap::new();
        assert!(is_ping(&unsigned, b"webhook_id=15"));
        assert!(!is_ping(&unsigned, b"webhook_id="));
        assert!(!is_ping(&unsigned, b"webhook_id=15&x=1"));
        assert!(!is_ping(&unsigned, br#"{"id": 1}"#));
        let mut signed = HeaderMap::new();
        signed.insert("x-wc-webhook-signature", "abc".parse().expect("valid header"));
        assert!(!is_ping(&signed, b"webhook_id=15"));
    }
}

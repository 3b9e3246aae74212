//! `POST /webhooks/commerce/shopify/{integration_id}`
//!
//! One app secret signs the webhooks of every shop that installed the app, so a signature says
//! which app sent a body, not which shop. Each integration serves one shop: given when it was
//! created, or recorded from its first verified delivery's `X-Shopify-Shop-Domain`. A delivery
//! naming another shop is refused, and a privacy request must name the integration's shop in its
//! signed body.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use recete_platform::crypto::verify_hmac_sha256;
use recete_shared::events::{EventBody, EventSource, shopify};
use recete_shared::integrations::{self, ActiveIntegration, IntegrationKind};

use super::{
    charge_sender, header, ignored, rejected, required_header, signature_failure, store_events, verified_commerce,
};
use crate::body::RawBody;
use crate::error::ApiError;
use crate::rate_limit::Charged;
use crate::request_id::RequestId;
use crate::state::AppState;

const SOURCE: EventSource = EventSource::Shopify;

const MISMATCH: &str = "X-Shopify-Hmac-Sha256 does not verify for this webhook URL";

pub async fn receive(
    State(state): State<AppState>,
    Path(integration_id): Path<String>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    Extension(charged): Extension<Charged>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let signature = header(&headers, "x-shopify-hmac-sha256")
        .ok_or_else(|| signature_failure(SOURCE, "missing X-Shopify-Hmac-Sha256 header"))?;
    let mac = super::signature::base64_mac(signature)
        .ok_or_else(|| signature_failure(SOURCE, "X-Shopify-Hmac-Sha256 is not base64 of a SHA-256 HMAC"))?;
    let integration =
        verified_commerce(&state, SOURCE, &integration_id, IntegrationKind::Shopify, MISMATCH, |secret| {
            verify_hmac_sha256(secret, &[&body], &mac)
        })
        .await?;
    charge_sender(&state, &charged, state.rate_limiter.integration_limit(integration.id)).await?;
    let delivery_shop = header(&headers, "x-shopify-shop-domain")
        .map(|raw| {
            shopify::shop_domain(raw).ok_or_else(|| {
                rejected(
                    SOURCE,
                    "invalid_header",
                    ApiError::BadRequest("X-Shopify-Shop-Domain must be a myshopify.com domain".into()),
                )
            })
        })
        .transpose()?;
    let own_shop = own_shop(&state, &integration, delivery_shop.as_deref()).await?;
    if let (Some(own), Some(delivered)) = (&own_shop, &delivery_shop)
        && own != delivered
    {
        return Err(other_shop("X-Shopify-Shop-Domain names a shop other than this integration's"));
    }
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
    if let EventBody::Privacy(request) = &event.body {
        match (&own_shop, &request.shop_domain) {
            (Some(own), Some(named)) if own == named => {}
            (None, _) => {
                return Err(other_shop(
                    "this integration's shop is not known: a privacy request needs X-Shopify-Shop-Domain, or an \
                     integration created with its shop domain",
                ));
            }
            _ => return Err(other_shop("shop_domain names a shop other than this integration's")),
        }
    }
    store_events(&state, &request_id, &body, &[(integration, event)]).await
}

/// The shop the integration serves: the one it knows, or else the delivery's, recorded now.
async fn own_shop(
    state: &AppState,
    integration: &Arc<ActiveIntegration>,
    delivery_shop: Option<&str>,
) -> Result<Option<String>, ApiError> {
    match (&integration.shop_domain, delivery_shop) {
        (Some(known), _) => Ok(Some(known.clone())),
        (None, None) => Ok(None),
        (None, Some(shop)) => {
            let bound =
                integrations::learn_shop_domain(&state.pool, integration.merchant_id, integration.id, shop).await?;
            // Cached without its shop until now.
            state.integrations.forget(integration.id);
            if bound.as_deref() == Some(shop) {
                tracing::info!(integration_id = %integration.id, "shop recorded from the first verified delivery");
            }
            Ok(bound)
        }
    }
}

fn other_shop(detail: &str) -> ApiError {
    rejected(SOURCE, "other_shop", ApiError::Forbidden(detail.to_owned()))
}

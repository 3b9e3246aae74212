//! `POST /webhooks/commerce/generic/{integration_id}`: our own signed order event format
//! (documented in `recete_shared::events::generic`).

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::Utc;
use recete_platform::crypto::{hmac_sha256_parts, matches_any};
use recete_shared::events::{EventSource, generic};
use recete_shared::integrations::IntegrationKind;

use super::signature::ReceteSignature;
use super::{charge_sender, header, rejected, signature_failure, store_events, verified_commerce};
use crate::body::RawBody;
use crate::error::ApiError;
use crate::rate_limit::Charged;
use crate::request_id::RequestId;
use crate::state::AppState;

const SOURCE: EventSource = EventSource::Generic;

const MISMATCH: &str = "Recete-Signature does not verify for this webhook URL";

pub async fn receive(
    State(state): State<AppState>,
    Path(integration_id): Path<String>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    Extension(charged): Extension<Charged>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let value = header(&headers, "recete-signature")
        .ok_or_else(|| signature_failure(SOURCE, "missing Recete-Signature header"))?;
    let signature = ReceteSignature::parse(value)
        .map_err(|reason| signature_failure(SOURCE, format!("Recete-Signature is malformed: {reason}")))?;
    let skew = signature.skew_secs(Utc::now().timestamp());
    if skew > state.generic_tolerance_secs {
        return Err(signature_failure(
            SOURCE,
            format!(
                "Recete-Signature timestamp is {skew} s away from now; the tolerance is {} s",
                state.generic_tolerance_secs
            ),
        ));
    }
    let signed_prefix = format!("{}.", signature.timestamp);
    // One MAC per secret, compared with every `v1` entry (at most eight).
    let integration =
        verified_commerce(&state, SOURCE, &integration_id, IntegrationKind::Generic, MISMATCH, |secret| {
            matches_any(&hmac_sha256_parts(secret, &[signed_prefix.as_bytes(), &body]), &signature.macs)
        })
        .await?;
    charge_sender(&state, &charged, state.rate_limiter.integration_limit(integration.id)).await?;
    let event = generic::normalize(&body).map_err(|e| rejected(SOURCE, "invalid_body", e.into()))?;
    store_events(&state, &request_id, &body, &[(integration, event)]).await
}

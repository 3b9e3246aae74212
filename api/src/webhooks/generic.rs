//! `POST /webhooks/commerce/generic/{integration_id}`: our own signed order event format
//! (documented in `recete_shared::events::generic`).

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::Utc;
use recete_shared::crypto::verify_hmac_sha256;
use recete_shared::events::{EventSource, generic};
use recete_shared::integrations::{IntegrationKind, IntegrationLookup};

use super::signature::ReceteSignature;
use super::{commerce_integration, header, rejected, signature_failure, signed_by, store_events};
use crate::body::RawBody;
use crate::error::ApiError;
use crate::request_id::RequestId;
use crate::state::AppState;

const SOURCE: EventSource = EventSource::Generic;

pub async fn receive(
    State(state): State<AppState>,
    Path(integration_id): Path<String>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let integration = commerce_integration(&state, &integration_id, IntegrationKind::Generic).await?;
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
    let lookup = IntegrationLookup::Id(integration.id);
    let integration = signed_by(&state, &lookup, integration, |secret| {
        signature.macs.iter().any(|mac| verify_hmac_sha256(secret, &[signed_prefix.as_bytes(), &body], mac))
    })
    .await?
    .ok_or_else(|| signature_failure(SOURCE, "Recete-Signature does not match the body"))?;
    let event = generic::normalize(&body).map_err(|e| rejected(SOURCE, "invalid_body", e.into()))?;
    store_events(&state, &request_id, &body, &[(integration, event)]).await
}

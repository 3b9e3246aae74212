//! `POST /api/conversations/{id}/messages`: a person's reply to the customer, free-form text while
//! the customer's 24-hour window is open, an approved template at any time. The reply is queued
//! for the messages pool, which sends it exactly once; its status moves in the thread.
//!
//! With an `Idempotency-Key` header the same key sends once and answers the first answer again
//! (`Idempotent-Replayed: true`); the same key with another body is a 422.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use recete_platform::crypto::sha256;
use recete_shared::conversations::replies::{self, NewReply, QueuedReply, ReplyContent, TemplateReply};
use recete_shared::idempotency::{self, Claim};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::json_body::JsonBody;
use crate::auth::Merchant;
use crate::error::ApiError;
use crate::extract::Path;
use crate::state::AppState;
use crate::tenant_tx::TenantTx;

pub use recete_shared::conversations::replies::{MAX_PARAMETER_CHARS, MAX_TEXT_CHARS};
const MAX_TEMPLATE_NAME_CHARS: usize = 512;
const MAX_PARAMETERS: usize = 20;
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Either `text` or `template`.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    /// Free-form text (at most 4096 characters); only while the customer's window is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// An approved template; the only reply allowed once the window has closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateReply>,
}

/// Sends a reply to the customer as the merchant.
#[utoipa::path(
    post,
    path = "/api/conversations/{conversation_id}/messages",
    tag = "conversations",
    params(
        ("conversation_id" = Uuid, Path, description = "The conversation."),
        ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
         description = "Up to 255 visible ASCII characters; a repeat with the same key sends nothing and \
                        answers the first answer (kept 24 hours)."),
    ),
    request_body = ReplyRequest,
    responses(
        (status = 202, description = "Queued: the messages pool sends it; follow its status in the thread.",
         body = QueuedReply),
        (status = 409, description = "A text after the customer's 24-hour window closed (the detail says when; \
                                      send a template), a closed conversation, or a template to a customer who \
                                      opted out.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reply(
    State(state): State<AppState>,
    merchant: Merchant,
    mut tenant: TenantTx,
    Path(conversation_id): Path<Uuid>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<ReplyRequest>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let request_hash = sha256(&serde_json::to_vec(&request).map_err(|error| ApiError::Internal(error.into()))?);
    let content = content(request)?;
    let route = format!("POST /api/conversations/{conversation_id}/messages");
    let tx = tenant.begin().await?;
    if let Some(key) = key {
        match idempotency::claim(tx, merchant.merchant_id, &route, key, &request_hash).await? {
            Claim::New => {}
            Claim::Replay { status, body } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::ACCEPTED);
                let mut response = (status, Json(body)).into_response();
                response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
                return Ok(response);
            }
            Claim::Mismatch => {
                return Err(ApiError::InvalidField {
                    field: "Idempotency-Key".into(),
                    detail: "was already used with another request body; use a new key for a new reply".into(),
                });
            }
        }
    }
    let author = recete_shared::conversations::author::merchant(merchant.api_key_id);
    let actor = format!("api-key:{}", merchant.api_key_id);
    let reply =
        NewReply { merchant: merchant.merchant_id, conversation_id, author: &author, actor: &actor, content: &content };
    let queued = replies::send(tx, &state.keyring, &reply).await?;
    let body = serde_json::to_value(&queued).map_err(|error| ApiError::Internal(error.into()))?;
    if let Some(key) = key {
        idempotency::record(tx, merchant.merchant_id, &route, key, StatusCode::ACCEPTED.as_u16(), &body).await?;
    }
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if idempotency::is_valid_key(key) => Ok(Some(key)),
        _ => Err(ApiError::InvalidField {
            field: "Idempotency-Key".into(),
            detail: format!("must be 1 to {} visible ASCII characters", idempotency::MAX_KEY_CHARS),
        }),
    }
}

fn invalid(field: impl Into<String>, detail: impl Into<String>) -> ApiError {
    ApiError::InvalidField { field: field.into(), detail: detail.into() }
}

/// The reply the request asks for, each field checked as WhatsApp would.
fn content(request: ReplyRequest) -> Result<ReplyContent, ApiError> {
    match (request.text, request.template) {
        (Some(_), Some(_)) => Err(invalid("template", "send either `text` or `template`, not both")),
        (None, None) => Err(invalid("text", "is required (or send `template`)")),
        (Some(text), None) => {
            if text.trim().is_empty() {
                return Err(invalid("text", "must not be empty"));
            }
            if text.chars().count() > MAX_TEXT_CHARS {
                return Err(invalid("text", format!("must be at most {MAX_TEXT_CHARS} characters")));
            }
            Ok(ReplyContent::Text(text))
        }
        (None, Some(template)) => {
            let name_ok = !template.name.is_empty()
                && template.name.len() <= MAX_TEMPLATE_NAME_CHARS
                && template.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !name_ok {
                return Err(invalid(
                    "template.name",
                    "must be the approved template's name: lowercase letters, digits and underscores",
                ));
            }
            let language_ok = (2..=15).contains(&template.language.len())
                && template.language.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'-');
            if !language_ok {
                return Err(invalid("template.language", "must be a language code such as `en` or `en_US`"));
            }
            if template.parameters.len() > MAX_PARAMETERS {
                return Err(invalid("template.parameters", format!("at most {MAX_PARAMETERS} parameters")));
            }
            for (index, parameter) in template.parameters.iter().enumerate() {
                if parameter.trim().is_empty() || parameter.chars().count() > MAX_PARAMETER_CHARS {
                    return Err(invalid(
                        format!("template.parameters[{index}]"),
                        format!("must be 1 to {MAX_PARAMETER_CHARS} characters"),
                    ));
                }
            }
            Ok(ReplyContent::Template(template))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(name: &str, language: &str, parameters: &[&str]) -> Option<TemplateReply> {
        Some(TemplateReply {
            name: name.into(),
            language: language.into(),
            parameters: parameters.iter().map(|p| (*p).to_owned()).collect(),
        })
    }

    #[test]
    fn a_reply_is_a_text_or_a_template_and_bad_parts_are_named() {
        let cases: [(Option<&str>, Option<TemplateReply>, Option<&str>); 8] = [
            (Some("We are on it"), None, None),
            (None, template("order_update", "en_US", &["Ada"]), None),
            (Some("hi"), template("order_update", "en", &[]), Some("template")),
            (None, None, Some("text")),
            (Some("   "), None, Some("text")),
            (None, template("Order Update", "en", &[]), Some("template.name")),
            (None, template("order_update", "e", &[]), Some("template.language")),
            (None, template("order_update", "en", &["ok", " "]), Some("template.parameters[1]")),
        ];
        for (text, template, field) in cases {
            let request = ReplyRequest { text: text.map(str::to_owned), template };
            match (content(request), field) {
                (Ok(_), None) => {}
                (Err(ApiError::InvalidField { field: got, .. }), Some(expected)) => assert_eq!(got, expected),
                (other, expected) => panic!("{text:?}: expected {expected:?}, got {:?}", other.map(|_| ())),
            }
        }
        let long = ReplyRequest { text: Some("a".repeat(MAX_TEXT_CHARS + 1)), template: None };
        assert!(matches!(content(long), Err(ApiError::InvalidField { field, .. }) if field == "text"));
    }
}

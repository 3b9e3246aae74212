//! The body a merchant's endpoint receives for an event:
//! `{"type": "...", "timestamp": "<when it happened>", "data": {...}}`, the envelope Standard
//! Webhooks recommends. `data` is the stored payload with, where the event names a customer,
//! `customer: {id, name, phone}` (phone masked), and for the conversation events the customer's
//! words: `question` (handed over) or `text` (message received), when the message has text.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{EventType, StoredEvent};
use crate::customers::{self, MaskedContact};
use crate::message_bodies;
use recete_platform::crypto::Keyring;
use recete_platform::db::Tx;
use recete_platform::ids::{CustomerId, MerchantId};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Customer(#[from] customers::UpsertError),
    #[error("{0}")]
    Body(#[from] message_bodies::BodyError),
    #[error("the stored event cannot be written as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The envelope every delivery carries (documented for the OpenAPI schemas; `data` is one of
/// the event payloads with the additions above).
#[derive(Debug, Serialize, ToSchema)]
pub struct EventEnvelope {
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When the event happened (RFC 3339).
    pub timestamp: DateTime<Utc>,
    pub data: Value,
}

/// Renders `event` as of now; `tx` must see the event's merchant.
pub async fn render(tx: &mut Tx, keyring: &Keyring, event: &StoredEvent) -> Result<Vec<u8>, RenderError> {
    let mut data = event.payload.clone();
    let merchant = event.merchant_id;
    if let Some(customer) = uuid_field(&data, "customer_id") {
        let contact = customers::masked_contact(tx, keyring, merchant, CustomerId::from_uuid(customer)).await?;
        let contact = contact.unwrap_or(MaskedContact { id: customer, name: None, phone: None });
        data["customer"] = serde_json::to_value(contact)?;
    }
    let words_field = match event.event_type.as_str() {
        "conversation.handed_over" => Some("question"),
        "conversation.message_received" => Some("text"),
        _ => None,
    };
    if let (Some(field), Some(message)) = (words_field, uuid_field(&data, "message_id")) {
        data[field] = json!(message_text(tx, keyring, merchant, message).await?);
    }
    let body = json!({
        "type": event.event_type,
        "timestamp": event.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": data,
    });
    Ok(serde_json::to_vec(&body)?)
}

fn uuid_field(data: &Value, field: &str) -> Option<Uuid> {
    data.get(field).and_then(Value::as_str).and_then(|text| Uuid::parse_str(text).ok())
}

async fn message_text(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    message: Uuid,
) -> Result<Option<String>, RenderError> {
    let row: Option<(Option<String>, Option<Vec<u8>>)> =
        sqlx::query_as("SELECT pii_key_id, body_sealed FROM messages WHERE id = $1")
            .bind(message)
            .fetch_optional(&mut **tx)
            .await?;
    let Some((key_id, sealed)) = row else {
        return Ok(None);
    };
    Ok(message_bodies::open(keyring, merchant, key_id.as_deref(), sealed.as_deref())?)
}

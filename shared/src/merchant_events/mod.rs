//! `merchant_events`: what happened that a merchant's own systems want to know, written in the
//! same transaction as the change that caused it, so an event exists exactly when its change
//! committed. Outbound webhooks fan each event out to the merchant's endpoints ([`raise`] does
//! it at once, in that transaction); a live stream can read the same rows in id order.
//!
//! A stored payload holds ids and non-sensitive fields only. [`render`] turns an event into the
//! body the merchant receives, adding what opens from sealed rows at that moment: the customer's
//! masked phone and name, and the text of the customer's message for the two conversation
//! events. An erased customer's events render without them.
//!
//! # Layout
//! - this file: the event types, their stored payloads (with their OpenAPI schemas) and [`raise`].
//! - [`render`]: the body an endpoint receives.
//! - [`stream`]: what the live event stream reads, and the retention that prunes old events.
//! - [`live`]: one live stream, as the API's event stream and the console's inbox serve it.
//! - [`wakeups`]: one `LISTEN` connection per API process waking the streams of a merchant.

pub mod event_type;
pub mod live;
pub mod render;
pub mod stream;
pub mod wakeups;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use recete_platform::db::Tx;
use recete_platform::ids::MerchantId;

pub use event_type::EventType;

/// Why the agent blocked its own answer, when a guardrail did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GuardrailHit {
    /// The rule that fired (`unsupported_claim`, `price_promise`...).
    pub rule: String,
}

/// `conversation.handed_over`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HandedOver {
    pub conversation_id: Uuid,
    pub customer_id: Uuid,
    /// The customer's message the agent could not answer; its text is the body's `question`.
    pub message_id: Uuid,
    /// Why the agent handed over, in words.
    pub reason: String,
    pub guardrail: Option<GuardrailHit>,
}

/// `conversation.message_received`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MessageReceived {
    pub conversation_id: Uuid,
    pub customer_id: Uuid,
    pub message_id: Uuid,
    /// `text`, or the kind of a media message (`image`, `document`, `audio`, `location`...).
    pub message_type: String,
    pub received_at: DateTime<Utc>,
}

/// `customer.opted_out`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OptedOut {
    pub customer_id: Uuid,
    /// Where the opt-out came from: `whatsapp:STOP`, `whatsapp:button`, `whatsapp:131050`,
    /// `shopify:sms_marketing_consent`, `api`...
    pub source: String,
    pub opted_out_at: DateTime<Utc>,
}

/// `message.failed`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MessageFailed {
    pub message_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub conversation_id: Option<Uuid>,
    /// Meta's error code (`131026`, `131050`...), when Meta gave one.
    pub code: Option<String>,
    /// What the code means, in words.
    pub reason: Option<String>,
}

/// `import.completed`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImportCompleted {
    pub import_id: Uuid,
    /// `orders` or `products`.
    pub kind: String,
    /// `completed`, or `failed` when the file could not be imported (see `failure_reason`).
    pub status: String,
    pub total_rows: Option<i64>,
    pub imported: i64,
    pub skipped: i64,
    pub failed: i64,
    pub failure_reason: Option<String>,
}

/// `privacy_request.completed`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PrivacyRequestCompleted {
    pub privacy_request_id: Uuid,
    /// `export` or `erase`.
    pub kind: String,
    /// `customer` or `shop`.
    pub scope: String,
    /// `completed`, or `not_found` when nothing held matched.
    pub status: String,
    /// Where the request came from: `api` or `shopify`.
    pub channel: String,
}

/// An event with its stored payload.
#[derive(Debug, Clone, PartialEq)]
pub enum MerchantEvent {
    HandedOver(HandedOver),
    MessageReceived(MessageReceived),
    OptedOut(OptedOut),
    MessageFailed(MessageFailed),
    ImportCompleted(ImportCompleted),
    PrivacyRequestCompleted(PrivacyRequestCompleted),
}

impl MerchantEvent {
    pub fn event_type(&self) -> EventType {
        match self {
            Self::HandedOver(_) => EventType::ConversationHandedOver,
            Self::MessageReceived(_) => EventType::ConversationMessageReceived,
            Self::OptedOut(_) => EventType::CustomerOptedOut,
            Self::MessageFailed(_) => EventType::MessageFailed,
            Self::ImportCompleted(_) => EventType::ImportCompleted,
            Self::PrivacyRequestCompleted(_) => EventType::PrivacyRequestCompleted,
        }
    }

    fn payload(&self) -> serde_json::Result<serde_json::Value> {
        match self {
            Self::HandedOver(payload) => serde_json::to_value(payload),
            Self::MessageReceived(payload) => serde_json::to_value(payload),
            Self::OptedOut(payload) => serde_json::to_value(payload),
            Self::MessageFailed(payload) => serde_json::to_value(payload),
            Self::ImportCompleted(payload) => serde_json::to_value(payload),
            Self::PrivacyRequestCompleted(payload) => serde_json::to_value(payload),
        }
    }
}

/// Records `event` for `merchant` in `tx`, schedules its delivery to every enabled endpoint of
/// the merchant subscribed to its type, and notifies the live streams (a `NOTIFY` on
/// [`stream::CHANNEL`] that PostgreSQL sends only when `tx` commits). Returns the event's id.
pub async fn raise(tx: &mut Tx, merchant: MerchantId, event: &MerchantEvent) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    let payload = event.payload().map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    let kind = event.event_type();
    sqlx::query("INSERT INTO merchant_events (id, merchant_id, type, payload) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(merchant)
        .bind(kind.as_str())
        .bind(payload)
        .execute(&mut **tx)
        .await?;
    crate::webhooks::deliveries::fan_out(tx, merchant, id, kind).await?;
    stream::notify(tx, merchant).await?;
    metrics::counter!("recete_merchant_events_total", "type" => kind.as_str()).increment(1);
    Ok(id)
}

/// A stored event, as delivery and the event stream read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredEvent {
    pub id: Uuid,
    pub merchant_id: MerchantId,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

pub async fn find(tx: &mut Tx, id: Uuid) -> sqlx::Result<Option<StoredEvent>> {
    sqlx::query_as("SELECT id, merchant_id, type, payload, created_at FROM merchant_events WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_read_back_from_their_names() {
        for kind in EventType::ALL {
            assert_eq!(kind.as_str().parse::<EventType>(), Ok(*kind));
            assert_eq!(serde_json::to_value(kind).expect("serializes"), serde_json::json!(kind.as_str()));
        }
        let error = "order.created".parse::<EventType>().expect_err("unknown");
        assert!(error.contains("order.created") && error.contains("customer.opted_out"), "{error}");
    }
}

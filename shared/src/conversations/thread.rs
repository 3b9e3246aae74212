//! A conversation's messages as the merchant reads them: oldest first, bodies opened, who wrote
//! each (`customer`, `agent`, `system`, `merchant:<key id>` or `user:<console user id>`), and
//! where an outbound message stands (`queued`, `sending`, `sent`, `delivered`, `read`, `failed`,
//! `skipped`) with Meta's error when it failed.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::FromRow;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ConversationError;
use crate::message_bodies;
use recete_platform::crypto::Keyring;
use recete_platform::db::Tx;
use recete_platform::ids::MerchantId;

/// The most messages a thread shows: the latest ones.
pub const THREAD_LIMIT: i64 = 500;

#[derive(FromRow)]
struct MessageRow {
    id: Uuid,
    direction: String,
    author: String,
    kind: String,
    pii_key_id: Option<String>,
    body_sealed: Option<Vec<u8>>,
    template_name: Option<String>,
    status: String,
    status_at: Option<DateTime<Utc>>,
    error_code: Option<String>,
    error_reason: Option<String>,
    created_at: DateTime<Utc>,
    metadata: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationMessage {
    pub id: Uuid,
    /// inbound (from the customer) or outbound (from the shop).
    pub direction: String,
    /// `customer`, `agent`, `system` (follow-ups, confirmations), `merchant:<API key id>` or
    /// `user:<console user id>` (a person replying in the console).
    pub author: String,
    /// `text`, `template`, or what a customer sent instead of text: `image`, `document`, `audio`,
    /// `video`, `sticker`, `location` (`other` for anything else).
    pub kind: String,
    /// The text, or a media message's caption (a location's name and address).
    pub text: Option<String>,
    pub template_name: Option<String>,
    /// `received` for the customer's messages; for ours `queued`, `sending`, `sent`,
    /// `delivered`, `read`, `failed` or `skipped`.
    pub status: String,
    pub status_at: Option<DateTime<Utc>>,
    /// Meta's error code when the message failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Why it failed or was skipped, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    /// For the agent's answers: the intent it saw, how it answered, the chunks it cited and
    /// the guardrail verdict when an answer was blocked.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub agent: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub intent: Option<Value>,
}

/// The latest [`THREAD_LIMIT`] messages of a conversation, oldest first, decrypted.
pub async fn messages(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    conversation_id: Uuid,
) -> Result<Vec<ConversationMessage>, ConversationError> {
    let rows: Vec<MessageRow> = sqlx::query_as(
        "SELECT * FROM (
             SELECT id, direction, author, kind, pii_key_id, body_sealed, template_name, status, status_at, error_code,
                    error_reason, created_at, metadata
             FROM messages WHERE conversation_id = $1
             ORDER BY created_at DESC, id DESC
             LIMIT $2
         ) latest ORDER BY created_at, id",
    )
    .bind(conversation_id)
    .bind(THREAD_LIMIT)
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter()
        .map(|row| {
            let text = message_bodies::open(keyring, merchant, row.pii_key_id.as_deref(), row.body_sealed.as_deref())?;
            Ok(ConversationMessage {
                id: row.id,
                direction: row.direction,
                author: row.author,
                kind: row.kind,
                text,
                template_name: row.template_name,
                status: row.status,
                status_at: row.status_at,
                error_code: row.error_code,
                error_reason: row.error_reason,
                created_at: row.created_at,
                agent: row.metadata.get("agent").cloned(),
                intent: row.metadata.get("intent").cloned(),
            })
        })
        .collect()
}

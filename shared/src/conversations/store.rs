//! The `conversations` rows: the merchant's list, one conversation, and the two hand-over moves a
//! merchant makes (taking a conversation over from the agent, handing it back by resolving it).
//! Every function runs in the merchant's own transaction, so another merchant's id is not found.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::FromRow;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ConversationError;
use crate::audit::{self, AuditEntry};
use recete_platform::db::Tx;
use recete_platform::ids::{CustomerId, MerchantId};

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ConversationState {
    /// The agent answers.
    Open,
    /// A person answers; the agent stays quiet until the hand-over is resolved.
    HandedOver,
    Closed,
}

impl ConversationState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::HandedOver => "handed_over",
            Self::Closed => "closed",
        }
    }
}

#[derive(Debug, Serialize, FromRow, ToSchema)]
pub struct ConversationSummary {
    pub id: Uuid,
    pub state: ConversationState,
    pub handed_over: bool,
    /// Why the agent handed over, or that the merchant took the conversation over.
    pub handover_reason: Option<String>,
    pub last_message_at: Option<DateTime<Utc>>,
    /// Until when free-form text may be sent; after it, only an approved template.
    pub window_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const SUMMARY: &str = "SELECT id, state, state = 'handed_over' AS handed_over, handover_reason, last_message_at,
        window_expires_at, created_at
     FROM conversations";

/// One page of conversations, newest activity first, strictly after the cursor `after`.
pub async fn list(
    tx: &mut Tx,
    state: Option<ConversationState>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<ConversationSummary>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SUMMARY}
         WHERE ($1::text IS NULL OR state = $1)
           AND ($2::timestamptz IS NULL OR (coalesce(last_message_at, created_at), id) < ($2, $3))
         ORDER BY coalesce(last_message_at, created_at) DESC, id DESC
         LIMIT $4"
    ))
    .bind(state)
    .bind(after.map(|(at, _)| at))
    .bind(after.map(|(_, id)| id))
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

pub async fn find(tx: &mut Tx, conversation_id: Uuid) -> Result<ConversationSummary, ConversationError> {
    sqlx::query_as(&format!("{SUMMARY} WHERE id = $1"))
        .bind(conversation_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(ConversationError::NotFound(conversation_id))
}

/// The conversation, locked until the transaction ends: hand-over moves and replies to one
/// conversation happen one after the other, and after any answer the agent is writing.
pub async fn lock(tx: &mut Tx, conversation_id: Uuid) -> Result<ConversationSummary, ConversationError> {
    sqlx::query_as(&format!("{SUMMARY} WHERE id = $1 FOR UPDATE"))
        .bind(conversation_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(ConversationError::NotFound(conversation_id))
}

/// Hands a handed-over conversation back to the agent, which answers the next message again.
pub async fn resolve(
    tx: &mut Tx,
    merchant: MerchantId,
    conversation_id: Uuid,
    actor: &str,
) -> Result<ConversationSummary, ConversationError> {
    let current = lock(tx, conversation_id).await?;
    if current.state != ConversationState::HandedOver {
        return Err(ConversationError::Conflict(format!(
            "conversation {conversation_id} is {}, not handed over to a person",
            current.state.as_str()
        )));
    }
    sqlx::query("UPDATE conversations SET state = 'open', resolved_at = now() WHERE id = $1")
        .bind(conversation_id)
        .execute(&mut **tx)
        .await?;
    let before = json!({ "state": "handed_over", "reason": current.handover_reason });
    record(tx, merchant, conversation_id, actor, "conversation.handover_resolved", before, json!({ "state": "open" }))
        .await?;
    find(tx, conversation_id).await
}

/// The reason a conversation taken over by the merchant shows.
pub const TAKEN_OVER: &str = "taken over by the merchant";

/// A person takes an open conversation from the agent before it hands over: the agent stays
/// silent exactly as after its own hand-over, until the merchant resolves it.
pub async fn take_over(
    tx: &mut Tx,
    merchant: MerchantId,
    conversation_id: Uuid,
    actor: &str,
) -> Result<ConversationSummary, ConversationError> {
    let current = lock(tx, conversation_id).await?;
    if current.state != ConversationState::Open {
        let why = match current.state {
            ConversationState::HandedOver => "already with a person",
            _ => "closed",
        };
        return Err(ConversationError::Conflict(format!("conversation {conversation_id} is {why}")));
    }
    hand_over(tx, conversation_id, TAKEN_OVER).await?;
    let after = json!({ "state": "handed_over", "reason": TAKEN_OVER });
    record(tx, merchant, conversation_id, actor, "conversation.taken_over", json!({ "state": "open" }), after).await?;
    find(tx, conversation_id).await
}

/// Hands the conversation to a person, with the reason the merchant sees; the agent stays silent
/// until the merchant resolves it.
pub async fn hand_over(tx: &mut Tx, conversation_id: Uuid, reason: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE conversations SET state = 'handed_over', handed_over_at = now(), handover_reason = $2, resolved_at = NULL
         WHERE id = $1",
    )
    .bind(conversation_id)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The customer's conversation that is not closed, or a new one.
pub async fn open_for_customer(tx: &mut Tx, merchant: MerchantId, customer: CustomerId) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "WITH existing AS (
             SELECT id FROM conversations WHERE customer_id = $2 AND state <> 'closed' ORDER BY created_at DESC LIMIT 1
         ), created AS (
             INSERT INTO conversations (id, merchant_id, customer_id)
             SELECT $1, $3, $2 WHERE NOT EXISTS (SELECT 1 FROM existing)
             RETURNING id
         )
         SELECT id FROM existing UNION ALL SELECT id FROM created",
    )
    .bind(Uuid::now_v7())
    .bind(customer)
    .bind(merchant)
    .fetch_one(&mut **tx)
    .await
}

/// The customer wrote at `at`: the conversation's last message moves up to it, and its 24-hour
/// service window runs until a day after it (neither ever moves back).
pub async fn customer_wrote(tx: &mut Tx, conversation_id: Uuid, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE conversations SET last_message_at = greatest(coalesce(last_message_at, $2), $2),
             window_expires_at = greatest(coalesce(window_expires_at, $3), $3)
         WHERE id = $1",
    )
    .bind(conversation_id)
    .bind(at)
    .bind(at + chrono::Duration::hours(24))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether a conversation of the customer's has its service window open for at least another
/// minute: free-form text may be sent.
pub async fn window_open(tx: &mut Tx, customer: CustomerId) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM conversations WHERE customer_id = $1 AND window_expires_at > now() + interval '1 minute')",
    )
    .bind(customer)
    .fetch_one(&mut **tx)
    .await
}

async fn record(
    tx: &mut Tx,
    merchant: MerchantId,
    conversation_id: Uuid,
    actor: &str,
    action: &'static str,
    before: serde_json::Value,
    after: serde_json::Value,
) -> Result<(), sqlx::Error> {
    audit::record(
        tx,
        AuditEntry {
            merchant_id: Some(merchant),
            actor,
            action,
            subject_type: "conversation",
            subject_id: conversation_id.to_string(),
            event_id: None,
            before: Some(before),
            after: Some(after),
        },
    )
    .await
}

//! The merchant's view of WhatsApp conversations: the list (newest first), each conversation's
//! messages with what the agent cited and any guardrail verdict, and closing a hand-over.

use axum::Json;
use axum::extract::{Path, Query, State};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use recete_shared::audit::{self, AuditEntry};
use recete_shared::{db, message_bodies};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::FromRow;
use uuid::Uuid;

use crate::auth::Merchant;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// open, handed_over or closed.
    state: Option<String>,
}

#[derive(Serialize, FromRow)]
pub struct ConversationSummary {
    id: Uuid,
    state: String,
    handed_over: bool,
    handover_reason: Option<String>,
    last_message_at: Option<DateTime<Utc>>,
    window_expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

#[derive(Serialize)]
pub struct ConversationList {
    conversations: Vec<ConversationSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    merchant: Merchant,
    Query(query): Query<ListQuery>,
) -> Result<Json<ConversationList>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::InvalidField { field: "limit".into(), detail: "must be between 1 and 200".into() });
    }
    if let Some(wanted) = &query.state
        && !["open", "handed_over", "closed"].contains(&wanted.as_str())
    {
        return Err(ApiError::InvalidField {
            field: "state".into(),
            detail: "must be open, handed_over or closed".into(),
        });
    }
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut tx = db::tenant_tx(&state.pool, merchant.merchant_id).await.map_err(ApiError::from_database)?;
    let mut conversations: Vec<ConversationSummary> = sqlx::query_as(
        "SELECT id, state, state = 'handed_over' AS handed_over, handover_reason, last_message_at, window_expires_at,
                created_at
         FROM conversations
         WHERE ($1::text IS NULL OR state = $1)
           AND ($2::timestamptz IS NULL
                OR (coalesce(last_message_at, created_at), id) < ($2, $3))
         ORDER BY coalesce(last_message_at, created_at) DESC, id DESC
         LIMIT $4",
    )
    .bind(&query.state)
    .bind(after.map(|(at, _)| at))
    .bind(after.map(|(_, id)| id))
    .bind(limit + 1)
    .fetch_all(&mut *tx)
    .await
    .map_err(ApiError::from_database)?;
    tx.commit().await.map_err(ApiError::from_database)?;
    let next_cursor = if conversations.len() as i64 > limit {
        conversations.truncate(limit as usize);
        conversations.last().map(|last| encode_cursor(last.last_message_at.unwrap_or(last.created_at), last.id))
    } else {
        None
    };
    Ok(Json(ConversationList { conversations, next_cursor }))
}

fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", at.to_rfc3339()))
}

fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let invalid =
        || ApiError::InvalidField { field: "cursor".into(), detail: "is not a cursor this API returned".into() };
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (at, id) = text.split_once('|').ok_or_else(invalid)?;
    let at = DateTime::parse_from_rfc3339(at).map_err(|_| invalid())?.with_timezone(&Utc);
    Ok((at, Uuid::parse_str(id).map_err(|_| invalid())?))
}

#[derive(FromRow)]
struct MessageRow {
    id: Uuid,
    direction: String,
    kind: String,
    pii_key_id: Option<String>,
    body_sealed: Option<Vec<u8>>,
    template_name: Option<String>,
    status: String,
    status_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    metadata: Value,
}

#[derive(Serialize)]
pub struct ConversationMessage {
    id: Uuid,
    /// inbound (from the customer) or outbound (from the shop).
    direction: String,
    kind: String,
    text: Option<String>,
    template_name: Option<String>,
    status: String,
    status_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    /// For the agent's answers: the intent it saw, how it answered, the chunks it cited and
    /// the guardrail verdict when an answer was blocked.
    #[serde(skip_serializing_if = "Option::is_none")]
    agent: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    intent: Option<Value>,
}

#[derive(Serialize)]
pub struct MessageList {
    conversation: ConversationSummary,
    messages: Vec<ConversationMessage>,
}

pub async fn messages(
    State(state): State<AppState>,
    merchant: Merchant,
    Path(conversation_id): Path<Uuid>,
) -> Result<Json<MessageList>, ApiError> {
    let mut tx = db::tenant_tx(&state.pool, merchant.merchant_id).await.map_err(ApiError::from_database)?;
    let conversation = find(&mut tx, conversation_id).await?;
    let rows: Vec<MessageRow> = sqlx::query_as(
        "SELECT id, direction, kind, pii_key_id, body_sealed, template_name, status, status_at, created_at, metadata
         FROM messages WHERE conversation_id = $1
         ORDER BY created_at, id
         LIMIT 500",
    )
    .bind(conversation_id)
    .fetch_all(&mut *tx)
    .await
    .map_err(ApiError::from_database)?;
    tx.commit().await.map_err(ApiError::from_database)?;
    let mut messages = Vec::with_capacity(rows.len());
    for row in rows {
        let text = message_bodies::open(
            &state.keyring,
            merchant.merchant_id,
            row.pii_key_id.as_deref(),
            row.body_sealed.as_deref(),
        )
        .map_err(|error| ApiError::Internal(error.into()))?;
        messages.push(ConversationMessage {
            id: row.id,
            direction: row.direction,
            kind: row.kind,
            text,
            template_name: row.template_name,
            status: row.status,
            status_at: row.status_at,
            created_at: row.created_at,
            agent: row.metadata.get("agent").cloned(),
            intent: row.metadata.get("intent").cloned(),
        });
    }
    Ok(Json(MessageList { conversation, messages }))
}

async fn find(tx: &mut db::Tx, conversation_id: Uuid) -> Result<ConversationSummary, ApiError> {
    sqlx::query_as(
        "SELECT id, state, state = 'handed_over' AS handed_over, handover_reason, last_message_at, window_expires_at,
                created_at
         FROM conversations WHERE id = $1",
    )
    .bind(conversation_id)
    .fetch_optional(&mut **tx)
    .await
    .map_err(ApiError::from_database)?
    .ok_or_else(|| ApiError::NotFound(format!("no conversation {conversation_id}")))
}

/// Closes the hand-over: the agent answers this customer's messages again.
pub async fn resolve(
    State(state): State<AppState>,
    merchant: Merchant,
    Path(conversation_id): Path<Uuid>,
) -> Result<Json<ConversationSummary>, ApiError> {
    let mut tx = db::tenant_tx(&state.pool, merchant.merchant_id).await.map_err(ApiError::from_database)?;
    let current = find(&mut tx, conversation_id).await?;
    if current.state != "handed_over" {
        return Err(ApiError::Conflict(format!(
            "conversation {conversation_id} is {}, not handed over to a person",
            current.state
        )));
    }
    sqlx::query("UPDATE conversations SET state = 'open', resolved_at = now() WHERE id = $1")
        .bind(conversation_id)
        .execute(&mut *tx)
        .await
        .map_err(ApiError::from_database)?;
    let actor = format!("api-key:{}", merchant.api_key_id);
    audit::record(
        &mut tx,
        AuditEntry {
            merchant_id: Some(merchant.merchant_id),
            actor: &actor,
            action: "conversation.handover_resolved",
            subject_type: "conversation",
            subject_id: conversation_id.to_string(),
            event_id: None,
            before: Some(json!({ "state": "handed_over", "reason": current.handover_reason })),
            after: Some(json!({ "state": "open" })),
        },
    )
    .await
    .map_err(ApiError::from_database)?;
    let resolved = find(&mut tx, conversation_id).await?;
    tx.commit().await.map_err(ApiError::from_database)?;
    Ok(Json(resolved))
}

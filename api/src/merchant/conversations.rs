//! The merchant's view of WhatsApp conversations: the list (newest first), each conversation's
//! messages with what the agent cited and any guardrail verdict, and closing a hand-over.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use recete_shared::audit::{self, AuditEntry};
use recete_shared::{db, message_bodies};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::pagination;
use crate::auth::Merchant;
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::state::AppState;

/// The conversation routes, with their part of the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(messages)).routes(routes!(resolve))
}

/// Where a conversation stands.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ConversationState {
    /// The agent answers.
    Open,
    /// A person answers; the agent stays quiet until the hand-over is resolved.
    HandedOver,
    Closed,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    state: Option<ConversationState>,
}

#[derive(Serialize, FromRow, ToSchema)]
pub struct ConversationSummary {
    id: Uuid,
    state: ConversationState,
    handed_over: bool,
    handover_reason: Option<String>,
    last_message_at: Option<DateTime<Utc>>,
    window_expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct ConversationList {
    conversations: Vec<ConversationSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<String>,
}

/// Conversations, newest activity first.
#[utoipa::path(
    get,
    path = "/api/conversations",
    tag = "conversations",
    params(ListQuery),
    responses((status = 200, description = "One page of conversations.", body = ConversationList))
)]
pub async fn list(
    State(state): State<AppState>,
    merchant: Merchant,
    Query(query): Query<ListQuery>,
) -> Result<Json<ConversationList>, ApiError> {
    let limit = pagination::limit(query.limit)?;
    let after = pagination::after(query.cursor.as_deref())?;
    let mut tx = merchant.transaction(&state.pool).await?;
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
    .bind(query.state)
    .bind(after.map(|(at, _)| at))
    .bind(after.map(|(_, id)| id))
    .bind(limit + 1)
    .fetch_all(&mut *tx)
    .await
    .map_err(ApiError::from_database)?;
    crate::auth::commit(tx).await?;
    let next_cursor = pagination::finish_page(&mut conversations, limit, |last| {
        (last.last_message_at.unwrap_or(last.created_at), last.id)
    });
    Ok(Json(ConversationList { conversations, next_cursor }))
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

#[derive(Serialize, ToSchema)]
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
    #[schema(value_type = Option<Object>)]
    agent: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    intent: Option<Value>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = ConversationMessages)]
pub struct MessageList {
    conversation: ConversationSummary,
    messages: Vec<ConversationMessage>,
}

/// A conversation and its messages, oldest first (the latest 500), decrypted.
#[utoipa::path(
    get,
    path = "/api/conversations/{conversation_id}/messages",
    tag = "conversations",
    params(("conversation_id" = Uuid, Path, description = "The conversation.")),
    responses((status = 200, description = "The conversation and its messages.", body = MessageList))
)]
pub async fn messages(
    State(state): State<AppState>,
    merchant: Merchant,
    Path(conversation_id): Path<Uuid>,
) -> Result<Json<MessageList>, ApiError> {
    let mut tx = merchant.transaction(&state.pool).await?;
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
    crate::auth::commit(tx).await?;
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
#[utoipa::path(
    post,
    path = "/api/conversations/{conversation_id}/resolve",
    tag = "conversations",
    params(("conversation_id" = Uuid, Path, description = "The conversation.")),
    responses(
        (status = 200, description = "Open again.", body = ConversationSummary),
        (status = 409, description = "The conversation is not handed over.", body = crate::error::Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn resolve(
    State(state): State<AppState>,
    merchant: Merchant,
    Path(conversation_id): Path<Uuid>,
) -> Result<Json<ConversationSummary>, ApiError> {
    let mut tx = merchant.transaction(&state.pool).await?;
    let current = find(&mut tx, conversation_id).await?;
    if current.state != ConversationState::HandedOver {
        let state =
            serde_json::to_value(current.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        return Err(ApiError::Conflict(format!(
            "conversation {conversation_id} is {state}, not handed over to a person"
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
    crate::auth::commit(tx).await?;
    Ok(Json(resolved))
}

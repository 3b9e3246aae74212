//! `GET /api/messages?order_id=`: every planned message of an order (or the latest ones), with
//! its planned time, sent time, status and the reason it was deferred, skipped or failed.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::pagination;
use crate::auth::Merchant;
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;

/// The message routes, with their part of the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// Our order id, or the store's own order id.
    order_id: Option<String>,
    /// How many, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

#[derive(Serialize, FromRow, ToSchema)]
pub struct PlannedMessage {
    task_id: Uuid,
    kind: String,
    step: Option<String>,
    order_id: Option<Uuid>,
    external_order_id: Option<String>,
    /// pending, done, cancelled, failed (retrying) or dead.
    state: String,
    planned_at: DateTime<Utc>,
    /// Why it was deferred, skipped or failed, in words.
    reason: Option<String>,
    message_id: Option<Uuid>,
    /// sending, sent, delivered, read or failed, once a send was attempted.
    message_status: Option<String>,
    template_name: Option<String>,
    sent_at: Option<DateTime<Utc>>,
    status_at: Option<DateTime<Utc>>,
    error_code: Option<String>,
    error_reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = PlannedMessageList)]
pub struct MessageList {
    messages: Vec<PlannedMessage>,
}

/// Planned and sent follow-ups and replies, in planned order, for one order or overall.
#[utoipa::path(
    get,
    path = "/api/messages",
    tag = "messages",
    params(MessageQuery),
    responses((status = 200, description = "The planned messages.", body = MessageList))
)]
pub async fn list(
    State(state): State<AppState>,
    merchant: Merchant,
    Query(query): Query<MessageQuery>,
) -> Result<Json<MessageList>, ApiError> {
    let limit = pagination::limit(query.limit)?;
    let order_uuid = query.order_id.as_deref().and_then(|id| Uuid::parse_str(id).ok());
    let mut tx = merchant.transaction(&state.pool).await?;
    let messages: Vec<PlannedMessage> = sqlx::query_as(
        "SELECT t.id AS task_id, t.kind, t.step, t.order_id, o.external_order_id, t.state, t.due_at AS planned_at,
                t.status_reason AS reason, m.id AS message_id, m.status AS message_status, m.template_name, m.sent_at,
                m.status_at, m.error_code, m.error_reason
         FROM scheduled_tasks t
         LEFT JOIN orders o ON o.id = t.order_id
         LEFT JOIN messages m ON m.merchant_id = t.merchant_id AND m.idempotency_key = 'task:' || t.id::text
         WHERE t.kind IN ('follow_up', 'reply')
           AND ($1::text IS NULL OR t.order_id = $2 OR o.external_order_id = $1)
         ORDER BY t.due_at, t.id
         LIMIT $3",
    )
    .bind(&query.order_id)
    .bind(order_uuid)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await
    .map_err(ApiError::from_database)?;
    crate::auth::commit(tx).await?;
    if let Some(order_id) = &query.order_id
        && messages.is_empty()
    {
        let mut tx = merchant.transaction(&state.pool).await?;
        let known: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM orders WHERE id = $1 OR external_order_id = $2)")
                .bind(order_uuid)
                .bind(order_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(ApiError::from_database)?;
        if !known {
            return Err(ApiError::NotFound(format!("no order {order_id}")));
        }
    }
    Ok(Json(MessageList { messages }))
}

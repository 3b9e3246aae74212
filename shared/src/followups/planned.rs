//! Planned messages read back: each follow-up or reply task with its planned time and what became
//! of it (deferred with the reason, sent, delivered, read, replied to, failed with Meta's reason). The order
//! page's timeline and `GET /api/messages` both read them here.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;
use uuid::Uuid;

use recete_platform::db::Tx;

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct PlannedMessage {
    pub task_id: Uuid,
    pub kind: String,
    pub step: Option<String>,
    pub order_id: Option<Uuid>,
    pub external_order_id: Option<String>,
    /// pending, done, cancelled, failed (retrying) or dead.
    pub state: String,
    pub planned_at: DateTime<Utc>,
    /// Why it was deferred, skipped or failed, in words.
    pub reason: Option<String>,
    pub message_id: Option<Uuid>,
    /// sending, sent, delivered, read or failed, once a send was attempted.
    pub message_status: Option<String>,
    pub template_name: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub status_at: Option<DateTime<Utc>>,
    pub error_code: Option<String>,
    pub error_reason: Option<String>,
    /// When the customer first wrote to us after this message was sent.
    pub replied_at: Option<DateTime<Utc>>,
}

const SELECT_PLANNED: &str = "
    SELECT t.id AS task_id, t.kind, t.step, t.order_id, o.external_order_id, t.state, t.due_at AS planned_at,
           t.status_reason AS reason, m.id AS message_id, m.status AS message_status, m.template_name, m.sent_at,
           m.status_at, m.error_code, m.error_reason, reply.replied_at
    FROM scheduled_tasks t
    LEFT JOIN orders o ON o.id = t.order_id
    LEFT JOIN messages m ON m.merchant_id = t.merchant_id AND m.idempotency_key = 'task:' || t.id::text
    LEFT JOIN LATERAL (
        SELECT min(i.created_at) AS replied_at FROM messages i
        WHERE i.merchant_id = t.merchant_id AND i.customer_id = t.customer_id AND i.direction = 'inbound'
          AND m.sent_at IS NOT NULL AND i.created_at > m.sent_at
    ) reply ON true";

/// The follow-ups planned for one order, in planned order.
pub async fn follow_ups_of_order(tx: &mut Tx, order_id: Uuid) -> Result<Vec<PlannedMessage>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT_PLANNED}
         WHERE t.order_id = $1 AND t.kind = 'follow_up'
         ORDER BY t.due_at, t.id"
    ))
    .bind(order_id)
    .fetch_all(&mut **tx)
    .await
}

/// Up to `limit` follow-ups and replies in planned order, of the order whose id or store id is
/// `order` (when given) or overall.
pub async fn list(tx: &mut Tx, order: Option<&str>, limit: i64) -> Result<Vec<PlannedMessage>, sqlx::Error> {
    let order_uuid = order.and_then(|id| Uuid::parse_str(id).ok());
    sqlx::query_as(&format!(
        "{SELECT_PLANNED}
         WHERE t.kind IN ('follow_up', 'reply')
           AND ($1::text IS NULL OR t.order_id = $2 OR o.external_order_id = $1)
         ORDER BY t.due_at, t.id
         LIMIT $3"
    ))
    .bind(order)
    .bind(order_uuid)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

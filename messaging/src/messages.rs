//! The `messages` rows as the workers write and read them: an inbound message stored once, an
//! outbound one recorded before it is sent and moved by each send and each status Meta reports,
//! and what the agent reads of a conversation. Bodies are sealed (`recete_shared::message_bodies`).
//!
//! Every function runs in a transaction that sees the message's merchant (a system transaction
//! scoped with [`recete_platform::db::set_tenant`], or one before any scope for the rows a job reads first).

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use sqlx::postgres::types::PgInterval;
use uuid::Uuid;

use recete_platform::db::Tx;
use recete_platform::ids::{CustomerId, MerchantId, OrderId, TaskId};

/// The idempotency key of the message a task sends.
pub fn task_key(task_id: TaskId) -> String {
    format!("task:{task_id}")
}

/// A customer's message as the agent reads it.
#[derive(Debug, FromRow)]
pub struct Inbound {
    pub conversation_id: Option<Uuid>,
    pub customer_id: Option<CustomerId>,
    pub pii_key_id: Option<String>,
    pub body_sealed: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
}

/// The inbound message `message_id`, if there is one.
pub async fn find_inbound(tx: &mut Tx, message_id: Uuid) -> sqlx::Result<Option<Inbound>> {
    sqlx::query_as!(
        Inbound,
        r#"SELECT conversation_id, customer_id AS "customer_id: CustomerId", pii_key_id, body_sealed, created_at
           FROM messages
           WHERE id = $1 AND direction = 'inbound'"#,
        message_id
    )
    .fetch_optional(&mut **tx)
    .await
}

/// A message of a conversation's history, its body still sealed.
#[derive(Debug, FromRow)]
pub struct SealedTurn {
    pub direction: String,
    pub pii_key_id: Option<String>,
    pub body_sealed: Option<Vec<u8>>,
}

/// The latest `limit` messages with a body before `before` in the conversation, newest first.
pub async fn latest_before(
    tx: &mut Tx,
    conversation_id: Uuid,
    before: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<SealedTurn>> {
    sqlx::query_as!(
        SealedTurn,
        "SELECT direction, pii_key_id, body_sealed FROM messages
         WHERE conversation_id = $1 AND created_at < $2 AND body_sealed IS NOT NULL
         ORDER BY created_at DESC LIMIT $3",
        conversation_id,
        before,
        limit
    )
    .fetch_all(&mut **tx)
    .await
}

/// Adds `fields` to the message's metadata (what the merchant sees beside it).
pub async fn annotate(tx: &mut Tx, message_id: Uuid, fields: serde_json::Value) -> sqlx::Result<()> {
    sqlx::query!("UPDATE messages SET metadata = metadata || $2 WHERE id = $1", message_id, fields)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A customer's message as it arrived from WhatsApp.
#[derive(Debug)]
pub struct NewInbound<'a> {
    pub id: Uuid,
    pub merchant_id: MerchantId,
    pub conversation_id: Uuid,
    pub customer_id: CustomerId,
    /// `text`, or a media kind.
    pub kind: &'a str,
    pub pii_key_id: Option<String>,
    pub body_sealed: Option<Vec<u8>>,
    pub wa_message_id: &'a str,
    pub received_at: DateTime<Utc>,
}

/// Stores an inbound message once; `false` when Meta delivered it before.
pub async fn record_inbound(tx: &mut Tx, message: NewInbound<'_>) -> sqlx::Result<bool> {
    let stored = sqlx::query!(
        "INSERT INTO messages (id, merchant_id, conversation_id, customer_id, direction, kind, pii_key_id, body_sealed,
             idempotency_key, wa_message_id, status, status_at, author)
         VALUES ($1, $2, $3, $4, 'inbound', $5, $6, $7, $8, $9, 'received', $10, 'customer')
         ON CONFLICT DO NOTHING",
        message.id,
        message.merchant_id.as_uuid(),
        message.conversation_id,
        message.customer_id.as_uuid(),
        message.kind,
        message.pii_key_id,
        message.body_sealed,
        format!("inbound:{}", message.wa_message_id),
        message.wa_message_id,
        message.received_at
    )
    .execute(&mut **tx)
    .await?;
    Ok(stored.rows_affected() > 0)
}

/// When the customer was last sent a proactive message (or one is being sent) within `window`,
/// other than the message keyed `except_key`.
pub async fn recent_proactive_sends(
    tx: &mut Tx,
    customer_id: CustomerId,
    window: chrono::Duration,
    except_key: &str,
) -> sqlx::Result<Vec<DateTime<Utc>>> {
    let window = PgInterval::try_from(window).map_err(sqlx::Error::Encode)?;
    sqlx::query_scalar!(
        r#"SELECT coalesce(sent_at, created_at) AS "at!" FROM messages
           WHERE customer_id = $1 AND proactive AND status IN ('sending', 'sent', 'delivered', 'read')
             AND coalesce(sent_at, created_at) > now() - $2::interval AND idempotency_key <> $3"#,
        customer_id.as_uuid(),
        window,
        except_key
    )
    .fetch_all(&mut **tx)
    .await
}

/// An outbound message already recorded under an idempotency key.
#[derive(Debug, FromRow)]
pub struct Recorded {
    pub id: Uuid,
    pub status: String,
    pub updated_at: DateTime<Utc>,
}

/// The merchant's message keyed `key`, locked until the transaction ends.
pub async fn lock_by_key(tx: &mut Tx, merchant: MerchantId, key: &str) -> sqlx::Result<Option<Recorded>> {
    sqlx::query_as!(
        Recorded,
        "SELECT id, status, updated_at FROM messages WHERE merchant_id = $1 AND idempotency_key = $2 FOR UPDATE",
        merchant.as_uuid(),
        key
    )
    .fetch_optional(&mut **tx)
    .await
}

/// An outbound message about to be sent.
#[derive(Debug)]
pub struct Sending<'a> {
    pub id: Uuid,
    pub merchant_id: MerchantId,
    pub customer_id: CustomerId,
    pub order_id: Option<OrderId>,
    pub task_id: TaskId,
    /// `text` or `template`.
    pub kind: &'a str,
    pub pii_key_id: Option<String>,
    pub body_sealed: Option<Vec<u8>>,
    pub template_name: Option<&'a str>,
    pub proactive: bool,
    pub metadata: serde_json::Value,
    pub conversation_id: Option<Uuid>,
    pub author: String,
}

/// Records the task's message as `sending` before the call: a new row, or the row an earlier
/// attempt (or a person's reply) wrote under the task's key, with this attempt's content.
pub async fn record_sending(tx: &mut Tx, message: Sending<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO messages (id, merchant_id, customer_id, order_id, scheduled_task_id, direction, kind, pii_key_id, body_sealed,
             template_name, idempotency_key, status, status_at, proactive, metadata, conversation_id, author)
         VALUES ($1, $2, $3, $4, $5, 'outbound', $6, $7, $8, $9, $10, 'sending', now(), $11, $12, $13, $14)
         ON CONFLICT (merchant_id, idempotency_key) WHERE idempotency_key IS NOT NULL
         DO UPDATE SET status = 'sending', status_at = now(), kind = EXCLUDED.kind, template_name = EXCLUDED.template_name,
             pii_key_id = EXCLUDED.pii_key_id, body_sealed = EXCLUDED.body_sealed",
        message.id,
        message.merchant_id.as_uuid(),
        message.customer_id.as_uuid(),
        message.order_id.map(|order| order.as_uuid()),
        message.task_id.as_uuid(),
        message.kind,
        message.pii_key_id,
        message.body_sealed,
        message.template_name,
        task_key(message.task_id),
        message.proactive,
        message.metadata,
        message.conversation_id,
        message.author
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Nothing was sent (a rate limit): a `sending` message is `queued` again.
pub async fn requeue_unsent(tx: &mut Tx, message_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE messages SET status = 'queued', status_at = now() WHERE id = $1 AND status = 'sending'",
        message_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Meta accepted the message as `wa_message_id`; a status that came first is kept.
pub async fn mark_sent(tx: &mut Tx, message_id: Uuid, wa_message_id: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE messages SET status = CASE WHEN status IN ('delivered', 'read') THEN status ELSE 'sent' END,
             wa_message_id = $2, sent_at = coalesce(sent_at, now()), status_at = now(), error_code = NULL, error_reason = NULL
         WHERE id = $1",
        message_id,
        wa_message_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whose message failed.
#[derive(Debug, FromRow)]
pub struct Failed {
    pub merchant_id: MerchantId,
    pub conversation_id: Option<Uuid>,
}

/// The message failed with Meta's `code` and `reason`; `None` when there is no such message.
pub async fn mark_failed(tx: &mut Tx, message_id: Uuid, code: &str, reason: &str) -> sqlx::Result<Option<Failed>> {
    sqlx::query_as!(
        Failed,
        r#"UPDATE messages SET status = 'failed', status_at = now(), error_code = $2, error_reason = $3 WHERE id = $1
           RETURNING merchant_id AS "merchant_id: MerchantId", conversation_id"#,
        message_id,
        code,
        reason
    )
    .fetch_optional(&mut **tx)
    .await
}

/// A message written before its task was decided (a person's reply is in the thread at once)
/// whose task was then cancelled: it is `skipped`, with the task's reason.
pub async fn skip_for_cancelled_task(tx: &mut Tx, task_id: TaskId) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE messages m SET status = 'skipped', status_at = now(), error_reason = t.status_reason
         FROM scheduled_tasks t
         WHERE t.id = $1 AND t.state = 'cancelled' AND m.merchant_id = t.merchant_id
           AND m.idempotency_key = 'task:' || t.id::text AND m.status = 'queued'",
        task_id.as_uuid()
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A failed outbound message, as `message.failed` names it.
#[derive(Debug, FromRow)]
pub struct FailedMessage {
    pub merchant_id: MerchantId,
    pub id: Uuid,
    pub customer_id: Option<CustomerId>,
    pub conversation_id: Option<Uuid>,
    pub error_code: Option<String>,
    /// Meta's reason, else the task's last error.
    pub reason: Option<String>,
}

/// The failed message of a task that became a dead letter, unless its merchant was already told.
pub async fn given_up_unannounced(tx: &mut Tx, task_id: TaskId) -> sqlx::Result<Option<FailedMessage>> {
    sqlx::query_as!(
        FailedMessage,
        r#"SELECT m.merchant_id AS "merchant_id: MerchantId", m.id, m.customer_id AS "customer_id: CustomerId",
                  m.conversation_id, m.error_code, coalesce(m.error_reason, t.last_error) AS reason
           FROM scheduled_tasks t JOIN messages m ON m.scheduled_task_id = t.id
           WHERE t.id = $1 AND t.state = 'dead' AND m.status = 'failed'
             AND NOT EXISTS (SELECT 1 FROM merchant_events e
                             WHERE e.merchant_id = m.merchant_id AND e.type = 'message.failed'
                               AND e.payload->>'message_id' = m.id::text)"#,
        task_id.as_uuid()
    )
    .fetch_optional(&mut **tx)
    .await
}

/// A delivery status Meta reported for an outbound message.
#[derive(Debug)]
pub struct StatusReport<'a> {
    /// Meta's id of the message.
    pub wa_message_id: &'a str,
    /// Our id, as the send's callback data carried it.
    pub callback_id: Option<Uuid>,
    /// `sent`, `delivered`, `read` or `failed`.
    pub status: &'a str,
    pub at: DateTime<Utc>,
    pub error_code: Option<String>,
    pub error_reason: Option<String>,
}

/// Applies a status to the message it names.
///
/// Statuses only move a message forward (`sent` < `delivered` < `read`), whatever order Meta
/// sends them in; `failed` applies unless the message was already delivered or read.
/// `delivered_at` keeps the earliest delivery Meta reported: a read receipt implies delivery
/// (its time stands in when no delivered status came), and a delivered status that arrives after
/// the read receipt still sets the delivery time without moving the status back. Returns the
/// messages it moved, with their error as stored.
pub async fn apply_status(tx: &mut Tx, report: &StatusReport<'_>) -> sqlx::Result<Vec<FailedMessage>> {
    // The ranks are computed on the row itself, so a concurrent status for the same message is
    // re-checked against the version it waited for, never the one it first read.
    let rank = |column: &str| {
        format!(
            "CASE {column} WHEN 'queued' THEN 0 WHEN 'sending' THEN 1 WHEN 'failed' THEN 2 WHEN 'sent' THEN 3
                           WHEN 'delivered' THEN 4 WHEN 'read' THEN 5 ELSE -1 END"
        )
    };
    sqlx::query_as(&format!(
        // A message of an erased customer keeps its status for the figures but never gets its
        // WhatsApp id back: that id encodes the customer's phone number.
        "UPDATE messages m SET status = CASE WHEN {forward} THEN $3 ELSE m.status END,
             status_at = CASE WHEN {forward} THEN $4 ELSE m.status_at END,
             delivered_at = CASE WHEN $3 IN ('delivered', 'read') THEN least(m.delivered_at, $4) ELSE m.delivered_at END,
             wa_message_id = CASE WHEN EXISTS (SELECT 1 FROM customers c WHERE c.id = m.customer_id AND c.erased_at IS NOT NULL)
                                  THEN m.wa_message_id ELSE coalesce(m.wa_message_id, $1) END,
             sent_at = CASE WHEN $3 IN ('sent', 'delivered', 'read') THEN coalesce(m.sent_at, $4) ELSE m.sent_at END,
             error_code = CASE WHEN $3 = 'failed' THEN $5 ELSE m.error_code END,
             error_reason = CASE WHEN $3 = 'failed' THEN $6 ELSE m.error_reason END
         WHERE (m.wa_message_id = $1 OR m.id = $2) AND m.direction = 'outbound'
           -- Statuses only move forward, except that Meta reports `failed` after `sent` for a
           -- message it accepted but could not deliver; after `delivered` a failure is stale.
           AND ({forward}
                -- A delivery reported after the read receipt, earlier than the time stored.
                OR ($3 = 'delivered' AND m.status = 'read' AND (m.delivered_at IS NULL OR m.delivered_at > $4)))
         RETURNING m.id, m.merchant_id, m.customer_id, m.conversation_id, m.error_code, m.error_reason AS reason",
        forward = format!("({} > {} OR ($3 = 'failed' AND m.status = 'sent'))", rank("$3::text"), rank("m.status")),
    ))
    .bind(report.wa_message_id)
    .bind(report.callback_id)
    .bind(report.status)
    .bind(report.at)
    .bind(report.error_code.as_deref())
    .bind(report.error_reason.as_deref())
    .fetch_all(&mut **tx)
    .await
}

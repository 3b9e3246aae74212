//! A handler's claim of its row (`FOR UPDATE SKIP LOCKED`, so one copy of a job works on it and
//! any other skips), and the job state the handler leaves the row in: an event processed, a task
//! deferred, a task that became a dead letter. A task that ends is [`recete_shared::tasks::finish`]ed.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::attempts::ClaimingTransaction;
use recete_platform::db::Tx;
use recete_platform::ids::{CustomerId, EventId, IntegrationId, MerchantId, OrderId, TaskId};

/// An `external_events` row claimed for this transaction, its normalized event still sealed.
#[derive(Debug, FromRow)]
pub struct EventClaim {
    pub merchant_id: MerchantId,
    pub integration_id: IntegrationId,
    pub dedup_key: String,
    pub key_id: String,
    pub normalized_sealed: Vec<u8>,
    #[sqlx(flatten)]
    pub claimed_by: ClaimingTransaction,
}

/// Claims a due event row; `None` when it is finished, claimed by another worker or not due.
pub async fn claim_event(tx: &mut Tx, event_id: EventId) -> sqlx::Result<Option<EventClaim>> {
    sqlx::query_as(
        "SELECT merchant_id, integration_id, dedup_key, key_id, normalized_sealed, pg_backend_pid() AS pid,
                txid_current() AS xid
         FROM external_events
         WHERE id = $1 AND state IN ('pending', 'failed') AND next_attempt_at <= now()
         FOR UPDATE SKIP LOCKED",
    )
    .bind(event_id)
    .fetch_optional(&mut **tx)
    .await
}

/// The claimed event's work is done: it is `processed`, with this attempt counted.
pub async fn mark_event_processed(tx: &mut Tx, event_id: EventId) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE external_events SET state = 'processed', processed_at = now(), attempts = attempts + 1, last_error = NULL
         WHERE id = $1",
    )
    .bind(event_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A `scheduled_tasks` row claimed for this transaction.
#[derive(Debug, FromRow)]
pub struct TaskClaim {
    pub merchant_id: MerchantId,
    pub kind: String,
    pub order_id: Option<OrderId>,
    pub customer_id: Option<CustomerId>,
    /// The follow-up plan's step, for a follow-up.
    pub step: Option<String>,
    pub due_at: DateTime<Utc>,
    pub payload: serde_json::Value,
    #[sqlx(flatten)]
    pub claimed_by: ClaimingTransaction,
}

/// Claims a due task (due within the next second); `None` when it is finished, claimed by
/// another worker or not due.
pub async fn claim_task(tx: &mut Tx, task_id: TaskId) -> sqlx::Result<Option<TaskClaim>> {
    sqlx::query_as(
        "SELECT merchant_id, kind, order_id, customer_id, step, due_at, payload, pg_backend_pid() AS pid,
                txid_current() AS xid
         FROM scheduled_tasks
         WHERE id = $1 AND state IN ('pending', 'failed') AND due_at <= now() + interval '1 second'
         FOR UPDATE SKIP LOCKED",
    )
    .bind(task_id)
    .fetch_optional(&mut **tx)
    .await
}

/// The merchant and payload of a task of `kind` still waiting to be claimed, read without
/// locking it; `None` when the task has ended or is of another kind.
pub async fn peek_task(
    tx: &mut Tx,
    task_id: TaskId,
    kind: &str,
) -> sqlx::Result<Option<(MerchantId, serde_json::Value)>> {
    sqlx::query_as(
        "SELECT merchant_id, payload FROM scheduled_tasks WHERE id = $1 AND kind = $2 AND state IN ('pending', 'failed')",
    )
    .bind(task_id)
    .bind(kind)
    .fetch_optional(&mut **tx)
    .await
}

/// Moves a claimed task to `until`, with the reason the merchant sees; the relay hands it over
/// again then.
pub async fn defer_task(tx: &mut Tx, task_id: TaskId, until: DateTime<Utc>, reason: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE scheduled_tasks SET due_at = $2, status_reason = $3, enqueued_at = NULL WHERE id = $1")
        .bind(task_id)
        .bind(until)
        .bind(reason)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A task of `kind` that became a dead letter: its merchant, payload and last error.
#[derive(Debug, FromRow)]
pub struct DeadTask {
    pub merchant_id: MerchantId,
    pub payload: serde_json::Value,
    pub last_error: Option<String>,
}

/// The task when it is a dead letter of `kind`; `None` otherwise.
pub async fn dead_task(tx: &mut Tx, task_id: TaskId, kind: &str) -> sqlx::Result<Option<DeadTask>> {
    sqlx::query_as(
        "SELECT merchant_id, payload, last_error FROM scheduled_tasks WHERE id = $1 AND state = 'dead' AND kind = $2",
    )
    .bind(task_id)
    .bind(kind)
    .fetch_optional(&mut **tx)
    .await
}

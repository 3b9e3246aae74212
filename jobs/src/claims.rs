//! A handler's claim of its row (`FOR UPDATE SKIP LOCKED`, so one copy of a job works on it and
//! any other skips), the events an order job claims beside its own for one batch, and the job
//! state the handler leaves the rows in: events processed or handed back, a task deferred, a task
//! that became a dead letter. A task that ends is [`recete_shared::tasks::finish`]ed.

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

/// An `external_events` row claimed beside a job's own, for the same transaction.
#[derive(Debug, FromRow)]
pub struct BatchedEventClaim {
    pub id: EventId,
    pub merchant_id: MerchantId,
    pub integration_id: IntegrationId,
    pub dedup_key: String,
    pub key_id: String,
    pub normalized_sealed: Vec<u8>,
    /// The number this attempt has: 1 for the first try.
    pub attempt: i32,
    pub due_at: DateTime<Utc>,
}

/// Claims up to `limit` more events fed to the queue (`sources`) beside `first`, which the
/// transaction claimed already: due and handed over (what the relay marks when it pushes a row's
/// job), in the order of merchant, order, time and id, so two transactions working on the same
/// orders take them in the same order. Rows another transaction holds are skipped, and so are a
/// store's privacy requests (`single_kinds`), which are carried out one at a time by their own
/// jobs.
pub async fn claim_event_batch(
    tx: &mut Tx,
    first: EventId,
    sources: &[&str],
    single_kinds: &[&str],
    limit: i64,
) -> sqlx::Result<Vec<BatchedEventClaim>> {
    sqlx::query_as(
        "SELECT id, merchant_id, integration_id, dedup_key, key_id, normalized_sealed, attempts + 1 AS attempt,
                next_attempt_at AS due_at
         FROM external_events
         WHERE state IN ('pending', 'failed') AND next_attempt_at <= now() AND enqueued_at IS NOT NULL
           AND source = ANY($1) AND kind <> ALL($2) AND id <> $3
         ORDER BY merchant_id, subject_id, occurred_at, id
         LIMIT $4
         FOR UPDATE SKIP LOCKED",
    )
    .bind(sources)
    .bind(single_kinds)
    .bind(first)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// Any lock wait in the rest of the transaction fails after `millis` (`lock_timeout`).
pub async fn bound_lock_waits(tx: &mut Tx, millis: u64) -> sqlx::Result<()> {
    sqlx::query("SELECT set_config('lock_timeout', $1, true)").bind(format!("{millis}ms")).execute(&mut **tx).await?;
    Ok(())
}

/// Lock waits are bounded again only by the statement timeout, as before [`bound_lock_waits`]
/// (a commit that sends notifications waits on a lock of its own).
pub async fn unbound_lock_waits(tx: &mut Tx) -> sqlx::Result<()> {
    sqlx::query("SET LOCAL lock_timeout TO DEFAULT").execute(&mut **tx).await?;
    Ok(())
}

/// The claimed events' work is done, in one statement: `processed`, with this attempt counted.
pub async fn mark_events_processed(tx: &mut Tx, event_ids: &[EventId]) -> sqlx::Result<()> {
    let ids: Vec<uuid::Uuid> = event_ids.iter().map(EventId::as_uuid).collect();
    sqlx::query(
        "UPDATE external_events SET state = 'processed', processed_at = now(), attempts = attempts + 1, last_error = NULL
         WHERE id = ANY($1)",
    )
    .bind(&ids)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Gives claimed events back to the relay untried (no attempt counted): the next pass hands
/// them over again.
pub async fn hand_back_events(tx: &mut Tx, event_ids: &[EventId]) -> sqlx::Result<()> {
    let ids: Vec<uuid::Uuid> = event_ids.iter().map(EventId::as_uuid).collect();
    sqlx::query("UPDATE external_events SET enqueued_at = NULL WHERE id = ANY($1)")
        .bind(&ids)
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

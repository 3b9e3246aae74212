//! `webhook_deliveries`: one event to one endpoint. The row's id is also its `webhook` task's id
//! ([`crate::tasks::schedule_webhook_delivery`]); the task decides when an attempt runs and when
//! the delivery is a dead letter, this row records what each attempt saw for the merchant.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

use super::endpoints;
use crate::merchant_events::event_type::EventType;
use crate::tasks;
use recete_platform::db::{self, Tx};
use recete_platform::ids::MerchantId;

/// Schedules `event` for every enabled endpoint of `merchant` subscribed to its type, in the
/// transaction that raised it.
pub async fn fan_out(tx: &mut Tx, merchant: MerchantId, event: Uuid, kind: EventType) -> sqlx::Result<usize> {
    let endpoints = endpoints::subscribed(tx, merchant, kind).await?;
    for endpoint in &endpoints {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, merchant_id, endpoint_id, event_id, next_attempt_at)
             VALUES ($1, $2, $3, $4, now())",
        )
        .bind(id)
        .bind(merchant)
        .bind(endpoint)
        .bind(event)
        .execute(&mut **tx)
        .await?;
        tasks::schedule_webhook_delivery(tx, merchant, id).await?;
    }
    Ok(endpoints.len())
}

/// The state of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not tried yet, or put back in line by a replay.
    Pending,
    /// The last attempt failed; another follows at `next_attempt_at`.
    Failed,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt failed; replay it to try again.
    Dead,
    /// Not sent: the endpoint was disabled when its turn came. Replay it once enabled.
    Cancelled,
}

/// A delivery as the merchant sees it.
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct DeliveryRecord {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    /// The event's id: the `webhook-id` header of every attempt and replay of this event.
    pub event_id: Uuid,
    pub event_type: EventType,
    pub state: DeliveryState,
    /// Attempts made so far, replays included.
    pub attempts: i32,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The endpoint's HTTP status on the last attempt; absent when it did not answer.
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub last_duration_ms: Option<i32>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "d.id, d.endpoint_id, d.event_id, e.type AS event_type, d.state, d.attempts, d.last_attempt_at,
    d.last_status_code, d.last_error, d.last_duration_ms, d.next_attempt_at, d.delivered_at, d.created_at";

/// An endpoint's deliveries, newest first, older than `before` when given.
pub async fn list(tx: &mut Tx, endpoint: Uuid, before: Option<Uuid>, limit: i64) -> sqlx::Result<Vec<DeliveryRecord>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhook_deliveries d JOIN merchant_events e ON e.id = d.event_id
         WHERE d.endpoint_id = $1 AND ($2::uuid IS NULL OR d.id < $2)
         ORDER BY d.id DESC LIMIT $3"
    ))
    .bind(endpoint)
    .bind(before)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

pub async fn find(tx: &mut Tx, endpoint: Uuid, id: Uuid) -> sqlx::Result<Option<DeliveryRecord>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhook_deliveries d JOIN merchant_events e ON e.id = d.event_id
         WHERE d.endpoint_id = $1 AND d.id = $2"
    ))
    .bind(endpoint)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// Puts a delivery back in line now, whatever its state, keeping its event (so its
/// `webhook-id`). Returns false when there is no such delivery.
pub async fn replay(tx: &mut Tx, merchant: MerchantId, endpoint: Uuid, id: Uuid) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = now(), delivered_at = NULL
         WHERE endpoint_id = $1 AND id = $2",
    )
    .bind(endpoint)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    if !tasks::replay_webhook_delivery(tx, id).await? {
        tasks::schedule_webhook_delivery(tx, merchant, id).await?;
    }
    Ok(true)
}

/// What an attempt reads of its delivery, locked until the attempt commits.
#[derive(Debug, Clone, FromRow)]
pub struct DueDelivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
}

pub async fn lock_for_attempt(tx: &mut Tx, id: Uuid) -> sqlx::Result<Option<DueDelivery>> {
    sqlx::query_as("SELECT id, endpoint_id, event_id FROM webhook_deliveries WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// How one attempt went.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

impl AttemptResult {
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.status_code.is_some_and(|code| (200..300).contains(&code))
    }
}

/// Records an attempt: delivered when it succeeded, else failed until the task says when it
/// runs again ([`settle`]).
pub async fn record_attempt(tx: &mut Tx, id: Uuid, result: &AttemptResult) -> sqlx::Result<()> {
    let delivered = result.succeeded();
    sqlx::query(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = now(), last_status_code = $2,
             last_error = $3, last_duration_ms = $4,
             state = CASE WHEN $5 THEN 'delivered' ELSE 'failed' END,
             delivered_at = CASE WHEN $5 THEN now() END,
             next_attempt_at = NULL
         WHERE id = $1",
    )
    .bind(id)
    .bind(result.status_code.map(i32::from))
    .bind(result.error.as_deref().map(trim))
    .bind(i32::try_from(result.duration_ms).unwrap_or(i32::MAX))
    .bind(delivered)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Not sent, and why (the endpoint was disabled when its turn came).
pub async fn cancel(tx: &mut Tx, id: Uuid, reason: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE webhook_deliveries SET state = 'cancelled', last_error = $2, next_attempt_at = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// After a failed attempt was counted on its task: a dead task makes a dead delivery, a task
/// waiting to retry shows when.
pub async fn settle(pool: &PgPool, id: Uuid) -> sqlx::Result<()> {
    let mut tx = db::system_tx(pool).await?;
    sqlx::query(
        "UPDATE webhook_deliveries d SET
             state = CASE WHEN t.state = 'dead' THEN 'dead' ELSE d.state END,
             next_attempt_at = CASE WHEN t.state IN ('pending', 'failed') THEN t.due_at END
         FROM scheduled_tasks t
         WHERE t.id = d.id AND d.id = $1 AND d.state = 'failed'",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Errors are kept short: enough to diagnose, never a whole response.
fn trim(error: &str) -> String {
    const LIMIT: usize = 500;
    if error.len() <= LIMIT {
        return error.to_owned();
    }
    let mut end = LIMIT;
    while !error.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &error[..end])
}

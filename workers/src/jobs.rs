//! What every job handler shares: claiming its event row, bounding its run in time, recording a
//! failure in the row (never in apalis), and the job metrics.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::Context;
use recete_shared::config::PoolSettings;
use recete_shared::crypto::Keyring;
use recete_shared::db::{self, Tx};
use recete_shared::events::NormalizedEvent;
use recete_shared::events::store::{open_payload, payload_context};
use recete_shared::ids::{CustomerId, EventId, IntegrationId, MerchantId, TaskId};
use recete_shared::queue::attempts::{self, AttemptRow, FailureOutcome};
use sqlx::{FromRow, PgPool};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Finished already, claimed by another worker, or not due: nothing to do.
    Skipped,
}

/// The row a job works on.
pub type JobRow = AttemptRow;

/// Runs `work` within the pool's timeout, records a failure in the row, counts the outcome.
pub async fn run<Fut>(queue: &'static str, row: JobRow, pool: &PgPool, settings: &PoolSettings, work: Fut)
where
    Fut: Future<Output = anyhow::Result<Outcome>>,
{
    let started = Instant::now();
    let timeout = Duration::from_secs(settings.timeout_secs);
    let result = match tokio::time::timeout(timeout, work).await {
        Ok(result) => result,
        Err(_) => Err(anyhow::anyhow!("timed out after {} s", timeout.as_secs())),
    };
    let outcome = match result {
        Ok(Outcome::Done) => "processed",
        Ok(Outcome::Skipped) => "skipped",
        Err(error) => {
            let message = format!("{error:#}");
            let recorded = attempts::record_failure(pool, row, &message, settings).await;
            match recorded {
                Ok(FailureOutcome::RetryAt(at)) => {
                    tracing::warn!(queue, ?row, error = %message, retry_at = %at, "job failed; will retry");
                    "failed"
                }
                Ok(FailureOutcome::DeadLettered) => {
                    tracing::error!(queue, ?row, error = %message, "job dead-lettered");
                    "dead"
                }
                Err(record_error) => {
                    // The row stays due; the reconciler hands it over again.
                    tracing::error!(queue, ?row, error = %message, %record_error, "job failed and the failure could not be recorded");
                    "failed"
                }
            }
        }
    };
    metrics::counter!("recete_jobs_total", "queue" => queue, "outcome" => outcome).increment(1);
    metrics::histogram!("recete_job_duration_seconds", "queue" => queue).record(started.elapsed().as_secs_f64());
}

/// An event row claimed for this transaction, opened, with the transaction scoped to its merchant.
pub struct ClaimedEvent {
    pub merchant_id: MerchantId,
    pub integration_id: IntegrationId,
    pub event: NormalizedEvent,
}

#[derive(FromRow)]
struct EventRow {
    merchant_id: MerchantId,
    integration_id: IntegrationId,
    dedup_key: String,
    key_id: String,
    normalized_sealed: Vec<u8>,
}

/// Claims a due event row with `FOR UPDATE SKIP LOCKED`; `None` when it is finished, claimed by
/// another worker or not due. From then on `tx` sees only the event's merchant.
pub async fn claim_event(tx: &mut Tx, event_id: EventId, keyring: &Keyring) -> anyhow::Result<Option<ClaimedEvent>> {
    let row: Option<EventRow> = sqlx::query_as(
        "SELECT merchant_id, integration_id, dedup_key, key_id, normalized_sealed FROM external_events
         WHERE id = $1 AND state IN ('pending', 'failed') AND next_attempt_at <= now()
         FOR UPDATE SKIP LOCKED",
    )
    .bind(event_id)
    .fetch_optional(&mut **tx)
    .await
    .context("Failed to claim the event row")?;
    let Some(row) = row else {
        return Ok(None);
    };
    let context = payload_context(row.integration_id, &row.dedup_key, "normalized");
    let normalized = open_payload(keyring, &row.key_id, &row.normalized_sealed, &context)
        .context("Failed to open the normalized event")?;
    let event: NormalizedEvent = serde_json::from_slice(&normalized).context("Failed to read the normalized event")?;
    db::set_tenant(tx, row.merchant_id).await.context("Failed to scope the transaction to the merchant")?;
    Ok(Some(ClaimedEvent { merchant_id: row.merchant_id, integration_id: row.integration_id, event }))
}

pub async fn mark_event_processed(tx: &mut Tx, event_id: EventId) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE external_events SET state = 'processed', processed_at = now(), attempts = attempts + 1, last_error = NULL
         WHERE id = $1",
    )
    .bind(event_id)
    .execute(&mut **tx)
    .await
    .context("Failed to mark the event processed")?;
    Ok(())
}

/// A `scheduled_tasks` row claimed for this transaction, with the transaction scoped to its
/// merchant.
#[derive(FromRow)]
pub struct ClaimedTask {
    pub merchant_id: MerchantId,
    pub kind: String,
    pub customer_id: Option<CustomerId>,
    pub payload: serde_json::Value,
}

/// Claims a due task with `FOR UPDATE SKIP LOCKED`; `None` when it is finished, claimed by
/// another worker or not due.
pub async fn claim_task(tx: &mut Tx, task_id: TaskId) -> anyhow::Result<Option<ClaimedTask>> {
    let task: Option<ClaimedTask> = sqlx::query_as(
        "SELECT merchant_id, kind, customer_id, payload FROM scheduled_tasks
         WHERE id = $1 AND state IN ('pending', 'failed') AND due_at <= now() + interval '1 second'
         FOR UPDATE SKIP LOCKED",
    )
    .bind(task_id)
    .fetch_optional(&mut **tx)
    .await
    .context("Failed to claim the task")?;
    if let Some(task) = &task {
        db::set_tenant(tx, task.merchant_id).await.context("Failed to scope the transaction to the merchant")?;
    }
    Ok(task)
}

/// A uuid field of a task's payload, named in the error when it is missing.
pub fn payload_uuid(payload: &serde_json::Value, field: &str) -> anyhow::Result<uuid::Uuid> {
    payload
        .get(field)
        .and_then(serde_json::Value::as_str)
        .and_then(|id| uuid::Uuid::parse_str(id).ok())
        .with_context(|| format!("the task payload has no valid `{field}`"))
}

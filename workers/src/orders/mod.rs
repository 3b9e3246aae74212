//! The order-events pool: each stored commerce event becomes a customer, an order and its
//! items, exactly once.
//!
//! [`handle_event`] claims the event row with `FOR UPDATE SKIP LOCKED`, applies it and marks it
//! processed in one transaction: a duplicate job finds the row finished or claimed and does
//! nothing, and a job killed half-way leaves nothing behind but a row still due. [`process`] is
//! the apalis entry point: it bounds the run in time, records failures in the row, and never
//! hands an error to apalis (whose own retries ignore every limit).

use std::time::{Duration, Instant};

use anyhow::Context;
use apalis::prelude::{BoxDynError, Data};
use recete_shared::config::PoolSettings;
use recete_shared::crypto::Keyring;
use recete_shared::db;
use recete_shared::events::NormalizedEvent;
use recete_shared::events::store::{open_payload, payload_context};
use recete_shared::ids::{EventId, IntegrationId, MerchantId};
use recete_shared::orders::apply::{Applied, EventContext, apply_order_event};
use recete_shared::queue::EventJob;
use recete_shared::queue::attempts::{self, FailureOutcome};
use sqlx::{FromRow, PgPool};
use std::sync::Arc;

use crate::WorkerDeps;

pub const ACTOR: &str = "worker:order-events";
const QUEUE: &str = "order-events";

/// What the handler needs; cheap to clone into every job.
#[derive(Clone)]
pub struct OrderDeps {
    pub pool: PgPool,
    pub keyring: Arc<Keyring>,
    pub settings: PoolSettings,
}

impl OrderDeps {
    pub fn new(deps: &WorkerDeps, settings: PoolSettings) -> Self {
        Self { pool: deps.pool.clone(), keyring: deps.keyring.clone(), settings }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Processed(Applied),
    /// Finished already, claimed by another worker, or not due: nothing to do.
    Skipped,
}

#[derive(FromRow)]
struct EventRow {
    merchant_id: MerchantId,
    integration_id: IntegrationId,
    dedup_key: String,
    key_id: String,
    normalized_sealed: Vec<u8>,
}

pub async fn handle_event(event_id: EventId, deps: &OrderDeps) -> anyhow::Result<Outcome> {
    let mut tx = db::system_tx(&deps.pool).await.context("Failed to begin the event transaction")?;
    let row: Option<EventRow> = sqlx::query_as(
        "SELECT merchant_id, integration_id, dedup_key, key_id, normalized_sealed FROM external_events
         WHERE id = $1 AND state IN ('pending', 'failed') AND next_attempt_at <= now()
         FOR UPDATE SKIP LOCKED",
    )
    .bind(event_id)
    .fetch_optional(&mut *tx)
    .await
    .context("Failed to claim the event row")?;
    let Some(row) = row else {
        return Ok(Outcome::Skipped);
    };
    let context = payload_context(row.integration_id, &row.dedup_key, "normalized");
    let normalized = open_payload(&deps.keyring, &row.key_id, &row.normalized_sealed, &context)
        .context("Failed to open the normalized event")?;
    let event: NormalizedEvent = serde_json::from_slice(&normalized).context("Failed to read the normalized event")?;
    // From here on only this merchant's rows are visible and writable.
    db::set_tenant(&mut tx, row.merchant_id).await.context("Failed to scope the transaction to the merchant")?;
    let ctx = EventContext {
        keyring: &deps.keyring,
        actor: ACTOR,
        merchant_id: row.merchant_id,
        integration_id: Some(row.integration_id),
        event_id,
    };
    let applied = apply_order_event(&mut tx, &ctx, &event).await.context("Failed to apply the event to the order")?;
    sqlx::query(
        "UPDATE external_events SET state = 'processed', processed_at = now(), attempts = attempts + 1, last_error = NULL
         WHERE id = $1",
    )
    .bind(event_id)
    .execute(&mut *tx)
    .await
    .context("Failed to mark the event processed")?;
    tx.commit().await.context("Failed to commit the event")?;
    Ok(Outcome::Processed(applied))
}

/// The apalis handler.
pub async fn process(job: EventJob, deps: Data<OrderDeps>) -> Result<(), BoxDynError> {
    let event_id = job.event_id();
    let started = Instant::now();
    let timeout = Duration::from_secs(deps.settings.timeout_secs);
    let result = match tokio::time::timeout(timeout, handle_event(event_id, &deps)).await {
        Ok(result) => result,
        Err(_) => Err(anyhow::anyhow!("timed out after {} s", timeout.as_secs())),
    };
    let outcome = match result {
        Ok(Outcome::Processed(_)) => "processed",
        Ok(Outcome::Skipped) => "skipped",
        Err(error) => {
            let message = format!("{error:#}");
            match attempts::record_event_failure(&deps.pool, event_id, &message, &deps.settings).await {
                Ok(FailureOutcome::RetryAt(at)) => {
                    tracing::warn!(%event_id, error = %message, retry_at = %at, "order event failed; will retry");
                    "failed"
                }
                Ok(FailureOutcome::DeadLettered) => {
                    tracing::error!(%event_id, error = %message, "order event dead-lettered");
                    "dead"
                }
                Err(record_error) => {
                    // The row stays due; the reconciler hands it over again.
                    tracing::error!(%event_id, error = %message, %record_error, "order event failed and the failure could not be recorded");
                    "failed"
                }
            }
        }
    };
    metrics::counter!("recete_jobs_total", "queue" => QUEUE, "outcome" => outcome).increment(1);
    metrics::histogram!("recete_job_duration_seconds", "queue" => QUEUE).record(started.elapsed().as_secs_f64());
    Ok(())
}

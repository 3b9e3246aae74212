//! The order-events pool: each stored commerce event becomes a customer, an order and its
//! items, exactly once.
//!
//! [`handle_event`] claims the event row with `FOR UPDATE SKIP LOCKED`, applies it and marks it
//! processed in one transaction: a duplicate job finds the row finished or claimed and does
//! nothing, and a job killed half-way leaves nothing behind but a row still due. With a
//! `batch_size` above 1 the same transaction then claims more due events of the queue and applies
//! each under its own savepoint: one that fails is rolled back alone and records its own failure,
//! the others commit with the job's own event. [`process`] is the apalis entry point: it bounds
//! the run in time, records failures in the row, and never hands an error to apalis (whose own
//! retries ignore every limit).

use std::sync::Arc;

use anyhow::Context;
use apalis::prelude::{BoxDynError, Data};
use chrono::Utc;
use recete_jobs::EventJob;
use recete_jobs::execution::{self as jobs, BatchedEvent, BatchedOutcome, JobContext, JobRow, Outcome};
use recete_platform::config::PoolSettings;
use recete_platform::crypto::Keyring;
use recete_platform::db::{self, Tx};
use recete_platform::ids::EventId;
use recete_privacy::store_requests::{self, Delivered, Progress};
use recete_shared::customers::UpsertError;
use recete_shared::events::EventBody;
use recete_shared::orders::apply::{ApplyError, EventContext, apply_order_event};
use sqlx::PgPool;

use crate::WorkerDeps;

pub const ACTOR: &str = "worker:order-events";

/// The savepoint each batched event is applied under.
const BATCHED_EVENT: &str = "batched_event";

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

pub async fn handle_event(event_id: EventId, deps: &OrderDeps, context: &JobContext) -> anyhow::Result<Outcome> {
    let started_at = Utc::now();
    let mut tx = db::system_tx(&deps.pool).await.context("Failed to begin the event transaction")?;
    let Some(claimed) = jobs::claim_event(&mut tx, event_id, &deps.keyring).await? else {
        return Ok(Outcome::Skipped);
    };
    if let EventBody::Privacy(request) = &claimed.event.body {
        let delivered = Delivered { merchant: claimed.merchant_id, event_id, request };
        let progress = store_requests::carry_out(&mut tx, &deps.keyring, &delivered)
            .await
            .context("Failed to carry out the store's privacy request")?;
        if progress == Progress::Finished {
            jobs::mark_event_processed(&mut tx, event_id).await?;
        }
        tx.commit().await.context("Failed to commit the privacy request")?;
        return Ok(Outcome::Done);
    }
    let ctx = EventContext {
        keyring: &deps.keyring,
        actor: ACTOR,
        merchant_id: claimed.merchant_id,
        integration_id: Some(claimed.integration_id),
        event_id: Some(event_id),
    };
    // The job's own event first, while the transaction holds nothing another job may wait for:
    // it alone may wait on locks; when it fails, nothing else was claimed and the job fails as it
    // would on its own.
    apply_order_event(&mut tx, &ctx, &claimed.event).await.context("Failed to apply the event to the order")?;
    let limit = deps.settings.batch_size.saturating_sub(1);
    let batch = jobs::claim_event_batch(&mut tx, context, event_id, limit, &deps.keyring).await?;
    if batch.is_empty() {
        jobs::mark_event_processed(&mut tx, event_id).await?;
        tx.commit().await.context("Failed to commit the event")?;
        return Ok(Outcome::Done);
    }
    let mut applied = Vec::with_capacity(batch.len());
    for batched in batch {
        let row = batched.row;
        applied.push((row, apply_batched(&mut tx, deps, batched).await?));
    }
    let settled = jobs::settle_event_batch(&mut tx, context, event_id, started_at, applied).await?;
    tx.commit().await.context("Failed to commit the batch of events")?;
    settled.record(context).await;
    Ok(Outcome::Done)
}

/// Applies one batched event under its own savepoint, rolled back when it fails. An error
/// returned is the batch's own (its transaction is unusable), not the event's.
async fn apply_batched(tx: &mut Tx, deps: &OrderDeps, batched: BatchedEvent) -> anyhow::Result<BatchedOutcome> {
    let event_id = batched.row.event_id;
    db::savepoint(tx, BATCHED_EVENT).await.context("Failed to mark the batched event's savepoint")?;
    let applied = match batched.event {
        Err(error) => Err(error),
        Ok(event) => {
            db::set_tenant(tx, batched.merchant_id).await.context("Failed to scope the transaction to the merchant")?;
            let ctx = EventContext {
                keyring: &deps.keyring,
                actor: ACTOR,
                merchant_id: batched.merchant_id,
                integration_id: Some(batched.integration_id),
                event_id: Some(event_id),
            };
            match apply_order_event(tx, &ctx, &event).await {
                Ok(_) => Ok(()),
                Err(error) if waited_on_a_lock(&error) => {
                    db::rollback_to_savepoint(tx, BATCHED_EVENT)
                        .await
                        .context("Failed to roll back a batched event")?;
                    return Ok(BatchedOutcome::Contended);
                }
                Err(error) => Err(anyhow::Error::new(error).context("Failed to apply the event to the order")),
            }
        }
    };
    match applied {
        Ok(()) => {
            db::release_savepoint(tx, BATCHED_EVENT).await.context("Failed to keep a batched event")?;
            Ok(BatchedOutcome::Applied)
        }
        Err(error) => {
            db::rollback_to_savepoint(tx, BATCHED_EVENT).await.context("Failed to roll back a batched event")?;
            Ok(BatchedOutcome::Failed(error))
        }
    }
}

/// The event's statement gave up waiting on a row lock another transaction holds (the batch's
/// `lock_timeout`) or was chosen to break a deadlock: the event is fine, only busy elsewhere.
fn waited_on_a_lock(error: &ApplyError) -> bool {
    let database = match error {
        ApplyError::Database(error) | ApplyError::Customer(UpsertError::Database(error)) => error,
        _ => return false,
    };
    matches!(database, sqlx::Error::Database(error) if matches!(error.code().as_deref(), Some("55P03" | "40P01")))
}

/// The apalis handler.
pub async fn process(job: EventJob, deps: Data<OrderDeps>, context: Data<JobContext>) -> Result<(), BoxDynError> {
    let event_id = job.event_id();
    jobs::run(&context, JobRow::Event(event_id), handle_event(event_id, &deps, &context)).await;
    Ok(())
}

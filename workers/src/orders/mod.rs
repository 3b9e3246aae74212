//! The order-events pool: each stored commerce event becomes a customer, an order and its
//! items, exactly once.
//!
//! [`handle_event`] claims the event row with `FOR UPDATE SKIP LOCKED`, applies it and marks it
//! processed in one transaction: a duplicate job finds the row finished or claimed and does
//! nothing, and a job killed half-way leaves nothing behind but a row still due. [`process`] is
//! the apalis entry point: it bounds the run in time, records failures in the row, and never
//! hands an error to apalis (whose own retries ignore every limit).

use std::sync::Arc;

use anyhow::Context;
use apalis::prelude::{BoxDynError, Data};
use recete_jobs::EventJob;
use recete_jobs::execution::{self as jobs, JobContext, JobRow, Outcome};
use recete_platform::config::PoolSettings;
use recete_platform::crypto::Keyring;
use recete_platform::db;
use recete_platform::ids::EventId;
use recete_privacy::store_requests::{self, Delivered, Progress};
use recete_shared::events::EventBody;
use recete_shared::orders::apply::{EventContext, apply_order_event};
use sqlx::PgPool;

use crate::WorkerDeps;

pub const ACTOR: &str = "worker:order-events";

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

pub async fn handle_event(event_id: EventId, deps: &OrderDeps) -> anyhow::Result<Outcome> {
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
    apply_order_event(&mut tx, &ctx, &claimed.event).await.context("Failed to apply the event to the order")?;
    jobs::mark_event_processed(&mut tx, event_id).await?;
    tx.commit().await.context("Failed to commit the event")?;
    Ok(Outcome::Done)
}

/// The apalis handler.
pub async fn process(job: EventJob, deps: Data<OrderDeps>, context: Data<JobContext>) -> Result<(), BoxDynError> {
    let event_id = job.event_id();
    jobs::run(&context, JobRow::Event(event_id), handle_event(event_id, &deps)).await;
    Ok(())
}

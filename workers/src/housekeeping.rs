//! Periodic jobs of the fleet. Each is safe to run on every replica at once: assumed deliveries
//! take an advisory lock per tick; the analytics rollup (once per tick) and the API key expiry
//! (once per UTC day) are claimed through `periodic_runs`, so one replica runs each period;
//! gauges only read; and pruning (old job attempts, expired `Idempotency-Key` answers, merchant
//! events and finished webhook deliveries past `events.retention_days`) deletes what any
//! replica may delete.

use std::time::Duration;

use chrono::Utc;
use recete_jobs::{attempts, processes};
use recete_shared::orders::assume_delivered;
use recete_shared::periodic::{self, Run};
use recete_shared::{api_key_expiry, idempotency, merchant_events};
use tokio_util::sync::CancellationToken;

use crate::WorkerDeps;

pub async fn run(deps: WorkerDeps, shutdown: CancellationToken) {
    let interval = Duration::from_secs(deps.settings.housekeeping.interval_secs);
    loop {
        tick(&deps).await;
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

pub async fn tick(deps: &WorkerDeps) {
    match assume_delivered::run_once(&deps.pool, Utc::now(), 1000).await {
        Ok(0) => {}
        Ok(count) => {
            metrics::counter!("recete_orders_assumed_delivered_total").increment(count);
            tracing::info!(count, "orders assumed delivered after their fulfilment delay");
        }
        Err(error) => tracing::warn!(%error, "assumed deliveries failed"),
    }
    roll_up_analytics(deps).await;
    expire_api_keys(deps).await;
    if let Err(error) =
        periodic::report_last_successes(&deps.pool, &[recete_analytics::JOB.name, api_key_expiry::JOB.name]).await
    {
        tracing::warn!(%error, "periodic job gauges unavailable");
    }
    prune_observability(deps).await;
    prune_idempotency_keys(deps).await;
    prune_merchant_events(deps).await;
}

/// Removes merchant events and finished webhook deliveries past `events.retention_days`.
pub async fn prune_merchant_events(deps: &WorkerDeps) {
    match merchant_events::stream::prune(&deps.pool, deps.settings.events.retention_days).await {
        Ok(pruned) if pruned.events + pruned.deliveries > 0 => {
            tracing::info!(events = pruned.events, deliveries = pruned.deliveries, "old merchant events pruned");
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "pruning old merchant events failed"),
    }
}

/// Removes `Idempotency-Key` answers past their retention, in batches.
async fn prune_idempotency_keys(deps: &WorkerDeps) {
    loop {
        match idempotency::prune_expired(&deps.pool, ATTEMPT_PRUNE_BATCH).await {
            Ok(deleted) if deleted < ATTEMPT_PRUNE_BATCH as u64 => return,
            Ok(_) => tokio::task::yield_now().await,
            Err(error) => {
                tracing::warn!(%error, "pruning expired idempotency keys failed");
                return;
            }
        }
    }
}

/// Job attempts kept for operators this long; the queue board reads the recent ones.
const ATTEMPT_RETENTION_DAYS: i32 = 14;
/// Attempts deleted per statement, so pruning never holds long locks or a huge transaction.
const ATTEMPT_PRUNE_BATCH: i64 = 5000;

/// Removes rows of worker processes gone for three heartbeats, and attempts past retention.
async fn prune_observability(deps: &WorkerDeps) {
    let heartbeat = Duration::from_secs(deps.settings.metrics.heartbeat_interval_secs);
    match processes::prune_gone(&deps.pool, heartbeat).await {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, "rows of worker processes gone silent removed"),
        Err(error) => tracing::warn!(%error, "pruning gone worker processes failed"),
    }
    loop {
        let deleted = attempts::prune_finished(&deps.pool, ATTEMPT_RETENTION_DAYS, ATTEMPT_PRUNE_BATCH).await;
        match deleted {
            Ok(deleted) if deleted < ATTEMPT_PRUNE_BATCH as u64 => return,
            Ok(_) => tokio::task::yield_now().await,
            Err(error) => {
                tracing::warn!(%error, "pruning old job attempts failed");
                return;
            }
        }
    }
}

/// This tick's analytics rollup, when this replica is the one to run it.
pub async fn roll_up_analytics(deps: &WorkerDeps) {
    let settings = &deps.settings.housekeeping;
    let interval = Duration::from_secs(settings.interval_secs);
    let overlap = Duration::from_secs(settings.analytics_overlap_secs);
    match recete_analytics::run_periodic(&deps.pool, Utc::now(), interval, overlap).await {
        Ok(Run::Done(report)) => {
            metrics::counter!("recete_analytics_daily_rows_recomputed_total").increment(report.days_recomputed);
            tracing::debug!(days = report.days_recomputed, changed = report.days_changed, "analytics rolled up");
        }
        Ok(Run::Skipped) => {}
        Ok(Run::Failed(error)) => tracing::warn!(error.cause_chain = ?error, "analytics rollup failed; retried later"),
        Err(error) => tracing::warn!(%error, "analytics rollup could not be claimed"),
    }
}

/// Today's API key expiry, when this replica is the one to run it.
pub async fn expire_api_keys(deps: &WorkerDeps) {
    match api_key_expiry::run_daily(&deps.pool, Utc::now()).await {
        Ok(Run::Done(report)) => tracing::info!(expired = report.expired, "API keys past their expiry recorded"),
        Ok(Run::Skipped) => {}
        Ok(Run::Failed(error)) => tracing::warn!(error.cause_chain = ?error, "API key expiry failed; retried later"),
        Err(error) => tracing::warn!(%error, "API key expiry could not be claimed"),
    }
}

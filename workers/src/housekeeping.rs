//! Periodic jobs of the fleet. Each is safe to run on every replica at once: assumed deliveries
//! take an advisory lock per tick, and gauges only read.

use std::time::Duration;

use chrono::Utc;
use recete_shared::orders::assume_delivered;
use recete_shared::queue::QueueName;
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
    for queue in QueueName::ALL {
        match oldest_pending_age(deps, *queue).await {
            Ok(age) => metrics::gauge!("recete_queue_oldest_pending_age_seconds", "queue" => queue.as_str()).set(age),
            Err(error) => tracing::warn!(queue = %queue, %error, "oldest pending age unavailable"),
        }
    }
}

async fn oldest_pending_age(deps: &WorkerDeps, queue: QueueName) -> Result<f64, sqlx::Error> {
    let mut tx = recete_shared::db::system_tx(&deps.pool).await?;
    let age: Option<f64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM now() - min(received_at))::float8 FROM external_events
         WHERE state IN ('pending', 'failed') AND source = ANY($1)",
    )
    .bind(queue.feeds_on())
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(age.unwrap_or(0.0))
}

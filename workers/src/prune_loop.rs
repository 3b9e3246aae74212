//! The pruner loop of a queue: finished jobs removed from Redis, where apalis-redis keeps them.

use std::time::Duration;

use recete_jobs::QueueName;
use recete_jobs::backlog;
use tokio_util::sync::CancellationToken;

use crate::WorkerDeps;

/// Removes finished jobs from Redis every `queue.prune_interval_secs`.
pub async fn run(queue: QueueName, deps: WorkerDeps, shutdown: CancellationToken) {
    let interval = Duration::from_secs(deps.settings.queue.prune_interval_secs);
    let namespace = backlog::namespace(deps.redis.key_prefix(), queue);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        let pruned = async {
            let mut connection = deps.redis.connection().await?;
            backlog::prune_finished(&mut connection, &namespace).await
        }
        .await;
        match pruned {
            Ok(count) => metrics::counter!("recete_queue_pruned_total", "queue" => queue.as_str()).increment(count),
            Err(error) => tracing::warn!(queue = %queue, %error, "pruning finished jobs failed"),
        }
    }
}

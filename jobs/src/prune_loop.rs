//! The pruner loop of a queue: finished jobs removed from Redis, where apalis-redis keeps them.
//! Every worker process runs one for each queue it serves.

use std::time::Duration;

use recete_platform::redis_client::RedisClient;
use tokio_util::sync::CancellationToken;

use crate::QueueName;
use crate::backlog;

/// Removes finished jobs of `queue` from Redis every `interval` (`queue.prune_interval_secs`)
/// until shutdown.
pub async fn run(queue: QueueName, redis: RedisClient, interval: Duration, shutdown: CancellationToken) {
    let namespace = backlog::namespace(redis.key_prefix(), queue);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        let pruned = async {
            let mut connection = redis.connection().await?;
            backlog::prune_finished(&mut connection, &namespace).await
        }
        .await;
        match pruned {
            Ok(count) => metrics::counter!("recete_queue_pruned_total", "queue" => queue.as_str()).increment(count),
            Err(error) => tracing::warn!(queue = %queue, %error, "pruning finished jobs failed"),
        }
    }
}

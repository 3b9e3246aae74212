//! The relay loop of a queue: due rows handed from PostgreSQL to Redis, a pass whenever work for
//! the queue commits. Every worker process runs one for each queue it serves.

use std::sync::Arc;
use std::time::Duration;

use recete_platform::config::QueueSettings;
use recete_platform::redis_client::RedisClient;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::QueueName;
use crate::backlog;
use crate::relay::{self, Feed, Relay};
use crate::wakeups::RelayWakeups;

/// Hands due rows to `queue` until shutdown, a pass each time `wakeups` says work for it
/// committed, and otherwise as [`relay::next_pass_in`] says. Errors (Redis or PostgreSQL away)
/// are logged and retried after a pause; nothing is lost meanwhile, only delayed.
pub async fn run<J: Feed>(
    queue: QueueName,
    pool: PgPool,
    redis: RedisClient,
    settings: QueueSettings,
    wakeups: Arc<RelayWakeups>,
    shutdown: CancellationToken,
) {
    let woken = wakeups.waker(queue);
    let mut relay: Option<Relay<J>> = None;
    loop {
        let pause = match relay.as_mut() {
            Some(active) => match active.relay_once(&pool).await {
                Ok(report) => relay::next_pass_in(&report, &settings, wakeups.is_heard()),
                Err(error) => {
                    tracing::warn!(queue = %queue, %error, "relay pass failed");
                    relay = None;
                    Duration::from_secs(1)
                }
            },
            None => match redis.connection().await {
                Ok(connection) => {
                    let namespace = backlog::namespace(redis.key_prefix(), queue);
                    let storage = backlog::storage(connection.clone(), redis.key_prefix(), queue, &settings, 1);
                    relay = Some(Relay { queue, namespace, storage, connection, settings: settings.clone() });
                    Duration::ZERO
                }
                Err(error) => {
                    tracing::warn!(queue = %queue, %error, "relay cannot reach Redis");
                    Duration::from_secs(1)
                }
            },
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
            () = woken.notified(), if relay.is_some() => {}
        }
    }
}

//! apalis-redis storage for our queues, and what we read and trim in its Redis keys ourselves.
//!
//! A queue's keys all start with `{<prefix>:<queue>}` (the braces are a Redis Cluster hash tag,
//! so one queue's keys share a slot). Pending jobs sit in `:scheduled` (every push lands there)
//! and `:active`; finished ids collect in `:done` and `:dead` with a `:data` field and a
//! `:meta:<id>` hash each, forever, unless pruned.

use std::time::Duration;

use apalis_redis::{Config, ConnectionManager, RedisStorage};

use crate::jobs::QueueName;
use crate::relay::Feed;
use recete_platform::config::QueueSettings;

/// The apalis namespace of `queue` under a deployment's key prefix.
pub fn namespace(key_prefix: &str, queue: QueueName) -> String {
    format!("{{{key_prefix}:{queue}}}")
}

/// Storage for pushing to and fetching from `queue`. `fetch_batch` is how many jobs one fetch
/// takes; keeping it at the pool's concurrency spreads work over the fleet's workers.
pub fn storage<J: Feed>(
    connection: ConnectionManager,
    key_prefix: &str,
    queue: QueueName,
    settings: &QueueSettings,
    fetch_batch: usize,
) -> RedisStorage<J> {
    let config = Config::default()
        .queue(namespace(key_prefix, queue))
        .batch_size(fetch_batch.max(1))
        .heartbeat_interval(Duration::from_secs(settings.heartbeat_secs))
        .missed_heartbeats(settings.missed_heartbeats)
        .lock_tasks(true)
        .persist_results(true)
        .emit_events(false)
        .idempotency_ttl(None);
    RedisStorage::new(connection).with_config(config)
}

/// Jobs waiting in Redis (due or not yet due), the figure the 8,000-job fetch limit is about.
pub async fn depth(connection: &mut ConnectionManager, namespace: &str) -> Result<u64, redis::RedisError> {
    let (active, scheduled): (u64, u64) = redis::pipe()
        .cmd("LLEN")
        .arg(format!("{namespace}:active"))
        .cmd("ZCARD")
        .arg(format!("{namespace}:scheduled"))
        .query_async(connection)
        .await?;
    Ok(active + scheduled)
}

/// Removes finished jobs (`:done`, and `:dead` which only holds undecodable payloads since
/// handlers never fail a job in apalis) with their data and metadata; returns how many.
pub async fn prune_finished(connection: &mut ConnectionManager, namespace: &str) -> Result<u64, redis::RedisError> {
    const CHUNK: usize = 500;
    let mut pruned = 0;
    for set in ["done", "dead"] {
        let set_key = format!("{namespace}:{set}");
        loop {
            let ids: Vec<String> = redis::cmd("SRANDMEMBER").arg(&set_key).arg(CHUNK).query_async(connection).await?;
            if ids.is_empty() {
                break;
            }
            let mut pipe = redis::pipe();
            pipe.cmd("HDEL").arg(format!("{namespace}:data")).arg(&ids).ignore();
            for id in &ids {
                pipe.cmd("DEL").arg(format!("{namespace}:meta:{id}")).ignore();
            }
            pipe.cmd("SREM").arg(&set_key).arg(&ids).ignore();
            pipe.query_async::<()>(connection).await?;
            pruned += ids.len() as u64;
            if ids.len() < CHUNK {
                break;
            }
        }
    }
    Ok(pruned)
}

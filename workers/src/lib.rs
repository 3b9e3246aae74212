//! The Recete worker fleet: job handlers and the supervision of their pools.
//!
//! A worker process runs, for each pool it was given: the apalis worker (supervised, restarted
//! with backoff when its backend fails), the relay that feeds its queue from PostgreSQL, and
//! the pruner that keeps finished jobs from piling up in Redis. Housekeeping (assumed
//! deliveries, the analytics rollup, the daily API key expiry, pruning), the queue gauges'
//! sampler and the process's heartbeat run beside them. One cancellation token stops everything:
//! workers stop fetching and finish what they hold; two seconds before
//! `worker.shutdown_grace_secs` is over, jobs still running are released (their rows handed
//! back for the next relay pass) so the process exits within the grace.
//!
//! The job life cycle these handlers run in (claims, time bounds, hand-back, attempts, the
//! relay and pruner loops, the heartbeat) is the `recete_jobs` crate; this crate holds the
//! handlers and wires the pools.
//!
//! # Layout
//! - [`pools`]: the pools a process can run.
//! - [`supervisor`]: running a pool and restarting it when it fails.
//! - [`orders`]: the order-events handler.
//! - [`whatsapp`]: inbound messages (STOP, START) and delivery statuses.
//! - [`messages`]: sending follow-ups and replies exactly once.
//! - [`knowledge`]: scraping product pages and embedding product text.
//! - [`conversations`]: answering customers' messages with the agent.
//! - [`imports`]: reading uploaded CSV files into orders and products.
//! - [`webhooks`]: delivering merchant events to merchants' endpoints.
//! - [`housekeeping`]: periodic jobs.
//! - [`health`]: the health and metrics listener of a worker-only process.
#![forbid(unsafe_code)]

pub mod conversations;
pub mod health;
pub mod housekeeping;
pub mod imports;
pub mod knowledge;
pub mod messages;
pub mod orders;
pub mod pools;
pub mod supervisor;
pub mod webhooks;
pub mod whatsapp;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use recete_config::Settings;
use recete_jobs::wakeups::RelayWakeups;
use recete_jobs::{EventJob, TaskJob, heartbeat, prune_loop, relay_loop, stats};
use recete_messaging::whatsapp::Sender;
use recete_platform::crypto::Keyring;
use recete_platform::db::listening::Listening;
use recete_platform::redis_client::RedisClient;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

pub use pools::Pool;

/// What every pool shares with the rest of the process.
#[derive(Clone)]
pub struct WorkerDeps {
    pub pool: PgPool,
    pub redis: RedisClient,
    pub keyring: Arc<Keyring>,
    pub settings: Arc<Settings>,
    /// WhatsApp Cloud API, or the local outbox when no credentials are configured.
    pub sender: Sender,
}

pub struct WorkerOptions {
    pub pools: Vec<Pool>,
    /// Where to serve `/healthz`, `/readyz` and `/metrics`; `None` when the API in the same
    /// process already serves them.
    pub health_listen: Option<SocketAddr>,
}

/// Time left between releasing running jobs and the end of the grace period: enough to hand
/// their rows back and record the attempts.
const RELEASE_MARGIN: Duration = Duration::from_secs(2);

/// When running jobs are released after shutdown begins: the grace less the margin, never negative.
pub fn release_after(grace: Duration) -> Duration {
    grace.saturating_sub(RELEASE_MARGIN)
}

/// Runs the chosen pools until `shutdown` fires, then lets them finish within the grace period.
pub async fn run(deps: WorkerDeps, options: WorkerOptions, shutdown: CancellationToken) -> anyhow::Result<()> {
    let health = match options.health_listen {
        Some(address) => Some(health::serve(address, deps.clone(), shutdown.clone()).await?),
        None => None,
    };
    let queues: Vec<_> = options.pools.iter().map(Pool::queue).collect();
    let process = Arc::new(heartbeat::Process::new(&queues));
    let release = CancellationToken::new();
    let releaser = tokio::spawn(release_near_grace_end(
        Duration::from_secs(deps.settings.worker.shutdown_grace_secs),
        shutdown.clone(),
        release.clone(),
    ));
    let stopped = CancellationToken::new();
    let heartbeat_interval = Duration::from_secs(deps.settings.metrics.heartbeat_interval_secs);
    let beating = (!options.pools.is_empty()).then(|| {
        tokio::spawn(heartbeat::run(
            process.clone(),
            deps.pool.clone(),
            heartbeat_interval,
            shutdown.clone(),
            stopped.clone(),
        ))
    });
    let mut tasks = tokio::task::JoinSet::new();
    let wakeups = Arc::new(RelayWakeups::new(&queues));
    if !queues.is_empty() {
        let check_every = Duration::from_secs(deps.settings.queue.sweep_interval_secs);
        let listening = Listening::from_settings(&deps.settings.database, &deps.pool)?;
        tasks.spawn(wakeups.clone().listen(listening, deps.pool.clone(), check_every, shutdown.clone()));
    }
    for pool in &options.pools {
        let queue = pool.queue();
        tasks.spawn(supervisor::supervise(*pool, deps.clone(), shutdown.clone(), process.clone(), release.clone()));
        let (db, redis, settings) = (deps.pool.clone(), deps.redis.clone(), deps.settings.queue.clone());
        let (woken_by, stop) = (wakeups.clone(), shutdown.clone());
        match pool {
            Pool::OrderEvents | Pool::WhatsAppEvents => {
                tasks.spawn(relay_loop::run::<EventJob>(queue, db, redis, settings, woken_by, stop));
            }
            Pool::Messages | Pool::Knowledge | Pool::Conversations | Pool::Imports | Pool::Webhooks => {
                tasks.spawn(relay_loop::run::<TaskJob>(queue, db, redis, settings, woken_by, stop));
            }
        }
        let prune_every = Duration::from_secs(deps.settings.queue.prune_interval_secs);
        tasks.spawn(prune_loop::run(queue, deps.redis.clone(), prune_every, shutdown.clone()));
    }
    if !options.pools.is_empty() {
        tasks.spawn(housekeeping::run(deps.clone(), shutdown.clone()));
        let sampler = stats::Sampler::new(deps.pool.clone(), &deps.settings.metrics);
        tasks.spawn(sampler.run_until(shutdown.clone().cancelled_owned()));
    }
    tracing::info!(pools = ?options.pools, process = %process.id, "workers started");
    while let Some(joined) = tasks.join_next().await {
        if let Err(error) = joined {
            tracing::error!(%error, "a worker task panicked");
        }
    }
    releaser.abort();
    stopped.cancel();
    if let Some(beating) = beating
        && let Err(error) = beating.await
    {
        tracing::error!(%error, "the heartbeat task panicked");
    }
    if let Some(health) = health {
        health.await??;
    }
    tracing::info!("workers stopped");
    Ok(())
}

async fn release_near_grace_end(grace: Duration, shutdown: CancellationToken, release: CancellationToken) {
    shutdown.cancelled().await;
    tokio::time::sleep(release_after(grace)).await;
    tracing::warn!(grace_secs = grace.as_secs(), "grace period nearly over; releasing running jobs");
    release.cancel();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_are_released_two_seconds_before_the_grace_ends_and_never_before_shutdown() {
        assert_eq!(release_after(Duration::from_secs(25)), Duration::from_secs(23));
        assert_eq!(release_after(Duration::from_secs(1)), Duration::ZERO);
    }
}

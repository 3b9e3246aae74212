//! The Recete worker fleet: job handlers and the supervision of their pools.
//!
//! A worker process runs, for each pool it was given: the apalis worker (supervised, restarted
//! with backoff when its backend fails), the relay that feeds its queue from PostgreSQL, and
//! the pruner that keeps finished jobs from piling up in Redis. Housekeeping (assumed
//! deliveries, queue gauges, the analytics rollup, the daily API key expiry) runs beside them. One cancellation token stops everything: workers
//! stop fetching, finish what they hold within `worker.shutdown_grace_secs`, and return.
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
//! - [`feeding`]: the relay and pruner loops of each queue.
//! - [`housekeeping`]: periodic jobs.
//! - [`health`]: the health and metrics listener of a worker-only process.
#![forbid(unsafe_code)]

pub mod conversations;
pub mod feeding;
pub mod health;
pub mod housekeeping;
pub mod imports;
pub mod jobs;
pub mod knowledge;
pub mod messages;
pub mod orders;
pub mod pools;
pub mod supervisor;
pub mod whatsapp;

use std::net::SocketAddr;
use std::sync::Arc;

use recete_shared::config::Settings;
use recete_shared::crypto::Keyring;
use recete_shared::queue::{EventJob, TaskJob};
use recete_shared::redis_client::RedisClient;
use recete_shared::whatsapp::Sender;
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

/// Runs the chosen pools until `shutdown` fires, then lets them finish within the grace period.
pub async fn run(deps: WorkerDeps, options: WorkerOptions, shutdown: CancellationToken) -> anyhow::Result<()> {
    let health = match options.health_listen {
        Some(address) => Some(health::serve(address, deps.clone(), shutdown.clone()).await?),
        None => None,
    };
    let mut tasks = tokio::task::JoinSet::new();
    for pool in &options.pools {
        let queue = pool.queue();
        tasks.spawn(supervisor::supervise(*pool, deps.clone(), shutdown.clone()));
        match pool {
            Pool::OrderEvents | Pool::WhatsAppEvents => {
                tasks.spawn(feeding::relay_loop::<EventJob>(queue, deps.clone(), shutdown.clone()));
            }
            Pool::Messages | Pool::Knowledge | Pool::Conversations | Pool::Imports => {
                tasks.spawn(feeding::relay_loop::<TaskJob>(queue, deps.clone(), shutdown.clone()));
            }
        }
        tasks.spawn(feeding::prune_loop(queue, deps.clone(), shutdown.clone()));
    }
    if !options.pools.is_empty() {
        tasks.spawn(housekeeping::run(deps.clone(), shutdown.clone()));
    }
    tracing::info!(pools = ?options.pools, "workers started");
    while let Some(joined) = tasks.join_next().await {
        if let Err(error) = joined {
            tracing::error!(%error, "a worker task panicked");
        }
    }
    if let Some(health) = health {
        health.await??;
    }
    tracing::info!("workers stopped");
    Ok(())
}

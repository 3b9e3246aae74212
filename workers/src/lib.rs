//! The Recete worker fleet: job handlers and the supervision of their pools.
//!
//! # Layout
//! - [`health`]: the health and metrics listener of a worker-only process.
//! - [`pools`]: the pools a process can run and how they are chosen.
#![forbid(unsafe_code)]

pub mod health;
pub mod pools;

use std::net::SocketAddr;

use recete_shared::redis_client::RedisClient;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

pub use pools::Pool;

/// Connections the workers share with the rest of the process.
#[derive(Clone)]
pub struct WorkerDeps {
    pub pool: PgPool,
    pub redis: RedisClient,
}

pub struct WorkerOptions {
    pub pools: Vec<Pool>,
    /// Where to serve `/healthz`, `/readyz` and `/metrics`; `None` when the API in the same
    /// process already serves them.
    pub health_listen: Option<SocketAddr>,
}

/// Runs the chosen pools until `shutdown` fires, then lets them finish within their grace period.
pub async fn run(deps: WorkerDeps, options: WorkerOptions, shutdown: CancellationToken) -> anyhow::Result<()> {
    let health = match options.health_listen {
        Some(address) => Some(health::serve(address, deps.clone(), shutdown.clone()).await?),
        None => None,
    };
    tracing::info!(pools = ?options.pools, "workers started");
    shutdown.cancelled().await;
    if let Some(health) = health {
        health.await??;
    }
    tracing::info!("workers stopped");
    Ok(())
}

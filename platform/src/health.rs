//! Readiness of the dependencies every process needs, checked one by one so an operator sees
//! which one is down.

use std::time::{Duration, Instant};

use serde::Serialize;
use sqlx::PgPool;

use crate::redis_client::RedisClient;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Serialize)]
pub struct Check {
    pub status: &'static str,
    pub latency_ms: u128,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Readiness {
    pub status: &'static str,
    pub checks: Checks,
}

#[derive(Debug, Serialize)]
pub struct Checks {
    pub postgres: Check,
    pub redis: Check,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.status == "ready"
    }
}

async fn check<F, E>(name: &'static str, probe: F) -> Check
where
    F: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let started = Instant::now();
    let error = match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error.to_string()),
        Err(_) => Some(format!("no answer within {} ms", CHECK_TIMEOUT.as_millis())),
    };
    metrics::gauge!("recete_dependency_up", "dependency" => name).set(if error.is_none() { 1.0 } else { 0.0 });
    // Connection errors name hosts and ports, never credentials (sqlx and redis redact them).
    Check { status: if error.is_none() { "up" } else { "down" }, latency_ms: started.elapsed().as_millis(), error }
}

/// Checks PostgreSQL (`SELECT 1`) and Redis (`PING`) concurrently. `draining` reports a process
/// that is shutting down as not ready whatever its dependencies say.
pub async fn readiness(pool: &PgPool, redis: &RedisClient, draining: bool) -> Readiness {
    let postgres = check("postgres", async { sqlx::query("SELECT 1").execute(pool).await.map(|_| ()) });
    let redis = check("redis", redis.ping());
    let (postgres, redis) = tokio::join!(postgres, redis);
    let status = if draining {
        "draining"
    } else if postgres.status == "up" && redis.status == "up" {
        "ready"
    } else {
        "unavailable"
    };
    Readiness { status, checks: Checks { postgres, redis } }
}

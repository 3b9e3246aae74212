//! The `worker_processes` rows: each worker process's heartbeat with its pools' slots, which is
//! how the queue board and the `recete_workers_live` gauge see the whole fleet.

use std::time::Duration;

use sqlx::PgPool;

/// One beat of a worker process.
#[derive(Debug, Clone)]
pub struct Heartbeat<'a> {
    /// `<hostname>-<pid>-<random>`.
    pub id: &'a str,
    pub hostname: &'a str,
    pub pid: i32,
    pub version: &'a str,
    /// Each pool's `{ "slots", "busy" }`.
    pub pools: serde_json::Value,
    /// Shutdown began: the row is marked draining (and stays so).
    pub draining: bool,
}

/// Inserts or refreshes the process's row.
pub async fn beat(pool: &PgPool, heartbeat: &Heartbeat<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO worker_processes (id, hostname, pid, version, pools, draining_since)
         VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN now() END)
         ON CONFLICT (id) DO UPDATE SET pools = EXCLUDED.pools, last_seen_at = now(),
             draining_since = coalesce(worker_processes.draining_since, EXCLUDED.draining_since)",
    )
    .bind(heartbeat.id)
    .bind(heartbeat.hostname)
    .bind(heartbeat.pid)
    .bind(heartbeat.version)
    .bind(&heartbeat.pools)
    .bind(heartbeat.draining)
    .execute(pool)
    .await?;
    Ok(())
}

/// Removes the row of a process that exits cleanly.
pub async fn remove(pool: &PgPool, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM worker_processes WHERE id = $1").bind(id).execute(pool).await?;
    Ok(())
}

/// Removes rows of processes not seen for three heartbeats (killed, or cut off).
pub async fn prune_gone(pool: &PgPool, interval: Duration) -> Result<u64, sqlx::Error> {
    let pruned = sqlx::query("DELETE FROM worker_processes WHERE last_seen_at < now() - make_interval(secs => $1)")
        .bind(interval.as_secs_f64() * 3.0)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(pruned)
}

//! Pausing a queue: its rows stay in PostgreSQL and the relay hands none of them to Redis until
//! an operator resumes it. Jobs already in Redis finish; nothing is lost or reordered.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgPool};

use crate::QueueName;
use recete_platform::db::{self, Tx};

/// A paused queue, as the board and `/metrics` show it.
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct QueuePause {
    pub queue: String,
    pub paused_by: String,
    pub reason: Option<String>,
    pub paused_at: DateTime<Utc>,
}

/// Pauses `queue`; `false` when it was paused already (the first pause is kept).
pub async fn pause(tx: &mut Tx, queue: QueueName, paused_by: &str, reason: Option<&str>) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO queue_pauses (queue, paused_by, reason) VALUES ($1, $2, $3) ON CONFLICT (queue) DO NOTHING",
    )
    .bind(queue.as_str())
    .bind(paused_by)
    .bind(reason)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Resumes `queue`; `false` when it was not paused. Its relays are woken when `tx` commits.
pub async fn resume(tx: &mut Tx, queue: QueueName) -> sqlx::Result<bool> {
    let deleted =
        sqlx::query("DELETE FROM queue_pauses WHERE queue = $1").bind(queue.as_str()).execute(&mut **tx).await?;
    if deleted.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(crate::wakeups::CHANNEL)
        .bind(crate::wakeups::resumed_payload(queue))
        .execute(&mut **tx)
        .await?;
    Ok(true)
}

/// Every paused queue.
pub async fn paused(pool: &PgPool) -> sqlx::Result<Vec<QueuePause>> {
    let mut tx = db::system_tx(pool).await?;
    let pauses = sqlx::query_as("SELECT queue, paused_by, reason, paused_at FROM queue_pauses ORDER BY queue")
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(pauses)
}

/// Whether `queue` is paused, read inside the relay's own transaction.
pub async fn is_paused(tx: &mut Tx, queue: QueueName) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM queue_pauses WHERE queue = $1)")
        .bind(queue.as_str())
        .fetch_one(&mut **tx)
        .await
}

/// A queue named by an operator or a URL: its `as_str()` name.
#[derive(Debug, thiserror::Error)]
#[error("no queue is named `{0}`")]
pub struct UnknownQueue(pub String);

impl FromStr for QueueName {
    type Err = UnknownQueue;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        QueueName::ALL.iter().copied().find(|queue| queue.as_str() == name).ok_or_else(|| UnknownQueue(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_queue_is_found_by_its_name_and_others_are_named_in_the_error() {
        for queue in QueueName::ALL {
            assert_eq!(queue.as_str().parse::<QueueName>().ok(), Some(*queue));
        }
        let error = "orders".parse::<QueueName>().err().map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some("no queue is named `orders`"));
    }
}

//! What `GET /api/events/stream` reads: a merchant's events after a given one, in id order
//! (ids are UUIDv7, so the order they were raised in), and the retention that bounds how far
//! back a stream can resume.
//!
//! A transaction that raised an event with a smaller id may commit after one with a larger id
//! was already streamed. A stream therefore reads again from [`LATE_COMMIT_WINDOW`] before the
//! last event it sent and skips the ids it already sent, so such an event still arrives (once).

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use super::StoredEvent;
use recete_platform::db::{self, Tx};
use recete_platform::ids::MerchantId;

/// The PostgreSQL notification channel; the payload is the merchant's id.
pub const CHANNEL: &str = "recete_merchant_events";

/// How long after a later event an earlier-numbered one may still commit and be streamed.
pub const LATE_COMMIT_WINDOW: Duration = Duration::from_secs(10);

/// Rows deleted per statement by [`prune`].
const PRUNE_BATCH: i64 = 5000;

/// Sends the merchant's notification when `tx` commits (never if it rolls back).
pub async fn notify(tx: &mut Tx, merchant: MerchantId) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(merchant.to_string()).execute(&mut **tx).await?;
    Ok(())
}

/// The merchant's events with an id above `after` (all when `None`), oldest first, at most
/// `limit`. `tx` must be the merchant's.
pub async fn after(tx: &mut Tx, after: Option<Uuid>, limit: i64) -> sqlx::Result<Vec<StoredEvent>> {
    sqlx::query_as(
        "SELECT id, merchant_id, type, payload, created_at FROM merchant_events
         WHERE $1::uuid IS NULL OR id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// The merchant's newest event id, if it has any: where a stream that wants only what happens
/// from now on starts.
pub async fn newest(tx: &mut Tx) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar("SELECT id FROM merchant_events ORDER BY id DESC LIMIT 1").fetch_optional(&mut **tx).await
}

/// Whether the merchant still holds event `id` (false once pruned, or never the merchant's).
pub async fn is_retained(tx: &mut Tx, id: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM merchant_events WHERE id = $1)")
        .bind(id)
        .fetch_one(&mut **tx)
        .await
}

/// The smallest UUIDv7 of the millisecond `window` before `id`'s (the nil id when `id` is not a
/// UUIDv7 or the window reaches before the epoch): where a re-read for late commits starts.
pub fn window_start(id: Uuid, window: Duration) -> Uuid {
    let Some(timestamp) = id.get_timestamp() else {
        return Uuid::nil();
    };
    let (seconds, nanos) = timestamp.to_unix();
    let millis = u128::from(seconds) * 1000 + u128::from(nanos / 1_000_000);
    let Some(start) = millis.checked_sub(window.as_millis()) else {
        return Uuid::nil();
    };
    // The UUIDv7 of that millisecond with no random bits set is the smallest of it.
    uuid::Builder::from_unix_timestamp_millis(u64::try_from(start).unwrap_or(0), &[0; 10]).into_uuid()
}

/// What one prune removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub events: u64,
    pub deliveries: u64,
}

/// Deletes finished webhook deliveries, then events, older than `retention_days`, in batches.
/// An event with a delivery still pending or being retried is kept until the delivery ends.
pub async fn prune(pool: &PgPool, retention_days: u32) -> sqlx::Result<Pruned> {
    let days = i32::try_from(retention_days).unwrap_or(i32::MAX);
    let mut pruned = Pruned::default();
    loop {
        let mut tx = db::system_tx(pool).await?;
        let deleted = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE id IN (
                 SELECT id FROM webhook_deliveries
                 WHERE state IN ('delivered', 'dead', 'cancelled') AND updated_at < now() - make_interval(days => $1)
                 ORDER BY updated_at LIMIT $2)",
        )
        .bind(days)
        .bind(PRUNE_BATCH)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        pruned.deliveries += deleted;
        if deleted < PRUNE_BATCH as u64 {
            break;
        }
        tokio::task::yield_now().await;
    }
    loop {
        let mut tx = db::system_tx(pool).await?;
        let deleted = sqlx::query(
            "DELETE FROM merchant_events WHERE id IN (
                 SELECT e.id FROM merchant_events e
                 WHERE e.created_at < now() - make_interval(days => $1)
                   AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                                   WHERE d.event_id = e.id AND d.state IN ('pending', 'failed'))
                 ORDER BY e.created_at LIMIT $2)",
        )
        .bind(days)
        .bind(PRUNE_BATCH)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        pruned.events += deleted;
        if deleted < PRUNE_BATCH as u64 {
            break;
        }
        tokio::task::yield_now().await;
    }
    Ok(pruned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_starts_before_every_id_raised_in_it() {
        let id = Uuid::now_v7();
        let start = window_start(id, LATE_COMMIT_WINDOW);
        assert!(start < id);
        let (seconds, _) = start.get_timestamp().expect("a v7 id").to_unix();
        let (id_seconds, _) = id.get_timestamp().expect("a v7 id").to_unix();
        assert!((id_seconds - seconds).abs_diff(10) <= 1, "{seconds} vs {id_seconds}");
        assert_eq!(window_start(Uuid::nil(), LATE_COMMIT_WINDOW), Uuid::nil());
    }
}

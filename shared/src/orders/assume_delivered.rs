//! Stores that never report delivery still get follow-ups: an order fulfilled longer ago than the
//! merchant's `assume_delivered_after_days` becomes delivered as of fulfilment plus that delay.

use chrono::{DateTime, Utc};

use crate::db;

/// Advisory lock key: one replica applies the rule per tick across the fleet.
const LOCK_KEY: i64 = 0x7265_6365_7465_0001;

/// Applies the rule to at most `limit` orders as of `now`; returns how many became delivered.
/// Returns 0 without waiting when another process holds the tick.
pub async fn run_once(pool: &sqlx::PgPool, now: DateTime<Utc>, limit: i64) -> Result<u64, sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    let acquired: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)").bind(LOCK_KEY).fetch_one(&mut *tx).await?;
    if !acquired {
        return Ok(0);
    }
    let changed = sqlx::query(
        "WITH due AS (
             SELECT o.id, o.fulfilled_at + make_interval(days => coalesce((m.settings->>'assume_delivered_after_days')::int, 5)) AS assumed_at
             FROM orders o JOIN merchants m ON m.id = o.merchant_id
             WHERE o.status = 'fulfilled' AND o.fulfilled_at IS NOT NULL
               AND o.fulfilled_at + make_interval(days => coalesce((m.settings->>'assume_delivered_after_days')::int, 5)) <= $1
             ORDER BY o.fulfilled_at
             LIMIT $2
             FOR UPDATE OF o SKIP LOCKED
         ),
         delivered AS (
             UPDATE orders o SET status = 'delivered', delivered_at = due.assumed_at
             FROM due WHERE o.id = due.id
             RETURNING o.id, o.merchant_id
         )
         INSERT INTO audit_log (merchant_id, actor, action, subject_type, subject_id, before, after)
         SELECT merchant_id, 'worker:assume-delivered', 'order.status_changed', 'order', id::text,
                '{\"status\": \"fulfilled\"}'::jsonb, '{\"status\": \"delivered\", \"assumed\": true}'::jsonb
         FROM delivered",
    )
    .bind(now)
    .bind(limit)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(changed)
}

//! Stores that never report delivery still get follow-ups: an order fulfilled longer ago than the
//! merchant's `assume_delivered_after_days` becomes delivered as of fulfilment plus that delay,
//! and its follow-ups are planned like any other delivery's.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::followups::planning::{self, Delivery};
use crate::merchants;
use recete_platform::db;
use recete_platform::ids::{CustomerId, MerchantId, OrderId};

/// Advisory lock key: one replica applies the rule per tick across the fleet.
const LOCK_KEY: i64 = 0x7265_6365_7465_0001;
const ACTOR: &str = "worker:assume-delivered";

/// Applies the rule to at most `limit` orders as of `now`; returns how many became delivered.
/// Returns 0 without waiting when another process holds the tick.
pub async fn run_once(pool: &sqlx::PgPool, now: DateTime<Utc>, limit: i64) -> Result<u64, sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    let acquired: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)").bind(LOCK_KEY).fetch_one(&mut *tx).await?;
    if !acquired {
        return Ok(0);
    }
    let delivered: Vec<(OrderId, MerchantId, Option<CustomerId>, DateTime<Utc>)> = sqlx::query_as(
        "WITH due AS (
             SELECT o.id, o.fulfilled_at + make_interval(days => coalesce((m.settings->>'assume_delivered_after_days')::int, 5)) AS assumed_at
             FROM orders o JOIN merchants m ON m.id = o.merchant_id
             WHERE o.status = 'fulfilled' AND o.fulfilled_at IS NOT NULL
               AND o.fulfilled_at + make_interval(days => coalesce((m.settings->>'assume_delivered_after_days')::int, 5)) <= $1
             ORDER BY o.fulfilled_at
             LIMIT $2
             FOR UPDATE OF o SKIP LOCKED
         )
         UPDATE orders o SET status = 'delivered', delivered_at = due.assumed_at
         FROM due WHERE o.id = due.id
         RETURNING o.id, o.merchant_id, o.customer_id, o.delivered_at",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    for (order_id, merchant_id, customer_id, delivered_at) in &delivered {
        audit::record(
            &mut tx,
            AuditEntry {
                merchant_id: Some(*merchant_id),
                actor: ACTOR,
                action: "order.status_changed",
                subject_type: "order",
                subject_id: order_id.to_string(),
                event_id: None,
                before: Some(json!({ "status": "fulfilled" })),
                after: Some(json!({ "status": "delivered", "assumed": true })),
            },
        )
        .await?;
        let settings = merchants::settings(&mut tx, *merchant_id).await?;
        let delivery = Delivery {
            merchant_id: *merchant_id,
            order_id: *order_id,
            customer_id: *customer_id,
            delivered_at: *delivered_at,
            actor: ACTOR,
            event_id: None,
        };
        planning::plan_after_delivery(&mut tx, &delivery, &settings, now).await?;
    }
    tx.commit().await?;
    Ok(delivered.len() as u64)
}

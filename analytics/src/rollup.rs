//! The analytics rollup: figures per merchant and day (in the merchant's time zone) in
//! `analytics_daily`, recomputed from the source tables.
//!
//! Each figure is a count over rows as they stand, so recomputing a day is an upsert of the same
//! numbers however often it runs and on however many replicas. What is counted, per day:
//! - `messages_sent`: outbound messages (follow-ups and replies) whose send was confirmed that
//!   day (`sent_at`); `messages_delivered` and `messages_read` count those of them that have
//!   since reached the phone (delivered or read: a read message was delivered even when Meta
//!   never said so) or been read. A message's later statuses count towards the day it was sent.
//! - `messages_failed`: outbound messages that failed for good, by the day they failed.
//! - `follow_ups_sent`: the proactive part of `messages_sent`. `replied`: those follow-ups the
//!   customer answered, meaning any message from the same customer within 24 hours after the
//!   follow-up was sent (a STOP counts: it is an answer too).
//! - `inbound_messages`: messages customers wrote that day.
//! - `opt_outs`: WhatsApp consent changes to revoked recorded that day (STOP, Meta's "Stop
//!   promotions" button and `user_preferences` webhook, Meta's opt-out error, the store's own
//!   consent field), from the audit trail.
//! - `hand_overs`: conversations handed to a person that day, from the audit trail.
//! - `orders_delivered`: orders whose delivery time falls on the day.
//! - `follow_ups_planned`: follow-ups planned that day, whatever became of them.
//!
//! Which days to recompute: those that rows written since the last successful rollup count
//! towards (a status for a message sent last week touches last week's day), read through
//! indexes on the rows' write times, plus today and yesterday of every merchant. The watermark is
//! the start of the last successful run minus `overlap`, because a transaction that wrote before
//! that start may have committed after it.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use recete_platform::db;
use recete_shared::periodic::{self, PeriodicJob, Run};

/// The rollup's periodic job: its name, lease and retries, defined with the periodic runs.
pub const JOB: PeriodicJob = periodic::ANALYTICS_ROLLUP;

/// (merchant, day) pairs recomputed per transaction.
const CHUNK: usize = 500;
/// A first rollup over a large history reads every source row once; it may take this long.
const BACKFILL_STATEMENT_TIMEOUT: &str = "300s";

/// What one rollup did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RollupReport {
    /// Merchant days recomputed.
    pub days_recomputed: u64,
    /// Of those, days whose stored figures changed.
    pub days_changed: u64,
}

/// This tick's rollup, unless another replica has the tick or had it.
pub async fn run_periodic(
    pool: &PgPool,
    now: DateTime<Utc>,
    interval: Duration,
    overlap: Duration,
) -> Result<Run<RollupReport>, sqlx::Error> {
    periodic::run_once(pool, &JOB, &periodic::tick_period(now, interval), || async move {
        let overlap = chrono::Duration::from_std(overlap)?;
        let since = periodic::last_success(pool, JOB.name).await?.map(|last| last.started_at - overlap);
        Ok(recompute(pool, since).await?)
    })
    .await
}

/// Recomputes every merchant day touched by rows written after `since` (every day with any
/// activity when `None`), plus each merchant's today and yesterday.
pub async fn recompute(pool: &PgPool, since: Option<DateTime<Utc>>) -> Result<RollupReport, sqlx::Error> {
    let touched = touched_days(pool, since).await?;
    let mut report = RollupReport::default();
    for chunk in touched.chunks(CHUNK) {
        let (merchants, days): (Vec<Uuid>, Vec<NaiveDate>) = chunk.iter().copied().unzip();
        report.days_changed += recompute_days(pool, &merchants, &days).await?;
        report.days_recomputed += chunk.len() as u64;
    }
    Ok(report)
}

async fn touched_days(pool: &PgPool, since: Option<DateTime<Utc>>) -> Result<Vec<(Uuid, NaiveDate)>, sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    if since.is_none() {
        sqlx::query("SELECT set_config('statement_timeout', $1, true)")
            .bind(BACKFILL_STATEMENT_TIMEOUT)
            .execute(&mut *tx)
            .await?;
    }
    // Each written row names the instants it counts at; the merchant's zone makes them days.
    let touched = sqlx::query_as(
        "WITH since AS (SELECT coalesce($1::timestamptz, '-infinity'::timestamptz) AS at),
         written (merchant_id, at) AS (
             SELECT m.merchant_id, counted.at
             FROM messages m
             CROSS JOIN LATERAL (VALUES
                 (CASE WHEN m.direction = 'outbound' THEN m.sent_at END),
                 (CASE WHEN m.direction = 'outbound' AND m.status = 'failed' THEN m.status_at END),
                 (CASE WHEN m.direction = 'inbound' THEN m.status_at END),
                 (CASE WHEN m.direction = 'inbound' THEN m.status_at - interval '24 hours' END)
             ) AS counted (at)
             WHERE m.updated_at > (SELECT at FROM since) AND counted.at IS NOT NULL
             UNION ALL
             SELECT merchant_id, delivered_at FROM orders
             WHERE updated_at > (SELECT at FROM since) AND delivered_at IS NOT NULL
             UNION ALL
             SELECT merchant_id, created_at FROM scheduled_tasks
             WHERE kind = 'follow_up' AND created_at > (SELECT at FROM since)
             UNION ALL
             SELECT merchant_id, created_at FROM audit_log
             WHERE action IN ('customer.consent_changed', 'conversation.handed_over')
               AND created_at > (SELECT at FROM since) AND merchant_id IS NOT NULL
         )
         SELECT w.merchant_id, (w.at AT TIME ZONE mer.timezone)::date AS day
         FROM written w JOIN merchants mer ON mer.id = w.merchant_id
         UNION
         SELECT mer.id, (now() AT TIME ZONE mer.timezone)::date - back.days
         FROM merchants mer CROSS JOIN (VALUES (0), (1)) AS back (days)
         ORDER BY 1, 2",
    )
    .bind(since)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(touched)
}

/// Recomputes the given merchant days in one transaction; returns how many stored rows changed.
/// A day with nothing to count gets no row unless it had one.
async fn recompute_days(pool: &PgPool, merchants: &[Uuid], days: &[NaiveDate]) -> Result<u64, sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    let changed = sqlx::query(
        "WITH asked AS (
             SELECT a.merchant_id, a.day,
                    a.day::timestamp AT TIME ZONE mer.timezone AS day_start,
                    (a.day + 1)::timestamp AT TIME ZONE mer.timezone AS day_end
             FROM unnest($1::uuid[], $2::date[]) AS a (merchant_id, day)
             JOIN merchants mer ON mer.id = a.merchant_id
         ), figures AS (
             SELECT a.merchant_id, a.day, sent.*, failed.*, inbound.*, audited.*, delivered.*, planned.*
             FROM asked a
             CROSS JOIN LATERAL (
                 SELECT count(*) AS messages_sent,
                        count(*) FILTER (WHERE o.status IN ('delivered', 'read')) AS messages_delivered,
                        count(*) FILTER (WHERE o.status = 'read') AS messages_read,
                        count(*) FILTER (WHERE o.proactive) AS follow_ups_sent,
                        count(*) FILTER (WHERE o.proactive AND EXISTS (
                            SELECT 1 FROM messages answer
                            WHERE answer.customer_id = o.customer_id AND answer.direction = 'inbound'
                              AND answer.status_at > o.sent_at AND answer.status_at <= o.sent_at + interval '24 hours'
                        )) AS replied
                 FROM messages o
                 WHERE o.merchant_id = a.merchant_id AND o.direction = 'outbound' AND o.sent_at IS NOT NULL
                   AND o.sent_at >= a.day_start AND o.sent_at < a.day_end
             ) sent
             CROSS JOIN LATERAL (
                 SELECT count(*) AS messages_failed FROM messages f
                 WHERE f.merchant_id = a.merchant_id AND f.direction = 'outbound' AND f.status = 'failed'
                   AND f.status_at >= a.day_start AND f.status_at < a.day_end
             ) failed
             CROSS JOIN LATERAL (
                 SELECT count(*) AS inbound_messages FROM messages i
                 WHERE i.merchant_id = a.merchant_id AND i.direction = 'inbound'
                   AND i.status_at >= a.day_start AND i.status_at < a.day_end
             ) inbound
             CROSS JOIN LATERAL (
                 SELECT count(*) FILTER (WHERE l.action = 'customer.consent_changed'
                                           AND l.after->>'whatsapp_consent' = 'revoked') AS opt_outs,
                        count(*) FILTER (WHERE l.action = 'conversation.handed_over') AS hand_overs
                 FROM audit_log l
                 WHERE l.merchant_id = a.merchant_id
                   AND l.action IN ('customer.consent_changed', 'conversation.handed_over')
                   AND l.created_at >= a.day_start AND l.created_at < a.day_end
             ) audited
             CROSS JOIN LATERAL (
                 SELECT count(*) AS orders_delivered FROM orders d
                 WHERE d.merchant_id = a.merchant_id AND d.delivered_at IS NOT NULL
                   AND d.delivered_at >= a.day_start AND d.delivered_at < a.day_end
             ) delivered
             CROSS JOIN LATERAL (
                 SELECT count(*) AS follow_ups_planned FROM scheduled_tasks t
                 WHERE t.merchant_id = a.merchant_id AND t.kind = 'follow_up'
                   AND t.created_at >= a.day_start AND t.created_at < a.day_end
             ) planned
         )
         INSERT INTO analytics_daily AS stored (merchant_id, day, messages_sent, messages_delivered, messages_read,
             messages_failed, follow_ups_sent, replied, inbound_messages, opt_outs, hand_overs, orders_delivered,
             follow_ups_planned)
         SELECT merchant_id, day, messages_sent, messages_delivered, messages_read, messages_failed, follow_ups_sent,
                replied, inbound_messages, opt_outs, hand_overs, orders_delivered, follow_ups_planned
         FROM figures f
         WHERE messages_sent + messages_failed + inbound_messages + opt_outs + hand_overs + orders_delivered
                 + follow_ups_planned > 0
            OR EXISTS (SELECT 1 FROM analytics_daily e WHERE e.merchant_id = f.merchant_id AND e.day = f.day)
         ON CONFLICT (merchant_id, day) DO UPDATE SET
             messages_sent = excluded.messages_sent, messages_delivered = excluded.messages_delivered,
             messages_read = excluded.messages_read, messages_failed = excluded.messages_failed,
             follow_ups_sent = excluded.follow_ups_sent, replied = excluded.replied,
             inbound_messages = excluded.inbound_messages, opt_outs = excluded.opt_outs,
             hand_overs = excluded.hand_overs, orders_delivered = excluded.orders_delivered,
             follow_ups_planned = excluded.follow_ups_planned, computed_at = now()
         WHERE (stored.messages_sent, stored.messages_delivered, stored.messages_read, stored.messages_failed,
                stored.follow_ups_sent, stored.replied, stored.inbound_messages, stored.opt_outs, stored.hand_overs,
                stored.orders_delivered, stored.follow_ups_planned)
               IS DISTINCT FROM
               (excluded.messages_sent, excluded.messages_delivered, excluded.messages_read,
                excluded.messages_failed, excluded.follow_ups_sent, excluded.replied, excluded.inbound_messages,
                excluded.opt_outs, excluded.hand_overs, excluded.orders_delivered, excluded.follow_ups_planned)",
    )
    .bind(merchants)
    .bind(days)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(changed)
}

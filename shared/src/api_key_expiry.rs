//! The daily expiry of API keys, once a day across the fleet.
//!
//! Authentication already refuses a key past its `expires_at`, whatever this job does; the job
//! exists for the record: it stamps `expired_at` on each lapsed key, writes one audit row per key
//! for its merchant, and counts them. A key revoked before it lapsed stays a revoked key. The
//! stamp is set only where it is missing, so a second run (another replica after a lost lease,
//! or the next day) finds nothing to repeat.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::PgPool;

use crate::audit::{self, AuditEntry};
use crate::periodic::{self, PeriodicJob, Run};
use recete_platform::db;
use recete_platform::ids::{ApiKeyId, MerchantId};

pub const JOB: PeriodicJob = PeriodicJob {
    name: "api_key_expiry",
    lease: Duration::from_secs(600),
    max_attempts: 5,
    retry_base: Duration::from_secs(60),
    retention: Duration::from_secs(90 * 86_400),
};
const ACTOR: &str = "worker:api-key-expiry";
/// Keys stamped per transaction.
const BATCH: i64 = 500;

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ExpiryReport {
    pub expired: u64,
}

/// Today's run, unless another replica has it or had it.
pub async fn run_daily(pool: &PgPool, now: DateTime<Utc>) -> Result<Run<ExpiryReport>, sqlx::Error> {
    periodic::run_once(pool, &JOB, &periodic::daily_period(now), || async move { Ok(expire_lapsed(pool, now).await?) })
        .await
}

/// Stamps every key past its expiry at `now` that is neither stamped nor revoked, with one audit
/// row each, in batches of one transaction each.
pub async fn expire_lapsed(pool: &PgPool, now: DateTime<Utc>) -> Result<ExpiryReport, sqlx::Error> {
    let mut report = ExpiryReport::default();
    loop {
        let mut tx = db::system_tx(pool).await?;
        let expired: Vec<(ApiKeyId, MerchantId, DateTime<Utc>)> = sqlx::query_as(
            "WITH lapsed AS (
                 SELECT id FROM api_keys
                 WHERE expires_at <= $1 AND expired_at IS NULL AND revoked_at IS NULL
                 ORDER BY expires_at
                 LIMIT $2
                 FOR UPDATE SKIP LOCKED
             )
             UPDATE api_keys k SET expired_at = $1
             FROM lapsed WHERE k.id = lapsed.id
             RETURNING k.id, k.merchant_id, k.expires_at",
        )
        .bind(now)
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        for (key_id, merchant_id, expires_at) in &expired {
            audit::record(
                &mut tx,
                AuditEntry {
                    merchant_id: Some(*merchant_id),
                    actor: ACTOR,
                    action: "api_key.expired",
                    subject_type: "api_key",
                    subject_id: key_id.to_string(),
                    event_id: None,
                    before: Some(json!({ "expires_at": expires_at })),
                    after: Some(json!({ "expired_at": now })),
                },
            )
            .await?;
        }
        tx.commit().await?;
        let count = expired.len() as u64;
        report.expired += count;
        metrics::counter!("recete_api_keys_expired_total").increment(count);
        if count < BATCH as u64 {
            return Ok(report);
        }
    }
}

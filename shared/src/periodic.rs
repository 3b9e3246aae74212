//! Periodic jobs that run once per period across the whole fleet, however many worker replicas
//! tick at the same moment.
//!
//! A run is claimed by inserting its `(job, period)` row into `periodic_runs`; the primary key
//! makes exactly one replica win and the others skip, without waiting and without a lock held
//! while the work runs. The row then records the outcome. A replica that dies mid-run leaves its
//! row `running` until the lease lapses, and a failed run waits for its retry time; either may be
//! claimed again, up to the job's attempt limit. Because a claim can outlive its lease, the work
//! itself must be idempotent: a second run of the same period finds nothing left to do.
//!
//! The time of each job's last success is exported as
//! `recete_periodic_job_last_success_timestamp_seconds{job}` by every replica (read from the
//! table, so all replicas report the fleet's truth, not only the one that ran it).

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};

use recete_platform::db;

pub const LAST_SUCCESS_GAUGE: &str = "recete_periodic_job_last_success_timestamp_seconds";

/// Longest error text kept on a run row.
const MAX_ERROR_CHARS: usize = 1000;
/// Longest pause before a failed run may be claimed again.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(3600);

/// A periodic job: its name and how its runs are retried and kept.
#[derive(Debug, Clone, Copy)]
pub struct PeriodicJob {
    /// Stable: it is the key of the job's rows and the `job` label of its metrics.
    pub name: &'static str,
    /// A claim still running after this is taken as abandoned (its process died).
    pub lease: Duration,
    /// Claims of one period at most, the first included.
    pub max_attempts: i32,
    /// Pause before a failed run may be claimed again; doubles with each attempt.
    pub retry_base: Duration,
    /// Rows of older runs are deleted after a success; the latest success is always kept.
    pub retention: Duration,
}

/// How often a fleet job's periods come round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// Once per UTC day ([`daily_period`]).
    DailyUtc,
    /// Once per housekeeping tick (`housekeeping.interval_secs`, [`tick_period`]).
    HousekeepingTick,
}

/// The analytics rollup (`recete_analytics::rollup` does the work, once per housekeeping tick).
/// Its definition stands here, beside the `periodic_runs` rows it names, so the fleet's schedule
/// list (`recete_jobs::admin::schedules`) reads it without the job engine depending on the
/// analytics crate, which is above it.
pub const ANALYTICS_ROLLUP: PeriodicJob = PeriodicJob {
    name: "analytics_rollup",
    lease: Duration::from_secs(600),
    max_attempts: 3,
    retry_base: Duration::from_secs(30),
    retention: Duration::from_secs(2 * 86_400),
};

/// What one replica's attempt at a period came to.
#[derive(Debug)]
pub enum Run<T> {
    /// This replica claimed the period and the work succeeded.
    Done(T),
    /// Nothing to do here: another replica holds or finished the period, or its retries are
    /// used up or not yet due.
    Skipped,
    /// This replica claimed the period and the work failed; the period may be claimed again
    /// after a pause.
    Failed(anyhow::Error),
}

/// The most recent successful run of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct LastSuccess {
    /// When the run was claimed: everything committed before it was there to be seen.
    pub started_at: DateTime<Utc>,
    pub succeeded_at: DateTime<Utc>,
}

/// The period of a daily job: the UTC date.
pub fn daily_period(now: DateTime<Utc>) -> String {
    now.format("%Y-%m-%d").to_string()
}

/// The period of a job that runs once per `interval` across the fleet: the start of the
/// interval `now` falls in, counted from the Unix epoch.
pub fn tick_period(now: DateTime<Utc>, interval: Duration) -> String {
    let seconds = i64::try_from(interval.as_secs()).unwrap_or(i64::MAX).max(1);
    let start = now.timestamp().div_euclid(seconds) * seconds;
    DateTime::from_timestamp(start, 0).unwrap_or(now).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Runs `work` for `period_key` unless another replica has it or had it. Errors are the
/// bookkeeping's own (the database); the work's failure is [`Run::Failed`].
pub async fn run_once<T, F, Fut>(
    pool: &PgPool,
    job: &PeriodicJob,
    period_key: &str,
    work: F,
) -> Result<Run<T>, sqlx::Error>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
    T: Serialize,
{
    let Some(attempt) = claim(pool, job, period_key).await? else {
        return Ok(Run::Skipped);
    };
    match work().await {
        Ok(value) => {
            let outcome = serde_json::to_value(&value).ok();
            let succeeded_at = finish_success(pool, job, period_key, attempt, outcome).await?;
            if let Some(at) = succeeded_at {
                metrics::gauge!(LAST_SUCCESS_GAUGE, "job" => job.name).set(at.timestamp() as f64);
            }
            Ok(Run::Done(value))
        }
        Err(error) => {
            finish_failure(pool, job, period_key, attempt, &error).await?;
            Ok(Run::Failed(error))
        }
    }
}

/// Claims the period: a new row, or a row whose lease lapsed or whose retry is due. Returns the
/// attempt number, or `None` when the period is not this replica's to run.
async fn claim(pool: &PgPool, job: &PeriodicJob, period_key: &str) -> Result<Option<i32>, sqlx::Error> {
    // Under concurrent claims the loser of the insert waits for the winner's commit, then finds
    // its fresh `running` row and updates nothing.
    sqlx::query_scalar(
        "INSERT INTO periodic_runs AS r (job, period_key, state, attempts, started_at, lease_expires_at)
         VALUES ($1, $2, 'running', 1, now(), now() + make_interval(secs => $3))
         ON CONFLICT (job, period_key) DO UPDATE
             SET state = 'running', attempts = r.attempts + 1, started_at = now(),
                 lease_expires_at = now() + make_interval(secs => $3), finished_at = NULL, retry_at = NULL,
                 error = NULL, outcome = NULL
             WHERE r.attempts < $4
               AND ((r.state = 'failed' AND r.retry_at <= now()) OR (r.state = 'running' AND r.lease_expires_at <= now()))
         RETURNING attempts",
    )
    .bind(job.name)
    .bind(period_key)
    .bind(job.lease.as_secs_f64())
    .bind(job.max_attempts)
    .fetch_optional(pool)
    .await
}

async fn finish_success(
    pool: &PgPool,
    job: &PeriodicJob,
    period_key: &str,
    attempt: i32,
    outcome: Option<serde_json::Value>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let mut tx = db::begin(pool).await?;
    // Only the attempt that claimed the row finishes it: a run that outlived its lease and was
    // claimed again leaves the newer attempt's row alone.
    let succeeded_at: Option<DateTime<Utc>> = sqlx::query_scalar(
        "UPDATE periodic_runs SET state = 'succeeded', finished_at = now(), succeeded_at = now(), outcome = $4
         WHERE job = $1 AND period_key = $2 AND attempts = $3 AND state = 'running'
         RETURNING succeeded_at",
    )
    .bind(job.name)
    .bind(period_key)
    .bind(attempt)
    .bind(outcome)
    .fetch_optional(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM periodic_runs
         WHERE job = $1 AND started_at < now() - make_interval(secs => $2)
           AND period_key <> coalesce((SELECT period_key FROM periodic_runs
                                       WHERE job = $1 AND state = 'succeeded'
                                       ORDER BY succeeded_at DESC LIMIT 1), '')",
    )
    .bind(job.name)
    .bind(job.retention.as_secs_f64())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(succeeded_at)
}

async fn finish_failure(
    pool: &PgPool,
    job: &PeriodicJob,
    period_key: &str,
    attempt: i32,
    error: &anyhow::Error,
) -> Result<(), sqlx::Error> {
    let text: String = format!("{error:#}").chars().take(MAX_ERROR_CHARS).collect();
    sqlx::query(
        "UPDATE periodic_runs SET state = 'failed', finished_at = now(), error = $4,
             retry_at = now() + make_interval(secs => $5)
         WHERE job = $1 AND period_key = $2 AND attempts = $3 AND state = 'running'",
    )
    .bind(job.name)
    .bind(period_key)
    .bind(attempt)
    .bind(text)
    .bind(retry_pause(job, attempt).as_secs_f64())
    .execute(pool)
    .await?;
    Ok(())
}

/// The pause after the `attempt`-th failure: the base, doubled per earlier attempt, capped.
fn retry_pause(job: &PeriodicJob, attempt: i32) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(20);
    job.retry_base.saturating_mul(1 << doublings).min(MAX_RETRY_PAUSE)
}

/// The job's most recent success, if any is still recorded.
pub async fn last_success(executor: impl PgExecutor<'_>, job: &str) -> Result<Option<LastSuccess>, sqlx::Error> {
    sqlx::query_as(
        "SELECT started_at, succeeded_at FROM periodic_runs
         WHERE job = $1 AND state = 'succeeded'
         ORDER BY succeeded_at DESC LIMIT 1",
    )
    .bind(job)
    .fetch_optional(executor)
    .await
}

/// Sets the last-success gauge of every `jobs` entry from the table, so a replica that did not
/// run a job still reports when the fleet last did.
pub async fn report_last_successes(pool: &PgPool, jobs: &[&'static str]) -> Result<(), sqlx::Error> {
    for job in jobs {
        if let Some(last) = last_success(pool, job).await? {
            metrics::gauge!(LAST_SUCCESS_GAUGE, "job" => *job).set(last.succeeded_at.timestamp() as f64);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOB: PeriodicJob = PeriodicJob {
        name: "test",
        lease: Duration::from_secs(60),
        max_attempts: 3,
        retry_base: Duration::from_secs(30),
        retention: Duration::from_secs(86_400),
    };

    #[test]
    fn periods_are_the_utc_date_or_the_start_of_the_tick() {
        let at = DateTime::parse_from_rfc3339("2026-11-23T23:59:59+00:00").expect("time").with_timezone(&Utc);
        assert_eq!(daily_period(at), "2026-11-23");
        assert_eq!(tick_period(at, Duration::from_secs(300)), "2026-11-23T23:55:00Z");
        assert_eq!(tick_period(at, Duration::from_secs(0)), "2026-11-23T23:59:59Z");
        let istanbul = DateTime::parse_from_rfc3339("2026-11-24T01:30:00+03:00").expect("time").with_timezone(&Utc);
        assert_eq!(daily_period(istanbul), "2026-11-23", "the UTC date, whatever the local one");
    }

    #[test]
    fn retry_pauses_double_and_stop_growing() {
        assert_eq!(retry_pause(&JOB, 1), Duration::from_secs(30));
        assert_eq!(retry_pause(&JOB, 3), Duration::from_secs(120));
        assert_eq!(retry_pause(&JOB, 40), MAX_RETRY_PAUSE);
    }
}

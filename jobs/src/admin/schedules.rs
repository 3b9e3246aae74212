//! The fleet's periodic jobs ([`fleet_jobs`]) as operators watch them:
//! when each last ran and succeeded, when it should run next, and how late it is.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use recete_platform::db;
use recete_shared::periodic::{self, Cadence, PeriodicJob};
use serde::Serialize;
use sqlx::{FromRow, PgPool};

/// Every periodic job the workers run through `recete_shared::periodic::run_once`, with its
/// cadence: what the board lists as schedules. A new periodic job is added here as well as to
/// the housekeeping loop.
pub fn fleet_jobs() -> [(PeriodicJob, Cadence); 2] {
    [(periodic::ANALYTICS_ROLLUP, Cadence::HousekeepingTick), (recete_shared::api_key_expiry::JOB, Cadence::DailyUtc)]
}

/// `housekeeping.interval_secs` as shipped, for callers that do not pass the configured one.
pub const DEFAULT_TICK: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleView {
    pub job: String,
    /// "daily (UTC)" or "every 60 s".
    pub every: String,
    /// The period of the latest run: its UTC date, or the start of its tick.
    pub last_period: Option<String>,
    /// When the latest run (or attempt) started.
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// When the next period (or the retry of a failed one) is due; `None` while a run is going.
    pub next_run_at: Option<DateTime<Utc>>,
    /// How long past `next_run_at` it is now; `None` before the first run and while running.
    /// A tick job runs at the first tick after its period starts, so up to one tick is normal.
    pub lateness_secs: Option<f64>,
    /// `running`, `succeeded` or `failed`.
    pub last_state: Option<String>,
    /// Attempts at the latest period, of `max_attempts`.
    pub attempts: Option<i32>,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    /// What the latest successful run reported (counts).
    pub last_outcome: Option<serde_json::Value>,
}

#[derive(FromRow)]
struct LatestRun {
    job: String,
    period_key: String,
    state: String,
    attempts: i32,
    started_at: DateTime<Utc>,
    lease_expires_at: DateTime<Utc>,
    retry_at: Option<DateTime<Utc>>,
    error: Option<String>,
}

/// Every fleet job, with tick jobs judged against [`DEFAULT_TICK`].
pub async fn schedules(pool: &PgPool) -> Result<Vec<ScheduleView>, sqlx::Error> {
    schedules_with_tick(pool, DEFAULT_TICK).await
}

/// Every fleet job, with tick jobs judged against the configured housekeeping interval.
pub async fn schedules_with_tick(pool: &PgPool, tick: Duration) -> Result<Vec<ScheduleView>, sqlx::Error> {
    let jobs = fleet_jobs();
    let names: Vec<&str> = jobs.iter().map(|(job, _)| job.name).collect();
    let mut tx = db::system_tx(pool).await?;
    let latest: Vec<LatestRun> = sqlx::query_as(
        "SELECT DISTINCT ON (job) job, period_key, state, attempts, started_at, lease_expires_at, retry_at, error
         FROM periodic_runs WHERE job = ANY($1)
         ORDER BY job, started_at DESC",
    )
    .bind(&names)
    .fetch_all(&mut *tx)
    .await?;
    let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()").fetch_one(&mut *tx).await?;
    let mut views = Vec::with_capacity(jobs.len());
    for (job, cadence) in jobs {
        let success = periodic::last_success(&mut *tx, job.name).await?;
        let last_outcome = match success {
            Some(_) => sqlx::query_scalar(
                "SELECT outcome FROM periodic_runs WHERE job = $1 AND state = 'succeeded'
                     ORDER BY succeeded_at DESC LIMIT 1",
            )
            .bind(job.name)
            .fetch_optional(&mut *tx)
            .await?
            .flatten(),
            None => None,
        };
        let run = latest.iter().find(|run| run.job == job.name);
        views.push(view(&job, cadence, tick, run, success.map(|s| s.succeeded_at), last_outcome, now));
    }
    tx.commit().await?;
    Ok(views)
}

fn view(
    job: &PeriodicJob,
    cadence: Cadence,
    tick: Duration,
    run: Option<&LatestRun>,
    last_success_at: Option<DateTime<Utc>>,
    last_outcome: Option<serde_json::Value>,
    now: DateTime<Utc>,
) -> ScheduleView {
    let every = match cadence {
        Cadence::DailyUtc => "daily (UTC)".to_owned(),
        Cadence::HousekeepingTick => format!("every {} s", tick.as_secs()),
    };
    let next_run_at = run.and_then(|run| next_run(job, cadence, tick, run, now));
    ScheduleView {
        job: job.name.to_owned(),
        every,
        last_period: run.map(|run| run.period_key.clone()),
        last_run_at: run.map(|run| run.started_at),
        last_success_at,
        next_run_at,
        lateness_secs: next_run_at.map(|next| ((now - next).num_milliseconds().max(0)) as f64 / 1000.0),
        last_state: run.map(|run| run.state.clone()),
        attempts: run.map(|run| run.attempts),
        max_attempts: job.max_attempts,
        last_error: run.and_then(|run| run.error.clone()),
        last_outcome,
    }
}

/// The next period's start, or the retry of the latest period when it failed with attempts left.
/// A run still inside its lease has no "next" yet; one past its lease is due again now.
fn next_run(
    job: &PeriodicJob,
    cadence: Cadence,
    tick: Duration,
    run: &LatestRun,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let next_period = period_start(cadence, &run.period_key).map(|start| match cadence {
        Cadence::DailyUtc => start + TimeDelta::days(1),
        Cadence::HousekeepingTick => start + TimeDelta::from_std(tick).unwrap_or(TimeDelta::seconds(60)),
    })?;
    let retry = match run.state.as_str() {
        "running" if run.lease_expires_at > now => return None,
        "running" => Some(run.lease_expires_at),
        "failed" if run.attempts < job.max_attempts => run.retry_at,
        _ => None,
    };
    Some(retry.map_or(next_period, |retry| retry.min(next_period)))
}

fn period_start(cadence: Cadence, period_key: &str) -> Option<DateTime<Utc>> {
    match cadence {
        Cadence::DailyUtc => NaiveDate::parse_from_str(period_key, "%Y-%m-%d")
            .ok()
            .and_then(|day| day.and_hms_opt(0, 0, 0))
            .map(|start| start.and_utc()),
        Cadence::HousekeepingTick => {
            DateTime::parse_from_rfc3339(period_key).ok().map(|start| start.with_timezone(&Utc))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("time").with_timezone(&Utc)
    }

    fn run(period_key: &str, state: &str, attempts: i32, retry_at: Option<&str>) -> LatestRun {
        LatestRun {
            job: "test".into(),
            period_key: period_key.into(),
            state: state.into(),
            attempts,
            started_at: at("2026-11-23T00:00:05Z"),
            lease_expires_at: at("2026-11-23T00:10:05Z"),
            retry_at: retry_at.map(at),
            error: None,
        }
    }

    const JOB: PeriodicJob = PeriodicJob {
        name: "test",
        lease: Duration::from_secs(600),
        max_attempts: 3,
        retry_base: Duration::from_secs(60),
        retention: Duration::from_secs(86_400),
    };

    #[test]
    fn a_daily_job_is_next_due_at_the_next_utc_midnight_and_late_after_it() {
        let now = at("2026-11-24T02:00:00Z");
        let done = run("2026-11-23", "succeeded", 1, None);
        let view = view(&JOB, Cadence::DailyUtc, DEFAULT_TICK, Some(&done), None, None, now);
        assert_eq!(view.next_run_at, Some(at("2026-11-24T00:00:00Z")));
        assert_eq!(view.lateness_secs, Some(7200.0));
        assert_eq!(view.every, "daily (UTC)");
    }

    #[test]
    fn a_failed_period_with_attempts_left_is_due_at_its_retry() {
        let now = at("2026-11-23T00:01:00Z");
        let failed = run("2026-11-23", "failed", 1, Some("2026-11-23T00:02:00Z"));
        assert_eq!(next_run(&JOB, Cadence::DailyUtc, DEFAULT_TICK, &failed, now), Some(at("2026-11-23T00:02:00Z")));
        let exhausted = run("2026-11-23", "failed", 3, Some("2026-11-23T00:02:00Z"));
        assert_eq!(next_run(&JOB, Cadence::DailyUtc, DEFAULT_TICK, &exhausted, now), Some(at("2026-11-24T00:00:00Z")));
        let running = run("2026-11-23", "running", 1, None);
        assert_eq!(next_run(&JOB, Cadence::DailyUtc, DEFAULT_TICK, &running, now), None);
    }

    #[test]
    fn a_tick_job_is_next_due_one_tick_after_its_period_started() {
        let done = run("2026-11-23T00:05:00Z", "succeeded", 1, None);
        let next =
            next_run(&JOB, Cadence::HousekeepingTick, Duration::from_secs(300), &done, at("2026-11-23T00:06:00Z"));
        assert_eq!(next, Some(at("2026-11-23T00:10:00Z")));
    }
}

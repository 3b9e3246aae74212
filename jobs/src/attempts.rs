//! Our own retry bookkeeping, because apalis-redis ignores retry policies.
//!
//! A failed attempt records its error, increments `attempts` and either schedules the next try
//! (exponential backoff with jitter, capped) or, past `max_attempts`, moves the row to `dead`,
//! where `recete jobs dead` lists it and `recete jobs retry` replays it.
//!
//! Every attempt that did something is also kept in `job_attempts` (its worker, timing, outcome
//! and trimmed error) for operators; a row handed back at shutdown is [`release`]d so the next
//! relay pass hands it over again at once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Serialize;
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use recete_platform::config::PoolSettings;
use recete_platform::db::{self, Tx};
use recete_platform::ids::{EventId, TaskId};

/// The delay before attempt `attempt + 1`: base × 2^(attempt−1), capped, with ±20 % jitter so a
/// burst of failures does not retry in lockstep.
pub fn backoff(attempt: i32, settings: &PoolSettings) -> Duration {
    let base = settings.backoff_base_ms as f64;
    let exponent = (attempt.max(1) - 1).min(30);
    let raw = (base * 2f64.powi(exponent)).min(settings.backoff_max_secs as f64 * 1000.0);
    let jitter = rand::rng().random_range(0.8..=1.2);
    Duration::from_millis((raw * jitter) as u64)
}

/// Errors are stored trimmed: enough to diagnose, never a whole payload.
fn trim_error(error: &str) -> String {
    const LIMIT: usize = 2000;
    if error.len() <= LIMIT {
        return error.to_owned();
    }
    let mut end = LIMIT;
    while !error.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &error[..end])
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    RetryAt(DateTime<Utc>),
    DeadLettered,
}

/// A row whose attempts we count: an event, or a scheduled task.
#[derive(Debug, Clone, Copy)]
pub enum AttemptRow {
    Event(EventId),
    Task(TaskId),
}

impl AttemptRow {
    pub fn id(&self) -> uuid::Uuid {
        match self {
            Self::Event(id) => id.as_uuid(),
            Self::Task(id) => id.as_uuid(),
        }
    }

    pub fn table(&self) -> &'static str {
        match self {
            Self::Event(_) => "external_events",
            Self::Task(_) => "scheduled_tasks",
        }
    }

    /// The column holding when the row is due: an event's next try, a task's due time.
    fn due_column(&self) -> &'static str {
        match self {
            Self::Event(_) => "next_attempt_at",
            Self::Task(_) => "due_at",
        }
    }

    /// How the next try is scheduled: events have their own retry time, a task's due time moves
    /// (and its reason is shown to the merchant).
    fn reschedule(&self) -> &'static str {
        match self {
            Self::Event(_) => "next_attempt_at = coalesce($5, now())",
            Self::Task(_) => "due_at = coalesce($5, due_at), status_reason = $4",
        }
    }
}

/// Records a failed attempt in its own transaction (the attempt's own work was rolled back):
/// the next try after a backoff, or the dead-letter state past `max_attempts`.
pub async fn record_failure(
    pool: &PgPool,
    row: AttemptRow,
    error: &str,
    settings: &PoolSettings,
) -> Result<FailureOutcome, sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    let outcome = record_failure_in(&mut tx, row, error, settings).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Records a failed attempt in `tx`, a system-scope transaction: what [`record_failure`] does,
/// for a batch that records its failed events together with the work of the others.
pub async fn record_failure_in(
    tx: &mut Tx,
    row: AttemptRow,
    error: &str,
    settings: &PoolSettings,
) -> Result<FailureOutcome, sqlx::Error> {
    let attempts: Option<i32> = sqlx::query_scalar(&format!(
        "SELECT attempts FROM {} WHERE id = $1 AND state IN ('pending', 'failed') FOR UPDATE",
        row.table()
    ))
    .bind(row.id())
    .fetch_optional(&mut **tx)
    .await?;
    let Some(previous) = attempts else {
        // Finished or dead-lettered by another copy meanwhile.
        return Ok(FailureOutcome::DeadLettered);
    };
    let attempt = previous + 1;
    let outcome = if attempt >= settings.max_attempts {
        FailureOutcome::DeadLettered
    } else {
        FailureOutcome::RetryAt(Utc::now() + backoff(attempt, settings))
    };
    let (state, retry_at) = match outcome {
        FailureOutcome::DeadLettered => ("dead", None),
        FailureOutcome::RetryAt(at) => ("failed", Some(at)),
    };
    sqlx::query(&format!(
        "UPDATE {} SET state = $2, attempts = $3, last_error = $4, {}, enqueued_at = NULL WHERE id = $1",
        row.table(),
        row.reschedule()
    ))
    .bind(row.id())
    .bind(state)
    .bind(attempt)
    .bind(trim_error(error))
    .bind(retry_at)
    .execute(&mut **tx)
    .await?;
    Ok(outcome)
}

/// What a job reads of its row before it runs (one primary-key lookup).
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct DueRow {
    /// The number this attempt will have: 1 for the first try.
    pub attempt: i32,
    pub due_at: DateTime<Utc>,
    /// The last hand-over to Redis; `None` when the row was released or never handed over.
    pub handed_over_at: Option<DateTime<Utc>>,
}

impl DueRow {
    /// When the job became ready to run: due, and in Redis.
    pub fn ready_at(&self) -> DateTime<Utc> {
        self.handed_over_at.map_or(self.due_at, |handed_over| handed_over.max(self.due_at))
    }

    /// Handed over at least a second before its due time: pushed as a delayed job.
    pub fn was_delayed(&self) -> bool {
        self.handed_over_at.is_some_and(|handed_over| self.due_at - handed_over >= chrono::TimeDelta::seconds(1))
    }
}

/// The row's due time and hand-over, or `None` when it is finished, dead or gone (so a duplicate
/// job skips its work without claiming anything).
pub async fn due_row(pool: &PgPool, row: AttemptRow) -> Result<Option<DueRow>, sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    let due = sqlx::query_as(&format!(
        "SELECT attempts + 1 AS attempt, {} AS due_at, enqueued_at AS handed_over_at FROM {}
         WHERE id = $1 AND state IN ('pending', 'failed')",
        row.due_column(),
        row.table()
    ))
    .bind(row.id())
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(due)
}

/// How an attempt ended, as `job_attempts.outcome` stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Succeeded,
    /// Failed; the row retries later.
    Failed,
    /// Failed for the last time; the row is a dead letter.
    Dead,
    /// Ran past the pool's timeout; the row retries later.
    TimedOut,
    /// Handed back unfinished at shutdown; the row is handed over again at once.
    Released,
}

impl AttemptOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Dead => "dead",
            Self::TimedOut => "timed_out",
            Self::Released => "released",
        }
    }
}

/// One finished attempt, for the `job_attempts` history.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    pub row: AttemptRow,
    pub queue: &'a str,
    pub number: i32,
    /// `<pool>@<process id>`.
    pub worker: &'a str,
    pub due_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub outcome: AttemptOutcome,
    pub error: Option<&'a str>,
}

/// Appends an attempt to the history. `job_attempts` is fleet-wide (no merchant), so no tenant
/// scope is needed.
pub async fn record_attempt(pool: &PgPool, attempt: &Attempt<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO job_attempts (job_id, job_table, queue, attempt, worker, due_at, started_at, finished_at, outcome, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(attempt.row.id())
    .bind(attempt.row.table())
    .bind(attempt.queue)
    .bind(attempt.number)
    .bind(attempt.worker)
    .bind(attempt.due_at)
    .bind(attempt.started_at)
    .bind(attempt.finished_at)
    .bind(attempt.outcome.as_str())
    .bind(attempt.error.map(trim_error))
    .execute(pool)
    .await?;
    Ok(())
}

/// Appends many attempts to the history in one statement (the events of one batch).
pub async fn record_attempts(pool: &PgPool, attempts: &[Attempt<'_>]) -> Result<(), sqlx::Error> {
    if attempts.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO job_attempts (job_id, job_table, queue, attempt, worker, due_at, started_at, finished_at, outcome, error)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[], $6::timestamptz[],
                              $7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[])",
    )
    .bind(attempts.iter().map(|attempt| attempt.row.id()).collect::<Vec<_>>())
    .bind(attempts.iter().map(|attempt| attempt.row.table()).collect::<Vec<_>>())
    .bind(attempts.iter().map(|attempt| attempt.queue).collect::<Vec<_>>())
    .bind(attempts.iter().map(|attempt| attempt.number).collect::<Vec<_>>())
    .bind(attempts.iter().map(|attempt| attempt.worker).collect::<Vec<_>>())
    .bind(attempts.iter().map(|attempt| attempt.due_at).collect::<Vec<_>>())
    .bind(attempts.iter().map(|attempt| attempt.started_at).collect::<Vec<_>>())
    .bind(attempts.iter().map(|attempt| attempt.finished_at).collect::<Vec<_>>())
    .bind(attempts.iter().map(|attempt| attempt.outcome.as_str()).collect::<Vec<_>>())
    .bind(attempts.iter().map(|attempt| attempt.error.map(trim_error)).collect::<Vec<_>>())
    .execute(pool)
    .await?;
    Ok(())
}

/// Deletes up to `batch` attempts finished more than `retention_days` ago, oldest first;
/// returns how many went (fewer than `batch`: none older are left).
pub async fn prune_finished(pool: &PgPool, retention_days: i32, batch: i64) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query(
        "DELETE FROM job_attempts WHERE id IN (
             SELECT id FROM job_attempts WHERE finished_at < now() - make_interval(days => $1)
             ORDER BY finished_at LIMIT $2)",
    )
    .bind(retention_days)
    .bind(batch)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(deleted)
}

/// The transaction that claimed a job's row: its server backend and `txid_current()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct ClaimingTransaction {
    pub pid: i32,
    pub xid: i64,
}

/// Hands an unfinished row back: with no hand-over recorded, the next relay pass anywhere hands
/// it over again instead of waiting out the reconcile delay.
///
/// The abandoned attempt's transaction still holds the row: dropping its future does not stop
/// a statement already on the server (one waiting on a lock waits on). `claimed_by` names that
/// transaction by its backend and its transaction id; the backend is ended only while it still
/// runs that very transaction, which rolls it back and frees the row. A backend id alone is not
/// enough: the pool (or a pooler such as PgBouncer in transaction mode) may already have given
/// the server connection to someone else, whose transaction must not be touched. The wait for the
/// row lock stays bounded; past it the reconciler recovers the row later.
///
/// `batched` are the events that transaction claimed beside the row (a batch of order events):
/// they are handed back in the same transaction.
pub async fn release(
    pool: &PgPool,
    row: AttemptRow,
    claimed_by: Option<ClaimingTransaction>,
    batched: &[EventId],
) -> Result<bool, sqlx::Error> {
    if let Some(claiming) = claimed_by {
        // `backend_xid` is the 32-bit transaction id; `txid_current()` adds an epoch above it.
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE pid = $1 AND pid <> pg_backend_pid() AND backend_xid::text::bigint = $2 % 4294967296",
        )
        .bind(claiming.pid)
        .bind(claiming.xid)
        .execute(pool)
        .await?;
    }
    let mut tx = db::system_tx(pool).await?;
    sqlx::query("SET LOCAL lock_timeout = '500ms'").execute(&mut *tx).await?;
    let released = sqlx::query(&format!(
        "UPDATE {} SET enqueued_at = NULL WHERE id = $1 AND state IN ('pending', 'failed')",
        row.table()
    ))
    .bind(row.id())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if !batched.is_empty() {
        hand_back_batched(&mut tx, batched).await?;
    }
    tx.commit().await?;
    Ok(released == 1)
}

/// Hands back the events a batch claimed beside its job's own when the job did not finish (it
/// failed, timed out): its transaction rolled back or is ending, and the next relay pass hands
/// them over again. The wait for their row locks stays bounded.
pub async fn release_batched(pool: &PgPool, batched: &[EventId]) -> Result<u64, sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    sqlx::query("SET LOCAL lock_timeout = '500ms'").execute(&mut *tx).await?;
    let released = hand_back_batched(&mut tx, batched).await?;
    tx.commit().await?;
    Ok(released)
}

async fn hand_back_batched(tx: &mut Tx, batched: &[EventId]) -> Result<u64, sqlx::Error> {
    let ids: Vec<Uuid> = batched.iter().map(EventId::as_uuid).collect();
    let released = sqlx::query(
        "UPDATE external_events SET enqueued_at = NULL WHERE id = ANY($1) AND state IN ('pending', 'failed')",
    )
    .bind(&ids)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(released)
}

/// A dead letter as an operator sees it: no payload, no personal data.
#[derive(Debug, Serialize, FromRow)]
pub struct DeadLetter {
    pub id: Uuid,
    pub merchant_id: Uuid,
    pub source: String,
    pub kind: String,
    pub topic: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub async fn list_dead(pool: &PgPool, limit: i64) -> Result<Vec<DeadLetter>, sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    let rows = sqlx::query_as(
        "SELECT id, merchant_id, source, kind, topic, attempts, last_error, received_at, updated_at
         FROM external_events WHERE state = 'dead' ORDER BY updated_at DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows)
}

/// Puts dead letters back in line with a fresh attempt count: one by id, or all of them.
/// Returns how many were replayed; the relay hands them to the queue on its next pass.
pub async fn retry_dead(pool: &PgPool, which: Option<EventId>) -> Result<u64, sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    let replayed = sqlx::query(
        "UPDATE external_events SET state = 'pending', attempts = 0, next_attempt_at = now(), enqueued_at = NULL
         WHERE state = 'dead' AND ($1::uuid IS NULL OR id = $1)",
    )
    .bind(which)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(replayed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> PoolSettings {
        PoolSettings {
            concurrency: 1,
            fetch_batch: 1,
            timeout_secs: 1,
            max_attempts: 5,
            backoff_base_ms: 1000,
            backoff_max_secs: 60,
            batch_size: 1,
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        for (attempt, nominal_ms) in [(1, 1000.0), (2, 2000.0), (3, 4000.0), (10, 60_000.0), (40, 60_000.0)] {
            let delay = backoff(attempt, &settings()).as_millis() as f64;
            assert!((nominal_ms * 0.8..=nominal_ms * 1.2).contains(&delay), "attempt {attempt}: {delay} ms");
        }
    }

    #[test]
    fn long_errors_are_trimmed_on_a_character_boundary() {
        let long = "é".repeat(1500);
        let trimmed = trim_error(&long);
        assert!(trimmed.len() <= 2003);
        assert!(trimmed.ends_with('…'));
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("a valid instant")
    }

    #[test]
    fn a_job_is_ready_once_due_and_handed_over() {
        let handed_over_late = DueRow { attempt: 1, due_at: at(0), handed_over_at: Some(at(30)) };
        assert_eq!(handed_over_late.ready_at(), at(30));
        assert!(!handed_over_late.was_delayed());
        let delayed = DueRow { attempt: 1, due_at: at(600), handed_over_at: Some(at(0)) };
        assert_eq!(delayed.ready_at(), at(600));
        assert!(delayed.was_delayed());
        let released = DueRow { attempt: 2, due_at: at(5), handed_over_at: None };
        assert_eq!(released.ready_at(), at(5));
        assert!(!released.was_delayed());
    }
}

//! One action over every job a filter matches: thousands of jobs, so never one transaction.
//!
//! The operator first sees the exact count ([`count_matching`]) and confirms it; [`start`]
//! refuses when the count moved meanwhile. The action is then a row of `ops_bulk_actions`,
//! worked through by [`run`] in batches: each batch locks the next jobs newest first with
//! `FOR UPDATE SKIP LOCKED`, changes them, writes their audit rows and records its position and
//! progress, all in one transaction. A stopped process leaves the row `running` at its last
//! committed position, and [`resume_unfinished`] continues from there.
//!
//! A job a worker holds at the moment its batch passes is left to that worker (it is skipped,
//! not waited for). Jobs created after the action started are left alone: the operator confirmed
//! a count, not whatever matches later.

use chrono::{DateTime, Utc};
use recete_platform::db::{self, Tx};
use recete_shared::audit::{self, AuditEntry};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::actions::{self, ActionError, JobAction};
use super::filter::{FilterError, JobFilter};
use super::sql::{self, Position};
use super::state::JobTable;

pub type BulkId = Uuid;

/// Stands for the cancel reason's bind parameter in a SET list until it is bound.
const REASON_MARKER: &str = "\u{1}reason\u{1}";

/// Most jobs one batch may change.
pub const MAX_BATCH: usize = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BulkState {
    Running,
    Done,
    Failed,
    Cancelled,
}

impl BulkState {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [Self::Running, Self::Done, Self::Failed, Self::Cancelled].into_iter().find(|state| state.as_str() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BulkProgress {
    pub id: BulkId,
    pub action: JobAction,
    pub filter: JobFilter,
    pub requested_by: String,
    /// The count the operator confirmed.
    pub expected_count: i64,
    /// Jobs handled so far.
    pub processed: i64,
    /// Of those, jobs whose state changed.
    pub changed: i64,
    pub state: BulkState,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl BulkProgress {
    /// Share handled, 0–100 (100 once finished, whatever the count).
    pub fn percent(&self) -> f64 {
        if self.state != BulkState::Running || self.expected_count == 0 {
            return 100.0;
        }
        (self.processed as f64 * 100.0 / self.expected_count as f64).min(100.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error(
        "the filter now matches {current} jobs to {action}, not the {confirmed} you confirmed; review them and confirm again"
    )]
    CountChanged { action: JobAction, confirmed: i64, current: i64 },
    #[error("no job matching the filter can be {action} now: nothing to do")]
    NothingToDo { action: JobAction },
    #[error("batch_size: must be between 1 and {MAX_BATCH}, not {0}")]
    BatchSize(usize),
    #[error("no bulk action has the id {0}")]
    NotFound(BulkId),
    #[error(transparent)]
    Actor(#[from] ActionError),
    #[error("bulk action {id} is unreadable: {problem}")]
    Corrupt { id: BulkId, problem: String },
    #[error("the bulk action could not proceed: {0}")]
    Database(#[from] sqlx::Error),
}

/// Where each table's walk stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "at", rename_all = "snake_case")]
enum TablePosition {
    #[default]
    Start,
    After {
        created_at: DateTime<Utc>,
        id: Uuid,
    },
    Finished,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Positions {
    #[serde(default)]
    external_events: TablePosition,
    #[serde(default)]
    scheduled_tasks: TablePosition,
}

impl Positions {
    fn get(&self, table: JobTable) -> TablePosition {
        match table {
            JobTable::ExternalEvents => self.external_events,
            JobTable::ScheduledTasks => self.scheduled_tasks,
        }
    }

    fn set(&mut self, table: JobTable, position: TablePosition) {
        match table {
            JobTable::ExternalEvents => self.external_events = position,
            JobTable::ScheduledTasks => self.scheduled_tasks = position,
        }
    }
}

#[derive(FromRow)]
struct BulkRow {
    id: Uuid,
    action: String,
    filter: serde_json::Value,
    requested_by: String,
    expected_count: i64,
    processed: i64,
    changed: i64,
    state: String,
    position: serde_json::Value,
    error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

const BULK_COLUMNS: &str = "id, action, filter, requested_by, expected_count, processed, changed, state, position, \
                            error, created_at, updated_at, finished_at";

impl BulkRow {
    fn corrupt(&self, problem: impl Into<String>) -> BulkError {
        BulkError::Corrupt { id: self.id, problem: problem.into() }
    }

    fn progress(&self) -> Result<BulkProgress, BulkError> {
        Ok(BulkProgress {
            id: self.id,
            action: self.action.parse().map_err(|_| self.corrupt(format!("unknown action `{}`", self.action)))?,
            filter: serde_json::from_value(self.filter.clone()).map_err(|e| self.corrupt(format!("filter: {e}")))?,
            requested_by: self.requested_by.clone(),
            expected_count: self.expected_count,
            processed: self.processed,
            changed: self.changed,
            state: BulkState::parse(&self.state)
                .ok_or_else(|| self.corrupt(format!("unknown state `{}`", self.state)))?,
            error: self.error.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            finished_at: self.finished_at,
        })
    }

    fn positions(&self) -> Result<Positions, BulkError> {
        serde_json::from_value(self.position.clone()).map_err(|e| self.corrupt(format!("position: {e}")))
    }
}

/// The exact number of jobs `filter` matches that `action` would change now.
pub async fn count_matching(pool: &PgPool, filter: &JobFilter, action: JobAction) -> Result<i64, BulkError> {
    filter.validate()?;
    let mut tx = db::system_tx(pool).await?;
    let count = exact_count(&mut tx, filter, action).await?;
    tx.commit().await?;
    Ok(count)
}

async fn exact_count(tx: &mut Tx, filter: &JobFilter, action: JobAction) -> Result<i64, sqlx::Error> {
    let mut total = 0;
    for table in JobTable::ALL.iter().filter(|table| filter.may_match(**table)) {
        let mut query = QueryBuilder::<Postgres>::new(format!("SELECT count(*) FROM {}", table.as_str()));
        sql::push_where(&mut query, *table, filter);
        query.push(" AND ").push(table.states_predicate(action.applies_to()));
        let count: i64 = query.build_query_scalar().fetch_one(&mut **tx).await?;
        total += count;
    }
    Ok(total)
}

/// Records a bulk action for `actor` once `confirmed_count` is still the exact count; [`run`]
/// carries it out.
pub async fn start(
    pool: &PgPool,
    filter: &JobFilter,
    action: JobAction,
    actor: &str,
    confirmed_count: i64,
) -> Result<BulkId, BulkError> {
    filter.validate()?;
    let actor = actions::operator_actor(actor)?;
    let mut tx = db::system_tx(pool).await?;
    let current = exact_count(&mut tx, filter, action).await?;
    if current != confirmed_count {
        return Err(BulkError::CountChanged { action, confirmed: confirmed_count, current });
    }
    if current == 0 {
        return Err(BulkError::NothingToDo { action });
    }
    let id = Uuid::now_v7();
    let filter_json = serde_json::to_value(filter).map_err(|e| BulkError::Corrupt { id, problem: e.to_string() })?;
    sqlx::query(
        "INSERT INTO ops_bulk_actions (id, action, filter, requested_by, expected_count) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(action.as_str())
    .bind(&filter_json)
    .bind(&actor)
    .bind(current)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        AuditEntry {
            merchant_id: filter.merchant.map(recete_platform::ids::MerchantId::from_uuid),
            actor: &actor,
            action: "jobs.bulk_started",
            subject_type: "ops_bulk_action",
            subject_id: id.to_string(),
            event_id: None,
            before: None,
            after: Some(json!({ "action": action, "filter": filter_json, "expected_count": current })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Runs the bulk action to its end (or until it is cancelled), one batch per transaction.
pub async fn run(pool: &PgPool, id: BulkId, batch_size: usize) -> Result<BulkProgress, BulkError> {
    run_until(pool, id, batch_size, &CancellationToken::new()).await
}

/// Like [`run`], stopping between batches once `stop` fires; the action stays `running` and a
/// later run continues it.
pub async fn run_until(
    pool: &PgPool,
    id: BulkId,
    batch_size: usize,
    stop: &CancellationToken,
) -> Result<BulkProgress, BulkError> {
    loop {
        let progress = match run_batch(pool, id, batch_size).await {
            Ok(progress) => progress,
            Err(error) => {
                fail(pool, id, &error).await;
                return Err(error);
            }
        };
        if progress.state != BulkState::Running || stop.is_cancelled() {
            return Ok(progress);
        }
    }
}

/// Marks the action failed with `error`, unless the error is the database being unreachable:
/// then it stays `running` for the next start to resume.
async fn fail(pool: &PgPool, id: BulkId, error: &BulkError) {
    if matches!(error, BulkError::Database(e) if db::is_unavailable(e)) || matches!(error, BulkError::NotFound(_)) {
        return;
    }
    let text: String = error.to_string().chars().take(2000).collect();
    let marked = sqlx::query(
        "UPDATE ops_bulk_actions SET state = 'failed', error = $2, finished_at = now() WHERE id = $1 AND state = 'running'",
    )
    .bind(id)
    .bind(text)
    .execute(pool)
    .await;
    if let Err(mark_error) = marked {
        tracing::warn!(bulk = %id, %mark_error, "a failed bulk action could not be marked failed");
    }
}

/// One batch: the next `batch_size` jobs of the first table not yet finished. A finished or
/// cancelled action is returned as it is.
pub async fn run_batch(pool: &PgPool, id: BulkId, batch_size: usize) -> Result<BulkProgress, BulkError> {
    if batch_size == 0 || batch_size > MAX_BATCH {
        return Err(BulkError::BatchSize(batch_size));
    }
    let mut tx = db::system_tx(pool).await?;
    // Two processes resuming the same action take turns here, each seeing the other's position.
    let row: BulkRow = sqlx::query_as(&format!("SELECT {BULK_COLUMNS} FROM ops_bulk_actions WHERE id = $1 FOR UPDATE"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(BulkError::NotFound(id))?;
    let progress = row.progress()?;
    if progress.state != BulkState::Running {
        tx.commit().await?;
        return Ok(progress);
    }
    let mut positions = row.positions()?;
    let next = JobTable::ALL
        .iter()
        .copied()
        .find(|table| progress.filter.may_match(*table) && positions.get(*table) != TablePosition::Finished);
    let (handled, changed) = match next {
        Some(table) => {
            let position = positions.get(table);
            sql::plan_for_pages(&mut tx, &progress.filter).await?;
            let batch = change_batch(&mut tx, &progress, table, position, batch_size).await?;
            let after = match batch.last {
                Some(last) if batch.handled == batch_size => {
                    TablePosition::After { created_at: last.created_at, id: last.id }
                }
                _ => TablePosition::Finished,
            };
            positions.set(table, after);
            (batch.handled, batch.changed)
        }
        None => (0, 0),
    };
    let finished = JobTable::ALL
        .iter()
        .all(|table| !progress.filter.may_match(*table) || positions.get(*table) == TablePosition::Finished);
    let position_json =
        serde_json::to_value(positions).map_err(|e| BulkError::Corrupt { id, problem: e.to_string() })?;
    let updated: BulkRow = sqlx::query_as(&format!(
        "UPDATE ops_bulk_actions
         SET processed = processed + $2, changed = changed + $3, position = $4,
             state = CASE WHEN $5 THEN 'done' ELSE state END,
             finished_at = CASE WHEN $5 THEN now() ELSE finished_at END
         WHERE id = $1
         RETURNING {BULK_COLUMNS}"
    ))
    .bind(id)
    .bind(handled as i64)
    .bind(changed as i64)
    .bind(position_json)
    .bind(finished)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    updated.progress()
}

struct Batch {
    handled: usize,
    changed: usize,
    last: Option<Position>,
}

#[derive(FromRow)]
struct ChangedJob {
    id: Uuid,
    merchant_id: Uuid,
    created_at: DateTime<Utc>,
    before_state: String,
    before_attempts: i32,
    after_state: String,
    after_attempts: i32,
}

/// Locks, changes and audits the next jobs of `table` after `position`.
async fn change_batch(
    tx: &mut Tx,
    bulk: &BulkProgress,
    table: JobTable,
    position: TablePosition,
    batch_size: usize,
) -> Result<Batch, BulkError> {
    let after = match position {
        TablePosition::After { created_at, id } => Some(Position { created_at, id }),
        TablePosition::Start | TablePosition::Finished => None,
    };
    let mut query = QueryBuilder::<Postgres>::new(format!(
        "WITH batch AS (SELECT id AS job_id, created_at AS job_created_at, {state} AS before_state, \
         attempts AS before_attempts FROM {table}",
        state = table.state_expression(),
        table = table.as_str(),
    ));
    sql::push_where(&mut query, table, &bulk.filter);
    query.push(" AND ").push(table.states_predicate(bulk.action.applies_to()));
    query.push(" AND created_at <= ").push_bind(bulk.created_at);
    sql::push_after(&mut query, after);
    query
        .push(" ORDER BY created_at DESC, id DESC LIMIT ")
        .push_bind(i64::try_from(batch_size).unwrap_or(i64::MAX))
        .push(" FOR UPDATE SKIP LOCKED)");
    let reason = format!("{} (bulk action {})", actions::cancel_reason(&bulk.requested_by), bulk.id);
    query.push(format_args!(" UPDATE {} AS job SET ", table.as_str()));
    // The cancel reason is a bind parameter in the middle of the SET list.
    let assignments = bulk.action.assignments(table, REASON_MARKER);
    match assignments.split_once(REASON_MARKER) {
        Some((before, after)) => query.push(before).push_bind(reason).push(after),
        None => query.push(assignments),
    };
    query.push(format_args!(
        " FROM batch WHERE job.id = batch.job_id \
         RETURNING job.id, job.merchant_id, batch.job_created_at AS created_at, batch.before_state, \
         batch.before_attempts, {state} AS after_state, job.attempts AS after_attempts",
        state = table.state_expression(),
    ));
    let rows: Vec<ChangedJob> = query.build_query_as().fetch_all(&mut **tx).await?;
    let last = rows
        .iter()
        .map(|row| Position { created_at: row.created_at, id: row.id })
        .min_by_key(|position| (position.created_at, position.id));
    record_audit(tx, bulk, table, &rows).await?;
    let changed = rows.iter().filter(|row| row.before_state != row.after_state).count();
    Ok(Batch { handled: rows.len(), changed, last })
}

/// One audit row per changed job, naming the operator and the bulk action.
async fn record_audit(
    tx: &mut Tx,
    bulk: &BulkProgress,
    table: JobTable,
    rows: &[ChangedJob],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let before: Vec<serde_json::Value> =
        rows.iter().map(|row| json!({ "state": row.before_state, "attempts": row.before_attempts })).collect();
    let after: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| json!({ "state": row.after_state, "attempts": row.after_attempts, "bulk_action": bulk.id }))
        .collect();
    sqlx::query(
        "INSERT INTO audit_log (merchant_id, actor, action, subject_type, subject_id, before, after)
         SELECT merchant_id, $1, $2, $3, subject_id, before, after
         FROM UNNEST($4::uuid[], $5::text[], $6::jsonb[], $7::jsonb[]) AS changed(merchant_id, subject_id, before, after)",
    )
    .bind(&bulk.requested_by)
    .bind(bulk.action.audit_action())
    .bind(table.subject_type())
    .bind(rows.iter().map(|row| row.merchant_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.id.to_string()).collect::<Vec<_>>())
    .bind(before)
    .bind(after)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stops a running bulk action between batches; what it changed stays changed.
pub async fn cancel(pool: &PgPool, id: BulkId, actor: &str) -> Result<BulkProgress, BulkError> {
    let actor = actions::operator_actor(actor)?;
    let mut tx = db::system_tx(pool).await?;
    let row: BulkRow = sqlx::query_as(&format!(
        "UPDATE ops_bulk_actions
         SET state = CASE WHEN state = 'running' THEN 'cancelled' ELSE state END,
             finished_at = CASE WHEN state = 'running' THEN now() ELSE finished_at END
         WHERE id = $1 RETURNING {BULK_COLUMNS}"
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(BulkError::NotFound(id))?;
    let progress = row.progress()?;
    audit::record(
        &mut tx,
        AuditEntry {
            merchant_id: progress.filter.merchant.map(recete_platform::ids::MerchantId::from_uuid),
            actor: &actor,
            action: "jobs.bulk_cancelled",
            subject_type: "ops_bulk_action",
            subject_id: id.to_string(),
            event_id: None,
            before: None,
            after: Some(json!({ "state": progress.state, "processed": progress.processed })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(progress)
}

/// Continues every bulk action a stopped process left running, oldest first, to its end.
pub async fn resume_unfinished(pool: &PgPool, batch_size: usize) -> Result<Vec<BulkProgress>, BulkError> {
    resume_unfinished_until(pool, batch_size, &CancellationToken::new()).await
}

/// Like [`resume_unfinished`], stopping between batches once `stop` fires.
pub async fn resume_unfinished_until(
    pool: &PgPool,
    batch_size: usize,
    stop: &CancellationToken,
) -> Result<Vec<BulkProgress>, BulkError> {
    let ids: Vec<Uuid> = {
        let mut tx = db::system_tx(pool).await?;
        let ids = sqlx::query_scalar("SELECT id FROM ops_bulk_actions WHERE state = 'running' ORDER BY created_at")
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        ids
    };
    let mut resumed = Vec::with_capacity(ids.len());
    for id in ids {
        if stop.is_cancelled() {
            break;
        }
        resumed.push(run_until(pool, id, batch_size, stop).await?);
    }
    Ok(resumed)
}

pub async fn progress(pool: &PgPool, id: BulkId) -> Result<Option<BulkProgress>, BulkError> {
    let mut tx = db::system_tx(pool).await?;
    let row: Option<BulkRow> = sqlx::query_as(&format!("SELECT {BULK_COLUMNS} FROM ops_bulk_actions WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    row.map(|row| row.progress()).transpose()
}

/// The latest bulk actions, newest first.
pub async fn recent(pool: &PgPool, limit: i64) -> Result<Vec<BulkProgress>, BulkError> {
    let mut tx = db::system_tx(pool).await?;
    let rows: Vec<BulkRow> =
        sqlx::query_as(&format!("SELECT {BULK_COLUMNS} FROM ops_bulk_actions ORDER BY created_at DESC LIMIT $1"))
            .bind(limit.clamp(1, 1000))
            .fetch_all(&mut *tx)
            .await?;
    tx.commit().await?;
    rows.iter().map(BulkRow::progress).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_survive_their_json() {
        let mut positions = Positions::default();
        positions.set(
            JobTable::ExternalEvents,
            TablePosition::After {
                created_at: DateTime::from_timestamp_micros(1_795_000_000_123_456).expect("time"),
                id: Uuid::from_u128(5),
            },
        );
        positions.set(JobTable::ScheduledTasks, TablePosition::Finished);
        let json = serde_json::to_value(positions).expect("serializes");
        assert_eq!(serde_json::from_value::<Positions>(json).expect("reads back"), positions);
        assert_eq!(serde_json::from_value::<Positions>(json!({})).expect("empty"), Positions::default());
    }
}

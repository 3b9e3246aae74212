//! Finding jobs: both job tables merged newest first, a page at a time.
//!
//! Pages are keyset pages over `(created_at, id)`: each table is read through its
//! `(… created_at DESC, id DESC)` indexes up to one page past the cursor, and the two are merged.
//! A page costs the same at page 1 and page 50, and jobs arriving meanwhile never shift a page.

use chrono::{DateTime, Utc};
use recete_platform::db;
use serde::Serialize;
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::count::{self, Count};
use super::cursor::{self, CursorError};
use super::filter::{FilterError, JobFilter, queue_of};
use super::sql::{self, Position};
use super::state::{JobState, JobTable};

/// Most jobs one page may ask for.
pub const MAX_PAGE: usize = 500;

/// A job as a list shows it: ids, states and a trimmed error, never a payload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobSummary {
    pub id: Uuid,
    pub table: JobTable,
    /// The queue's name; an unknown source or kind is shown as itself.
    pub queue: String,
    pub kind: String,
    pub state: JobState,
    pub merchant_id: Uuid,
    pub attempts: i32,
    /// At most about 200 characters, ending in `…` when cut.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When it runs (or ran) next: an event's next attempt, a task's due time.
    pub due_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobPage {
    pub jobs: Vec<JobSummary>,
    /// The cursor of the next page; `None` on the last.
    pub next: Option<String>,
    pub estimated_total: Count,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error(transparent)]
    Cursor(#[from] CursorError),
    #[error("limit: must be between 1 and {MAX_PAGE}, not {0}")]
    Limit(usize),
    #[error("the job tables could not be read: {0}")]
    Database(#[from] sqlx::Error),
    #[error("a job row could not be read: {0}")]
    Row(String),
}

#[derive(FromRow)]
pub(crate) struct SummaryRow {
    id: Uuid,
    job_table: String,
    feed: String,
    kind: String,
    state: String,
    merchant_id: Uuid,
    attempts: i32,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl SummaryRow {
    pub(crate) fn into_summary(self) -> Result<JobSummary, SearchError> {
        let table = match self.job_table.as_str() {
            "external_events" => JobTable::ExternalEvents,
            "scheduled_tasks" => JobTable::ScheduledTasks,
            other => return Err(SearchError::Row(format!("unknown job table `{other}`"))),
        };
        let state: JobState = self
            .state
            .parse()
            .map_err(|_| SearchError::Row(format!("job {} has the unknown state `{}`", self.id, self.state)))?;
        let queue = queue_of(table, &self.feed).map(|q| q.as_str().to_owned()).unwrap_or(self.feed);
        Ok(JobSummary {
            id: self.id,
            table,
            queue,
            kind: self.kind,
            state,
            merchant_id: self.merchant_id,
            attempts: self.attempts,
            last_error: self.last_error,
            created_at: self.created_at,
            due_at: self.due_at,
            updated_at: self.updated_at,
        })
    }
}

/// One page of the jobs matching `filter`, newest first, after the cursor `after` (a previous
/// page's `next`, made under the same filter).
pub async fn search(
    pool: &PgPool,
    filter: &JobFilter,
    after: Option<&str>,
    limit: usize,
) -> Result<JobPage, SearchError> {
    filter.validate()?;
    if limit == 0 || limit > MAX_PAGE {
        return Err(SearchError::Limit(limit));
    }
    let position = match after.filter(|cursor| !cursor.trim().is_empty()) {
        Some(cursor) => Some(cursor::decode(cursor, filter)?),
        None => None,
    };
    let mut tx = db::system_tx(pool).await?;
    sql::plan_for_pages(&mut tx, filter).await?;
    let rows: Vec<SummaryRow> =
        page_query("", filter, position, limit + 1).build_query_as().fetch_all(&mut *tx).await?;
    sqlx::query("SET LOCAL enable_sort TO DEFAULT").execute(&mut *tx).await?;
    let estimated_total = count::count(&mut tx, filter).await?;
    tx.commit().await?;
    let mut jobs = rows.into_iter().map(SummaryRow::into_summary).collect::<Result<Vec<_>, _>>()?;
    let next = if jobs.len() > limit {
        jobs.truncate(limit);
        jobs.last().map(|last| cursor::encode(Position { created_at: last.created_at, id: last.id }, filter))
    } else {
        None
    };
    Ok(JobPage { jobs, next, estimated_total })
}

/// Up to `rows` jobs after `position`: each table's own newest-first slice, merged.
fn page_query(
    prefix: &str,
    filter: &JobFilter,
    position: Option<Position>,
    rows: usize,
) -> QueryBuilder<'static, Postgres> {
    let rows = i64::try_from(rows).unwrap_or(i64::MAX);
    let mut query = QueryBuilder::new(format!("{prefix}SELECT * FROM ("));
    let mut first = true;
    for table in JobTable::ALL.iter().filter(|table| filter.may_match(**table)) {
        if !first {
            query.push(" UNION ALL ");
        }
        first = false;
        query.push(format_args!("(SELECT {} FROM {}", sql::summary_columns(*table), table.as_str()));
        sql::push_where(&mut query, *table, filter);
        sql::push_after(&mut query, position);
        query.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(rows).push(")");
    }
    if first {
        // No table can match (an ignored task): an empty result of the same shape.
        query.push(format_args!(
            "SELECT {} FROM {} WHERE false",
            sql::summary_columns(JobTable::ScheduledTasks),
            JobTable::ScheduledTasks.as_str()
        ));
    }
    query.push(") AS jobs ORDER BY created_at DESC, id DESC LIMIT ").push_bind(rows);
    query
}

/// The plan PostgreSQL runs for this page (`EXPLAIN ANALYZE` when `analyze`), to check in
/// benchmarks and tests that a search reads its indexes.
pub async fn explain(
    pool: &PgPool,
    filter: &JobFilter,
    after: Option<&str>,
    limit: usize,
    analyze: bool,
) -> Result<String, SearchError> {
    filter.validate()?;
    let position = after.map(|cursor| cursor::decode(cursor, filter)).transpose()?;
    let prefix = if analyze { "EXPLAIN (ANALYZE, BUFFERS) " } else { "EXPLAIN " };
    let mut tx = db::system_tx(pool).await?;
    sql::plan_for_pages(&mut tx, filter).await?;
    let lines: Vec<String> =
        page_query(prefix, filter, position, limit + 1).build_query_scalar().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(lines.join("\n"))
}

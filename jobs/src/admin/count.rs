//! How many jobs a filter matches. Counting millions of rows on every page would cost more than
//! the page itself, so a count is exact only when it is small; past that it is the planner's
//! estimate, and says so.

use recete_platform::db::{self, Tx};
use serde::Serialize;
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::filter::{FilterError, JobFilter};
use super::sql;
use super::state::JobTable;

/// Up to this many matching rows per table are counted exactly (a bounded count of this many
/// index entries costs a few milliseconds).
pub const EXACT_UP_TO: i64 = 1_000;
/// Past this many estimated rows, counting is not even tried.
const ESTIMATE_ONLY_ABOVE: i64 = 20 * EXACT_UP_TO;

/// Why jobs could not be counted.
#[derive(Debug, thiserror::Error)]
pub enum CountError {
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("the job tables could not be read: {0}")]
    Database(#[from] sqlx::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum Count {
    Exact(i64),
    /// The planner's estimate (never below what was already counted).
    Estimated(i64),
}

impl Count {
    pub fn value(&self) -> i64 {
        match self {
            Self::Exact(value) | Self::Estimated(value) => *value,
        }
    }

    pub fn is_exact(&self) -> bool {
        matches!(self, Self::Exact(_))
    }
}

/// The jobs `filter` matches, exact when there are few.
pub async fn count_jobs(pool: &PgPool, filter: &JobFilter) -> Result<Count, CountError> {
    filter.validate()?;
    let mut tx = db::system_tx(pool).await?;
    let total = count(&mut tx, filter).await?;
    tx.commit().await?;
    Ok(total)
}

/// Every job `filter` matches, counted one by one however many there are: for reports and
/// benchmarks, not for pages.
pub async fn count_exact(pool: &PgPool, filter: &JobFilter) -> Result<i64, CountError> {
    filter.validate()?;
    let mut tx = db::system_tx(pool).await?;
    let mut total = 0;
    for table in JobTable::ALL.iter().filter(|table| filter.may_match(**table)) {
        let mut query = QueryBuilder::<Postgres>::new(format!("SELECT count(*) FROM {}", table.as_str()));
        sql::push_where(&mut query, *table, filter);
        let rows: i64 = query.build_query_scalar().fetch_one(&mut *tx).await?;
        total += rows;
    }
    tx.commit().await?;
    Ok(total)
}

pub(crate) async fn count(tx: &mut Tx, filter: &JobFilter) -> Result<Count, sqlx::Error> {
    // Estimates and bounded counts are planned for their values, like pages (see `sql`).
    sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan").execute(&mut **tx).await?;
    let tables: Vec<JobTable> = JobTable::ALL.iter().copied().filter(|table| filter.may_match(*table)).collect();
    let mut estimate = 0_i64;
    for table in &tables {
        estimate = estimate.saturating_add(planner_estimate(tx, *table, filter).await?);
    }
    if estimate > ESTIMATE_ONLY_ABOVE {
        return Ok(Count::Estimated(estimate));
    }
    let mut counted = 0_i64;
    let mut capped = false;
    for table in &tables {
        let mut query =
            QueryBuilder::<Postgres>::new(format!("SELECT count(*) FROM (SELECT 1 FROM {}", table.as_str()));
        sql::push_where(&mut query, *table, filter);
        query.push(" LIMIT ").push_bind(EXACT_UP_TO + 1).push(") AS matching");
        let rows: i64 = query.build_query_scalar().fetch_one(&mut **tx).await?;
        capped |= rows > EXACT_UP_TO;
        counted += rows;
    }
    Ok(if capped { Count::Estimated(estimate.max(counted)) } else { Count::Exact(counted) })
}

/// The planner's row estimate for `filter` on `table`.
///
/// Row-level security adds its policy to every query the application role plans, and the
/// planner guesses that clause keeps a fraction of a percent of the rows. The estimate is
/// therefore the filter's share of the unfiltered query (both carry the policy, so its guess
/// cancels out) times the table's size from its statistics.
async fn planner_estimate(tx: &mut Tx, table: JobTable, filter: &JobFilter) -> Result<i64, sqlx::Error> {
    let mut query = QueryBuilder::<Postgres>::new(format!("EXPLAIN (FORMAT JSON) SELECT 1 FROM {}", table.as_str()));
    sql::push_where(&mut query, table, filter);
    let filtered = plan_rows(query.build_query_scalar().fetch_one(&mut **tx).await?)?;
    let unfiltered = plan_rows(
        sqlx::query_scalar(&format!("EXPLAIN (FORMAT JSON) SELECT 1 FROM {}", table.as_str()))
            .fetch_one(&mut **tx)
            .await?,
    )?;
    let table_rows: f32 = sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE oid = $1::regclass")
        .bind(table.as_str())
        .fetch_one(&mut **tx)
        .await?;
    // A table never analyzed has no size yet (-1): the planner's own figure is all there is.
    let estimate = if table_rows > 0.0 && unfiltered > 0.0 {
        f64::from(table_rows) * (filtered / unfiltered).min(1.0)
    } else {
        filtered
    };
    Ok(estimate.round() as i64)
}

fn plan_rows(plan: serde_json::Value) -> Result<f64, sqlx::Error> {
    plan.get(0)
        .and_then(|entry| entry.get("Plan"))
        .and_then(|plan| plan.get("Plan Rows"))
        .and_then(serde_json::Value::as_f64)
        .ok_or_else(|| sqlx::Error::Protocol("EXPLAIN gave no row estimate".into()))
}

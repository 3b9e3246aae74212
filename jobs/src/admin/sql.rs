//! A [`JobFilter`] as SQL over one job table. Every search, count and bulk batch builds its
//! conditions here, so they always agree on which rows a filter means.

use chrono::{DateTime, Utc};
use recete_platform::db::Tx;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use super::filter::JobFilter;
use super::state::JobTable;

/// Errors shown in lists are cut to this many characters.
pub(crate) const LIST_ERROR_CHARS: i32 = 200;

/// A keyset position: rows strictly older than this, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

/// The columns of a [`super::search::JobSummary`], in the same shape for both tables.
pub(crate) fn summary_columns(table: JobTable) -> String {
    format!(
        "id, '{table}' AS job_table, {feed} AS feed, kind, {state} AS state, merchant_id, attempts, \
         CASE WHEN length(last_error) > {chars} THEN left(last_error, {chars}) || '…' ELSE last_error END AS last_error, \
         created_at, {due} AS due_at, updated_at",
        table = table.as_str(),
        feed = table.feed_column(),
        state = table.state_expression(),
        chars = LIST_ERROR_CHARS,
        due = table.due_column(),
    )
}

/// Appends ` WHERE …` for `filter` on `table` (always at least `WHERE true`, so callers may
/// append `AND …`).
pub(crate) fn push_where(query: &mut QueryBuilder<'_, Postgres>, table: JobTable, filter: &JobFilter) {
    query.push(" WHERE true");
    if let Some(id) = filter.id {
        query.push(" AND id = ").push_bind(id);
    }
    if let Some(queue) = filter.queue_name() {
        let feeds: Vec<String> = queue.feeds_on().iter().map(|feed| (*feed).to_owned()).collect();
        query.push(format_args!(" AND {} = ANY(", table.feed_column())).push_bind(feeds).push(")");
    }
    if let Some(kind) = &filter.kind {
        query.push(" AND kind = ").push_bind(kind.clone());
    }
    if let Some(state) = filter.state {
        query.push(" AND ").push(table.state_predicate(state));
    }
    if let Some(merchant) = filter.merchant {
        query.push(" AND merchant_id = ").push_bind(merchant);
    }
    if let Some(order) = &filter.order {
        push_order(query, table, order);
    }
    if let Some(external_id) = &filter.external_id {
        let column = match table {
            JobTable::ExternalEvents => "platform_event_id",
            JobTable::ScheduledTasks => "unique_key",
        };
        query.push(format_args!(" AND {column} = ")).push_bind(external_id.clone());
    }
    if let Some(from) = filter.from {
        query.push(" AND created_at >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        query.push(" AND created_at < ").push_bind(to);
    }
}

/// An order is named by the store's id or by ours. Events carry the store's id as their
/// subject; tasks point at our order row.
fn push_order(query: &mut QueryBuilder<'_, Postgres>, table: JobTable, order: &str) {
    let ours: Option<Uuid> = order.parse().ok();
    match table {
        JobTable::ExternalEvents => {
            query.push(" AND (subject_id = ").push_bind(order.to_owned());
            if let Some(id) = ours {
                query
                    .push(" OR subject_id IN (SELECT external_order_id FROM orders WHERE id = ")
                    .push_bind(id)
                    .push(")");
            }
            query.push(")");
        }
        JobTable::ScheduledTasks => {
            query
                .push(" AND (order_id IN (SELECT id FROM orders WHERE external_order_id = ")
                .push_bind(order.to_owned())
                .push(")");
            if let Some(id) = ours {
                query.push(" OR order_id = ").push_bind(id);
            }
            query.push(")");
        }
    }
}

/// Appends ` AND (created_at, id) < (…)`: the rows after `position` in newest-first order.
pub(crate) fn push_after(query: &mut QueryBuilder<'_, Postgres>, position: Option<Position>) {
    if let Some(position) = position {
        query
            .push(" AND (created_at, id) < (")
            .push_bind(position.created_at)
            .push(", ")
            .push_bind(position.id)
            .push(")");
    }
}

/// Plans a page of jobs for the values it is given, steered onto the `(… created_at DESC, id
/// DESC)` indexes when the filter is broad.
///
/// Plans are made per execution (`force_custom_plan`): a statement run many times would
/// otherwise get a generic plan, and the same SQL reads a few rows for one kind and the whole
/// table for another (measured: page 50 of a rare kind went from 0.4 ms to 165 ms).
///
/// Row-level security adds its policy to every query of the application role, and the planner
/// guesses that clause keeps about 0.5 % of the rows. Believing a filter matches a few hundred
/// rows instead of hundreds of thousands, it prefers reading them all and sorting (a sequential
/// or bitmap scan) to walking an index in order and stopping after one page. Sorting is made
/// the last resort for this transaction. Filters that name one job or order are left alone:
/// they match a handful of rows, and sorting those is the cheap plan.
pub(crate) async fn plan_for_pages(tx: &mut Tx, filter: &JobFilter) -> Result<(), sqlx::Error> {
    sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan").execute(&mut **tx).await?;
    if filter.id.is_some() || filter.order.is_some() || filter.external_id.is_some() {
        return Ok(());
    }
    sqlx::query("SET LOCAL enable_sort = off").execute(&mut **tx).await?;
    Ok(())
}

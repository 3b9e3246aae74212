//! One job in full: its row's bookkeeping, what it is about and every recorded attempt. No
//! payload here; [`super::payload`] shows that, redacted.

use chrono::{DateTime, Utc};
use recete_platform::db::{self, Tx};
use serde::Serialize;
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use super::search::{JobSummary, SummaryRow};
use super::sql;
use super::state::JobTable;

/// Attempts shown per job: the newest ones (a job replayed for weeks may have thousands).
pub const MAX_ATTEMPTS_SHOWN: i64 = 200;

#[derive(Debug, Clone, Serialize)]
pub struct JobDetail {
    pub summary: JobSummary,
    /// From `job_attempts`, oldest first; at most [`MAX_ATTEMPTS_SHOWN`], the newest.
    pub attempts: Vec<AttemptView>,
    /// Recorded attempts older than those in `attempts`.
    pub earlier_attempts: i64,
    /// Stored size of the payload: an event's sealed raw body (compressed, then encrypted), a
    /// task's JSON.
    pub payload_bytes: i64,
    /// Our order: a task's, or the order an event's subject names.
    pub order_id: Option<Uuid>,
    pub customer_id: Option<Uuid>,
    /// Events: the platform (`shopify`, `whatsapp`...).
    pub source: Option<String>,
    /// Events: the platform's own name for what happened.
    pub topic: Option<String>,
    /// Events: the store's order id or the WhatsApp message id.
    pub subject_id: Option<String>,
    /// An event's `platform_event_id`, a task's `unique_key`.
    pub external_id: Option<String>,
    pub integration_id: Option<Uuid>,
    pub request_id: Option<String>,
    /// Tasks: the follow-up step.
    pub step: Option<String>,
    /// Tasks: the last decision in words ("quiet hours until 09:00 …").
    pub status_reason: Option<String>,
    pub cancel_reason: Option<String>,
    /// The whole last error (lists show it trimmed).
    pub last_error: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Last hand-over to Redis, and how many there were.
    pub enqueued_at: Option<DateTime<Utc>>,
    pub enqueue_count: i32,
    /// Set when the customer the event named was erased: its payloads are tombstones.
    pub erased_at: Option<DateTime<Utc>>,
}

/// One finished attempt.
#[derive(Debug, Clone, PartialEq, Serialize, FromRow)]
pub struct AttemptView {
    pub attempt: i32,
    pub worker: String,
    /// `succeeded`, `failed`, `dead`, `timed_out` or `released`.
    pub outcome: String,
    pub due_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub error: Option<String>,
}

impl AttemptView {
    /// How long it waited past its due time before a worker started it.
    pub fn waited_secs(&self) -> f64 {
        (self.started_at - self.due_at).num_milliseconds().max(0) as f64 / 1000.0
    }

    pub fn duration_secs(&self) -> f64 {
        (self.finished_at - self.started_at).num_milliseconds().max(0) as f64 / 1000.0
    }
}

#[derive(FromRow)]
struct DetailRow {
    #[sqlx(flatten)]
    summary: SummaryRow,
    payload_bytes: Option<i64>,
    order_id: Option<Uuid>,
    customer_id: Option<Uuid>,
    source: Option<String>,
    topic: Option<String>,
    subject_id: Option<String>,
    external_id: Option<String>,
    integration_id: Option<Uuid>,
    request_id: Option<String>,
    step: Option<String>,
    status_reason: Option<String>,
    cancel_reason: Option<String>,
    full_error: Option<String>,
    occurred_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    enqueued_at: Option<DateTime<Utc>>,
    enqueue_count: i32,
    erased_at: Option<DateTime<Utc>>,
}

/// The job with this id in either table, or `None`.
pub async fn detail(pool: &PgPool, id: Uuid) -> Result<Option<JobDetail>, sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    let Some(row) = read_row(&mut tx, id).await? else {
        tx.commit().await?;
        return Ok(None);
    };
    let (attempts, earlier_attempts) = attempts(&mut tx, id).await?;
    tx.commit().await?;
    let summary = row.summary.into_summary().map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    Ok(Some(JobDetail {
        summary,
        attempts,
        earlier_attempts,
        payload_bytes: row.payload_bytes.unwrap_or(0),
        order_id: row.order_id,
        customer_id: row.customer_id,
        source: row.source,
        topic: row.topic,
        subject_id: row.subject_id,
        external_id: row.external_id,
        integration_id: row.integration_id,
        request_id: row.request_id,
        step: row.step,
        status_reason: row.status_reason,
        cancel_reason: row.cancel_reason,
        last_error: row.full_error,
        occurred_at: row.occurred_at,
        finished_at: row.finished_at,
        enqueued_at: row.enqueued_at,
        enqueue_count: row.enqueue_count,
        erased_at: row.erased_at,
    }))
}

async fn read_row(tx: &mut Tx, id: Uuid) -> Result<Option<DetailRow>, sqlx::Error> {
    let events = format!(
        "WITH job AS (
             SELECT {columns}, octet_length(payload_sealed)::bigint AS payload_bytes, source, topic, subject_id,
                    platform_event_id AS external_id, integration_id, request_id,
                    NULL::text AS step, NULL::text AS status_reason, cancel_reason, last_error AS full_error,
                    occurred_at, processed_at AS finished_at, enqueued_at, enqueue_count, erased_at
             FROM external_events WHERE id = $1
         )
         SELECT job.*, o.id AS order_id, o.customer_id
         FROM job
         LEFT JOIN orders o ON o.merchant_id = job.merchant_id AND o.external_order_id = job.subject_id
                           AND job.source <> 'whatsapp'",
        columns = sql::summary_columns(JobTable::ExternalEvents),
    );
    if let Some(row) = sqlx::query_as(&events).bind(id).fetch_optional(&mut **tx).await? {
        return Ok(Some(row));
    }
    let tasks = format!(
        "SELECT {columns}, octet_length(payload::text)::bigint AS payload_bytes,
                order_id, customer_id, NULL::text AS source, NULL::text AS topic, NULL::text AS subject_id,
                unique_key AS external_id, NULL::uuid AS integration_id, NULL::text AS request_id,
                step, status_reason, cancel_reason, last_error AS full_error,
                NULL::timestamptz AS occurred_at, finished_at, enqueued_at, enqueue_count,
                NULL::timestamptz AS erased_at
         FROM scheduled_tasks WHERE id = $1",
        columns = sql::summary_columns(JobTable::ScheduledTasks),
    );
    sqlx::query_as(&tasks).bind(id).fetch_optional(&mut **tx).await
}

async fn attempts(tx: &mut Tx, id: Uuid) -> Result<(Vec<AttemptView>, i64), sqlx::Error> {
    let mut attempts: Vec<AttemptView> = sqlx::query_as(
        "SELECT attempt, worker, outcome, due_at, started_at, finished_at, error
         FROM job_attempts WHERE job_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(id)
    .bind(MAX_ATTEMPTS_SHOWN)
    .fetch_all(&mut **tx)
    .await?;
    attempts.reverse();
    let earlier = if attempts.len() as i64 == MAX_ATTEMPTS_SHOWN {
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM job_attempts WHERE job_id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
        total - MAX_ATTEMPTS_SHOWN
    } else {
        0
    };
    Ok((attempts, earlier))
}

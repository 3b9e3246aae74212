//! The relay and the reconciler, in one statement.
//!
//! Each pass takes due rows (pending, or failed and past their backoff) that were never handed
//! to Redis, or whose last hand-over is older than `queue.reconcile_after_secs`, marks them
//! handed over and pushes one job per row. It pushes only while the queue holds fewer than
//! `queue.max_backlog` jobs, so Redis never holds enough due jobs to break apalis-redis's fetch.
//! Rows are claimed with `SKIP LOCKED`, so any number of worker processes can relay at once.
//!
//! A row handed over again after its reconcile delay is counted as recovered: that is the
//! reconciler at work (Redis lost the job, a worker died, a push was dropped).

use std::time::Duration;

use apalis::prelude::{TaskBuilder, TaskId, TaskSink};
use apalis_redis::{ConnectionManager, RedisStorage};
use sqlx::PgPool;
use uuid::Uuid;

use super::backlog;
use super::jobs::{EventJob, QueueName};
use crate::config::QueueSettings;
use crate::db;
use crate::ids::EventId;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RelayReport {
    pub handed_over: usize,
    pub recovered: usize,
    /// The queue was at its backlog bound; nothing more could be pushed this pass.
    pub queue_full: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("push to the queue failed: {0}")]
    Push(String),
}

/// Everything one relay needs; one per queue per process.
pub struct Relay {
    pub queue: QueueName,
    pub namespace: String,
    pub storage: RedisStorage<EventJob>,
    pub connection: ConnectionManager,
    pub settings: QueueSettings,
}

impl Relay {
    /// One pass; call again at once when it handed over a full batch.
    pub async fn relay_once(&mut self, pool: &PgPool) -> Result<RelayReport, RelayError> {
        let depth = backlog::depth(&mut self.connection, &self.namespace).await? as usize;
        let room = self.settings.max_backlog.saturating_sub(depth).min(self.settings.relay_batch);
        metrics::gauge!("recete_queue_depth", "queue" => self.queue.as_str()).set(depth as f64);
        if room == 0 {
            return Ok(RelayReport { queue_full: true, ..RelayReport::default() });
        }
        let mut tx = db::system_tx(pool).await?;
        let rows: Vec<(Uuid, i32, bool)> = sqlx::query_as(
            "WITH due AS (
                 SELECT id, enqueued_at AS previous_hand_over FROM external_events
                 WHERE state IN ('pending', 'failed') AND next_attempt_at <= now() AND source = ANY($1)
                   AND (enqueued_at IS NULL OR enqueued_at < now() - make_interval(secs => $2))
                 ORDER BY next_attempt_at
                 LIMIT $3
                 FOR UPDATE SKIP LOCKED
             )
             UPDATE external_events e SET enqueued_at = now(), enqueue_count = e.enqueue_count + 1
             FROM due WHERE e.id = due.id
             RETURNING e.id, e.enqueue_count, due.previous_hand_over IS NOT NULL",
        )
        .bind(self.queue.event_sources())
        .bind(self.settings.reconcile_after_secs as f64)
        .bind(room as i64)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(RelayReport::default());
        }
        // The task id is the row and its hand-over count: two relays racing on one hand-over
        // push one job, and a later hand-over is never mistaken for a finished one.
        let tasks = rows.iter().map(|(id, count, _)| {
            TaskBuilder::new(EventJob::V1 { event_id: EventId::from_uuid(*id) })
                .task_id(TaskId::from_string(format!("{id}:{count}")))
                .build()
        });
        // Push before commit: if the push fails the rows stay un-handed-over; if the commit
        // fails after a push, the job finds its row still due and works on it anyway.
        self.storage
            .push_all(futures_util::stream::iter(tasks.collect::<Vec<_>>()))
            .await
            .map_err(|e| RelayError::Push(e.to_string()))?;
        tx.commit().await?;
        let recovered = rows.iter().filter(|(_, _, recovered)| *recovered).count();
        let report = RelayReport { handed_over: rows.len(), recovered, queue_full: false };
        metrics::counter!("recete_relay_enqueued_total", "queue" => self.queue.as_str())
            .increment(report.handed_over as u64);
        if recovered > 0 {
            metrics::counter!("recete_reconciler_recovered_total", "queue" => self.queue.as_str())
                .increment(recovered as u64);
            tracing::info!(queue = %self.queue, recovered, "reconciler handed over rows again");
        }
        Ok(report)
    }
}

/// How long to wait before the next pass: at once after a full batch, else the relay interval.
pub fn next_pass_in(report: &RelayReport, settings: &QueueSettings) -> Duration {
    if report.handed_over >= settings.relay_batch {
        Duration::ZERO
    } else {
        Duration::from_millis(settings.relay_interval_ms)
    }
}

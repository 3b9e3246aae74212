//! The relay and the reconciler, in one statement per queue.
//!
//! Each pass takes due rows that were never handed to Redis, or whose last hand-over is older
//! than `queue.reconcile_after_secs`, marks them handed over and pushes one job per row. It pushes
//! only what it reserved in the queue's [`budget`](crate::budget), shared by every relay of the
//! fleet, so all of them together keep the queue under `queue.max_backlog` jobs and Redis never
//! holds enough due jobs to break apalis-redis's fetch. Rows are claimed with `SKIP LOCKED`, so
//! any number of worker processes can relay at once.
//!
//! Event rows are handed over when due. Scheduled tasks are handed over up to
//! `queue.schedule_horizon_secs` early, as delayed jobs that become visible at their due time.
//! A row handed over again after its reconcile delay is counted as recovered: that is the
//! reconciler at work (Redis lost the job, a worker died, a push was dropped).
//!
//! A queue an operator paused is skipped: its rows stay in PostgreSQL until it is resumed.

use std::future::Future;
use std::time::Duration;

use apalis::prelude::{TaskBuilder, TaskSink};
use apalis_redis::{ConnectionManager, RedisStorage};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::PgPool;
use uuid::Uuid;

use crate::budget::{Budget, Reservation};
use crate::control;
use crate::jobs::{EventJob, QueueName, TaskJob};
use recete_platform::config::QueueSettings;
use recete_platform::db::{self, Tx};
use recete_platform::ids::{EventId, TaskId};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RelayReport {
    pub handed_over: usize,
    pub recovered: usize,
    /// The queue was at its backlog bound; nothing more could be pushed this pass.
    pub queue_full: bool,
    /// The pass handed over all the room the backlog bound left: more rows are likely due.
    pub room_filled: bool,
    /// An operator paused the queue; nothing was handed over.
    pub paused: bool,
    /// After a pass that emptied the queue's due rows: how soon the next known row becomes due
    /// (a retry, a scheduled task), if any.
    pub next_due_in: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("push to the queue failed: {0}")]
    Push(String),
    #[error("the backlog reservation expired before the push; the rows go to the next pass")]
    ReservationExpired,
}

/// A row claimed for hand-over.
#[derive(Debug, sqlx::FromRow)]
pub struct Claimed {
    pub id: Uuid,
    pub enqueue_count: i32,
    pub recovered: bool,
    /// Seconds until the row is due (0 for rows due now).
    pub due_in_secs: f64,
}

/// A job type and the table its rows live in.
pub trait Feed: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    fn for_row(id: Uuid) -> Self;

    fn claim<'a>(
        tx: &'a mut Tx,
        queue: QueueName,
        settings: &'a QueueSettings,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Claimed>, sqlx::Error>> + Send + 'a;

    /// Seconds until the earliest row of `queue` not yet due becomes due for hand-over.
    fn next_due<'a>(
        tx: &'a mut Tx,
        queue: QueueName,
        settings: &'a QueueSettings,
    ) -> impl Future<Output = Result<Option<f64>, sqlx::Error>> + Send + 'a;

    /// The table whose rows this job names.
    const TABLE: &'static str;

    /// Gives back rows claimed by a pass whose push failed: not handed over after all, unless a
    /// later hand-over took them since.
    fn release<'a>(pool: &'a PgPool, rows: &'a [Claimed]) -> impl Future<Output = Result<(), sqlx::Error>> + Send + 'a {
        async move {
            let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
            let counts: Vec<i32> = rows.iter().map(|row| row.enqueue_count).collect();
            let mut tx = db::system_tx(pool).await?;
            sqlx::query(&format!(
                "UPDATE {table} t SET enqueued_at = NULL
                 FROM unnest($1::uuid[], $2::int[]) AS claimed (id, enqueue_count)
                 WHERE t.id = claimed.id AND t.enqueue_count = claimed.enqueue_count",
                table = Self::TABLE
            ))
            .bind(&ids)
            .bind(&counts)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        }
    }
}

impl Feed for EventJob {
    const TABLE: &'static str = "external_events";

    fn for_row(id: Uuid) -> Self {
        Self::V1 { event_id: EventId::from_uuid(id) }
    }

    fn claim<'a>(
        tx: &'a mut Tx,
        queue: QueueName,
        settings: &'a QueueSettings,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Claimed>, sqlx::Error>> + Send + 'a {
        sqlx::query_as(
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
             RETURNING e.id, e.enqueue_count, due.previous_hand_over IS NOT NULL AS recovered, 0::float8 AS due_in_secs",
        )
        .bind(queue.feeds_on())
        .bind(settings.reconcile_after_secs as f64)
        .bind(limit)
        .fetch_all(&mut **tx)
    }

    fn next_due<'a>(
        tx: &'a mut Tx,
        queue: QueueName,
        _settings: &'a QueueSettings,
    ) -> impl Future<Output = Result<Option<f64>, sqlx::Error>> + Send + 'a {
        sqlx::query_scalar(
            "SELECT extract(epoch FROM min(next_attempt_at) - now())::float8 FROM external_events
             WHERE state IN ('pending', 'failed') AND source = ANY($1) AND next_attempt_at > now()",
        )
        .bind(queue.feeds_on())
        .fetch_one(&mut **tx)
    }
}

impl Feed for TaskJob {
    const TABLE: &'static str = "scheduled_tasks";

    fn for_row(id: Uuid) -> Self {
        Self::V1 { task_id: TaskId::from_uuid(id) }
    }

    fn claim<'a>(
        tx: &'a mut Tx,
        queue: QueueName,
        settings: &'a QueueSettings,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Claimed>, sqlx::Error>> + Send + 'a {
        // A delayed job is not lost while it waits in Redis: reconcile only once its due time
        // (or its hand-over, if later) is past by the reconcile delay.
        sqlx::query_as(
            "WITH due AS (
                 SELECT id, enqueued_at AS previous_hand_over, due_at FROM scheduled_tasks
                 WHERE state IN ('pending', 'failed') AND kind = ANY($1)
                   AND due_at <= now() + make_interval(secs => $4)
                   AND (enqueued_at IS NULL OR greatest(enqueued_at, due_at) < now() - make_interval(secs => $2))
                 ORDER BY due_at
                 LIMIT $3
                 FOR UPDATE SKIP LOCKED
             )
             UPDATE scheduled_tasks t SET enqueued_at = now(), enqueue_count = t.enqueue_count + 1
             FROM due WHERE t.id = due.id
             RETURNING t.id, t.enqueue_count, due.previous_hand_over IS NOT NULL AS recovered,
                       greatest(0, extract(epoch FROM due.due_at - now()))::float8 AS due_in_secs",
        )
        .bind(queue.feeds_on())
        .bind(settings.reconcile_after_secs as f64)
        .bind(limit)
        .bind(settings.schedule_horizon_secs as f64)
        .fetch_all(&mut **tx)
    }

    fn next_due<'a>(
        tx: &'a mut Tx,
        queue: QueueName,
        settings: &'a QueueSettings,
    ) -> impl Future<Output = Result<Option<f64>, sqlx::Error>> + Send + 'a {
        // Handed over a horizon early: due for the relay a horizon before its due time.
        sqlx::query_scalar(
            "SELECT extract(epoch FROM min(due_at) - now())::float8 - $2 FROM scheduled_tasks
             WHERE state IN ('pending', 'failed') AND kind = ANY($1) AND due_at > now() + make_interval(secs => $2)",
        )
        .bind(queue.feeds_on())
        .bind(settings.schedule_horizon_secs as f64)
        .fetch_one(&mut **tx)
    }
}

/// Everything one relay needs; one per queue per process.
pub struct Relay<J: Feed> {
    pub queue: QueueName,
    pub namespace: String,
    pub storage: RedisStorage<J>,
    pub connection: ConnectionManager,
    pub settings: QueueSettings,
}

impl<J: Feed> Relay<J> {
    /// One pass; call again at once when it handed over a full batch.
    pub async fn relay_once(&mut self, pool: &PgPool) -> Result<RelayReport, RelayError> {
        let budget = Budget::new(&self.namespace, self.settings.max_backlog);
        let grant = budget.reserve(&mut self.connection, self.settings.relay_batch).await?;
        metrics::gauge!("recete_queue_depth", "queue" => self.queue.as_str()).set(grant.depth as f64);
        metrics::gauge!("recete_queue_reserved", "queue" => self.queue.as_str()).set(grant.reserved as f64);
        let Some(mut reservation) = grant.reservation else {
            return Ok(RelayReport { queue_full: true, ..RelayReport::default() });
        };
        let room = grant.granted;
        let claimed = self.claim(pool, room).await;
        let (rows, next_due_in) = match claimed {
            Ok(Some(claimed)) => claimed,
            Ok(None) => {
                self.give_back(&budget, reservation).await;
                return Ok(RelayReport { paused: true, ..RelayReport::default() });
            }
            Err(error) => {
                self.give_back(&budget, reservation).await;
                return Err(error.into());
            }
        };
        if rows.is_empty() {
            self.give_back(&budget, reservation).await;
            return Ok(RelayReport { next_due_in, ..RelayReport::default() });
        }
        // The task id is the row and its hand-over count: two relays racing on one hand-over
        // push one job, and a later hand-over is never mistaken for a finished one.
        let tasks: Vec<_> = rows
            .iter()
            .map(|row| {
                let builder = TaskBuilder::new(J::for_row(row.id))
                    .task_id(apalis::prelude::TaskId::from_string(format!("{}:{}", row.id, row.enqueue_count)));
                let builder =
                    if is_delayed(row) { builder.run_after(Duration::from_secs_f64(row.due_in_secs)) } else { builder };
                builder.build()
            })
            .collect();
        // The rows are committed as handed over; the reservation shrinks to them and must still be
        // live, or they go back instead of being pushed past the budget.
        let confirmed = budget.confirm(&mut self.connection, &mut reservation, rows.len()).await;
        if !matches!(confirmed, Ok(true)) {
            self.give_rows_back(pool, &rows).await;
            return Err(match confirmed {
                Err(error) => RelayError::Redis(error),
                Ok(_) => RelayError::ReservationExpired,
            });
        }
        if let Err(error) = self.storage.push_all(futures_util::stream::iter(tasks)).await {
            // A push the client gave up on may still land (a reply too slow, not a refusal), and
            // its rows go to the next pass as new jobs: the reservation is kept until it expires,
            // so jobs landing late still count against the budget.
            self.give_rows_back(pool, &rows).await;
            return Err(RelayError::Push(error.to_string()));
        }
        // Pushed: the jobs count in the depth now.
        self.give_back(&budget, reservation).await;
        let recovered = rows.iter().filter(|row| row.recovered).count();
        let room_filled = rows.len() >= room;
        let report =
            RelayReport { handed_over: rows.len(), recovered, next_due_in, room_filled, ..RelayReport::default() };
        let delayed = rows.iter().filter(|row| is_delayed(row)).count();
        for (schedule, count) in [("immediate", rows.len() - delayed), ("delayed", delayed)] {
            if count > 0 {
                metrics::counter!("recete_jobs_enqueued_total", "queue" => self.queue.as_str(), "schedule" => schedule)
                    .increment(count as u64);
            }
        }
        if recovered > 0 {
            metrics::counter!("recete_reconciler_recovered_total", "queue" => self.queue.as_str())
                .increment(recovered as u64);
            tracing::info!(queue = %self.queue, recovered, "reconciler handed over rows again");
        }
        Ok(report)
    }

    /// Claims up to `room` due rows and commits them as handed over; also how soon the next row
    /// is due when fewer were due. `None` when the queue is paused.
    async fn claim(&self, pool: &PgPool, room: usize) -> Result<Option<(Vec<Claimed>, Option<Duration>)>, sqlx::Error> {
        let mut tx = db::system_tx(pool).await?;
        if control::is_paused(&mut tx, self.queue).await? {
            tx.commit().await?;
            return Ok(None);
        }
        let rows = J::claim(&mut tx, self.queue, &self.settings, room as i64).await?;
        let next_due_in = if rows.len() < room {
            J::next_due(&mut tx, self.queue, &self.settings).await?.map(|secs| Duration::from_secs_f64(secs.max(0.0)))
        } else {
            None
        };
        // Commit before the push: a job is never visible in Redis while the row it names is still
        // locked by this transaction, so a worker that fetches it at once finds the row free
        // instead of skipping it and leaving it to the reconciler. A push that fails gives the
        // rows back at once (the next pass hands them over again); a relay that dies between the
        // commit and the push leaves them to the reconciler after `reconcile_after_secs`.
        tx.commit().await?;
        Ok(Some((rows, next_due_in)))
    }

    /// Rows claimed but not pushed go back to the next pass.
    async fn give_rows_back(&self, pool: &PgPool, rows: &[Claimed]) {
        if let Err(error) = J::release(pool, rows).await {
            tracing::warn!(queue = %self.queue, %error, "could not give back rows that were not pushed");
        }
    }

    /// A reservation that cannot be given back expires by itself.
    async fn give_back(&mut self, budget: &Budget, reservation: Reservation) {
        if let Err(error) = budget.release(&mut self.connection, reservation).await {
            tracing::warn!(queue = %self.queue, %error, "could not give back a backlog reservation; it expires");
        }
    }
}

/// A row due a second or more from now is pushed as a delayed job that becomes visible when due;
/// under a second apalis's own polling is the finer clock.
fn is_delayed(row: &Claimed) -> bool {
    row.due_in_secs >= 1.0
}

/// The longest a relay waits before its next pass; new work (`heard`: notifications arrive)
/// wakes it earlier. At once after a full batch; while the queue is full or the last pass filled
/// the room it had (the queue drains without notice, and more rows are due), or while
/// notifications are not arriving, the relay interval; otherwise until the next known row is due,
/// at most the sweep interval.
pub fn next_pass_in(report: &RelayReport, settings: &QueueSettings, heard: bool) -> Duration {
    let sweep = Duration::from_secs(settings.sweep_interval_secs);
    if report.handed_over >= settings.relay_batch {
        Duration::ZERO
    } else if report.queue_full || report.room_filled || !heard {
        Duration::from_millis(settings.relay_interval_ms).min(sweep)
    } else {
        report.next_due_in.map_or(sweep, |due| due.min(sweep))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> QueueSettings {
        recete_platform::config::PlatformSettings::load_from(recete_platform::config::base_figment(None))
            .expect("default settings")
            .queue
    }

    #[test]
    fn an_idle_relay_sleeps_until_woken_the_next_due_row_or_the_sweep() {
        let settings = settings();
        let sweep = Duration::from_secs(settings.sweep_interval_secs);
        let idle = RelayReport::default();
        assert_eq!(next_pass_in(&idle, &settings, true), sweep);
        let retry_soon = RelayReport { next_due_in: Some(Duration::from_millis(1500)), ..RelayReport::default() };
        assert_eq!(next_pass_in(&retry_soon, &settings, true), Duration::from_millis(1500));
        let due_later = RelayReport { next_due_in: Some(sweep * 10), ..RelayReport::default() };
        assert_eq!(next_pass_in(&due_later, &settings, true), sweep);
        let partial = RelayReport { handed_over: 3, ..RelayReport::default() };
        assert_eq!(next_pass_in(&partial, &settings, true), sweep, "the rest comes with a notification");
    }

    #[test]
    fn a_busy_full_or_deaf_relay_comes_back_soon() {
        let settings = settings();
        let interval = Duration::from_millis(settings.relay_interval_ms);
        let full_batch = RelayReport { handed_over: settings.relay_batch, ..RelayReport::default() };
        assert_eq!(next_pass_in(&full_batch, &settings, true), Duration::ZERO);
        let queue_full = RelayReport { queue_full: true, ..RelayReport::default() };
        assert_eq!(next_pass_in(&queue_full, &settings, true), interval);
        let topped_up = RelayReport { handed_over: 40, room_filled: true, ..RelayReport::default() };
        assert_eq!(next_pass_in(&topped_up, &settings, true), interval, "a backlog drains without notice");
        assert_eq!(next_pass_in(&RelayReport::default(), &settings, false), interval, "no notifications: poll");
    }
}

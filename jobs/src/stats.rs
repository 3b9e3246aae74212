//! Each queue at a glance, read from PostgreSQL: for the queue gauges on `/metrics` and for the
//! operators' queue board.
//!
//! The states of a queue's rows, precisely:
//! - `pending`: state `pending` and due now (ready, waiting for a worker or in Redis);
//! - `scheduled`: state `pending` and due later (a follow-up planned for next week);
//! - `retrying`: state `failed`, due now or later: an attempt failed and another will follow;
//! - `dead`: state `dead`, waiting for an operator;
//! - `running`: the busy slots of live worker processes serving the queue. Rows are never marked
//!   running (a job holds a row lock instead), so this comes from the workers' heartbeats.
//!
//! `oldest_ready_age_secs` is how long the longest-waiting ready row (pending or retrying, due
//! now) has been due. Worker figures count only rows refreshed within three heartbeats; a process
//! that is draining still counts its busy slots but no longer counts as live or offers slots.
//!
//! Every count reads the partial indexes over unfinished and dead rows, so the cost follows the
//! work waiting, not the millions of rows finished long ago.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use sqlx::{FromRow, PgPool};

use crate::QueueName;
use crate::control::QueuePause;
use recete_platform::config::MetricsSettings;
use recete_platform::db::{self, Tx};

/// One queue at a glance.
#[derive(Debug, Clone)]
pub struct QueueOverview {
    pub queue: QueueName,
    pub pending: i64,
    pub running: i64,
    pub retrying: i64,
    pub dead: i64,
    pub scheduled: i64,
    pub oldest_ready_age_secs: Option<f64>,
    /// Attempts that succeeded within the window.
    pub succeeded_recently: i64,
    /// Attempts that failed, timed out or were dead-lettered within the window.
    pub failed_recently: i64,
    pub live_workers: i64,
    pub slots: i64,
    pub busy_slots: i64,
    pub paused: Option<QueuePause>,
}

impl QueueOverview {
    fn empty(queue: QueueName) -> Self {
        Self {
            queue,
            pending: 0,
            running: 0,
            retrying: 0,
            dead: 0,
            scheduled: 0,
            oldest_ready_age_secs: None,
            succeeded_recently: 0,
            failed_recently: 0,
            live_workers: 0,
            slots: 0,
            busy_slots: 0,
            paused: None,
        }
    }

    /// The row counts by the `state` label of `recete_queue_jobs`.
    pub fn jobs_by_state(&self) -> [(&'static str, i64); 5] {
        [
            ("pending", self.pending),
            ("running", self.running),
            ("retrying", self.retrying),
            ("dead", self.dead),
            ("scheduled", self.scheduled),
        ]
    }
}

/// Unfinished and dead rows of one feed (an event source or a task kind) in one state.
#[derive(FromRow)]
struct StateCount {
    feed: String,
    state: String,
    due_now: i64,
    due_later: i64,
    oldest_due_age_secs: Option<f64>,
}

#[derive(FromRow)]
struct RecentAttempts {
    queue: String,
    succeeded: i64,
    failed: i64,
}

#[derive(FromRow)]
struct LiveWorkers {
    queue: String,
    live: i64,
    slots: i64,
    busy: i64,
}

/// Every queue, in [`QueueName::ALL`] order. `window` bounds the recent attempt counts;
/// `heartbeat` is the workers' heartbeat interval (rows older than three are gone).
pub async fn overview(pool: &PgPool, window: Duration, heartbeat: Duration) -> sqlx::Result<Vec<QueueOverview>> {
    let mut tx = db::system_tx(pool).await?;
    let events = state_counts(&mut tx, "external_events", "source", "next_attempt_at").await?;
    let tasks = state_counts(&mut tx, "scheduled_tasks", "kind", "due_at").await?;
    let recent: Vec<RecentAttempts> = sqlx::query_as(
        "SELECT queue,
                count(*) FILTER (WHERE outcome = 'succeeded') AS succeeded,
                count(*) FILTER (WHERE outcome IN ('failed', 'dead', 'timed_out')) AS failed
         FROM job_attempts WHERE finished_at > now() - make_interval(secs => $1)
         GROUP BY queue",
    )
    .bind(window.as_secs_f64())
    .fetch_all(&mut *tx)
    .await?;
    let workers: Vec<LiveWorkers> = sqlx::query_as(
        "SELECT p.key AS queue,
                count(*) FILTER (WHERE w.draining_since IS NULL) AS live,
                coalesce(sum((p.value->>'slots')::bigint) FILTER (WHERE w.draining_since IS NULL), 0)::bigint AS slots,
                coalesce(sum((p.value->>'busy')::bigint), 0)::bigint AS busy
         FROM worker_processes w CROSS JOIN LATERAL jsonb_each(w.pools) p
         WHERE w.last_seen_at > now() - make_interval(secs => $1)
         GROUP BY p.key",
    )
    .bind(heartbeat.as_secs_f64() * 3.0)
    .fetch_all(&mut *tx)
    .await?;
    let pauses: Vec<QueuePause> =
        sqlx::query_as("SELECT queue, paused_by, reason, paused_at FROM queue_pauses").fetch_all(&mut *tx).await?;
    tx.commit().await?;

    let mut queues: Vec<QueueOverview> = QueueName::ALL.iter().map(|queue| QueueOverview::empty(*queue)).collect();
    let by_name: HashMap<&str, usize> =
        QueueName::ALL.iter().enumerate().map(|(index, queue)| (queue.as_str(), index)).collect();
    for count in events.iter().chain(&tasks) {
        let Some(queue) = queues.iter_mut().find(|queue| queue.queue.feeds_on().contains(&count.feed.as_str())) else {
            continue;
        };
        add_state_count(queue, count);
    }
    for recent in recent {
        if let Some(&index) = by_name.get(recent.queue.as_str()) {
            queues[index].succeeded_recently = recent.succeeded;
            queues[index].failed_recently = recent.failed;
        }
    }
    for workers in workers {
        if let Some(&index) = by_name.get(workers.queue.as_str()) {
            let queue = &mut queues[index];
            queue.live_workers = workers.live;
            queue.slots = workers.slots;
            queue.busy_slots = workers.busy;
            queue.running = workers.busy;
        }
    }
    for pause in pauses {
        if let Some(&index) = by_name.get(pause.queue.as_str()) {
            queues[index].paused = Some(pause);
        }
    }
    Ok(queues)
}

/// Rows of `table` by feed and state, for the states the partial index `*_active_idx` covers.
async fn state_counts(tx: &mut Tx, table: &str, feed_column: &str, due_column: &str) -> sqlx::Result<Vec<StateCount>> {
    sqlx::query_as(&format!(
        "SELECT {feed_column} AS feed, state,
                count(*) FILTER (WHERE {due_column} <= now()) AS due_now,
                count(*) FILTER (WHERE {due_column} > now()) AS due_later,
                extract(epoch FROM now() - min({due_column}) FILTER (WHERE {due_column} <= now()))::float8
                    AS oldest_due_age_secs
         FROM {table} WHERE state IN ('pending', 'failed', 'dead')
         GROUP BY {feed_column}, state"
    ))
    .fetch_all(&mut **tx)
    .await
}

fn add_state_count(queue: &mut QueueOverview, count: &StateCount) {
    match count.state.as_str() {
        "pending" => {
            queue.pending += count.due_now;
            queue.scheduled += count.due_later;
        }
        "failed" => queue.retrying += count.due_now + count.due_later,
        "dead" => queue.dead += count.due_now + count.due_later,
        _ => {}
    }
    if count.state != "dead" {
        queue.oldest_ready_age_secs = match (queue.oldest_ready_age_secs, count.oldest_due_age_secs) {
            (Some(known), Some(found)) => Some(known.max(found)),
            (known, found) => known.or(found),
        };
    }
}

/// Sets the queue gauges of `/metrics` from one overview.
pub fn publish(overview: &[QueueOverview]) {
    for queue in overview {
        let name = queue.queue.as_str();
        for (state, count) in queue.jobs_by_state() {
            metrics::gauge!("recete_queue_jobs", "queue" => name, "state" => state).set(count as f64);
        }
        metrics::gauge!("recete_queue_oldest_ready_age_seconds", "queue" => name)
            .set(queue.oldest_ready_age_secs.unwrap_or(0.0));
        metrics::gauge!("recete_queue_paused", "queue" => name).set(if queue.paused.is_some() { 1.0 } else { 0.0 });
        metrics::gauge!("recete_workers_live", "queue" => name).set(queue.live_workers as f64);
    }
}

/// The queue gauges' sampler, run by worker and API processes alike so each `/metrics` shows
/// the queues.
pub struct Sampler {
    pool: PgPool,
    interval: Duration,
    heartbeat: Duration,
}

impl Sampler {
    pub fn new(pool: PgPool, settings: &MetricsSettings) -> Self {
        Self {
            pool,
            interval: Duration::from_secs(settings.sample_interval_secs.max(1)),
            heartbeat: Duration::from_secs(settings.heartbeat_interval_secs),
        }
    }

    /// Publishes the gauges every interval until `stop` completes. A failed read keeps the last
    /// values and is logged; the next tick tries again.
    pub async fn run_until(self, stop: impl Future<Output = ()>) {
        let mut stop = std::pin::pin!(stop);
        loop {
            // Bounded by the interval, so a database that stops answering never stacks up reads.
            let read = overview(&self.pool, self.interval, self.heartbeat);
            match tokio::time::timeout(self.interval, read).await {
                Ok(Ok(overview)) => publish(&overview),
                Ok(Err(error)) => tracing::warn!(%error, "queue gauges not sampled"),
                Err(_) => tracing::warn!(timeout_secs = self.interval.as_secs(), "queue gauges not sampled in time"),
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(self.interval) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(state: &str, due_now: i64, due_later: i64, oldest: Option<f64>) -> StateCount {
        StateCount { feed: "shopify".into(), state: state.into(), due_now, due_later, oldest_due_age_secs: oldest }
    }

    #[test]
    fn states_split_into_ready_scheduled_retrying_and_dead() {
        let mut queue = QueueOverview::empty(QueueName::OrderEvents);
        add_state_count(&mut queue, &count("pending", 3, 2, Some(4.0)));
        add_state_count(&mut queue, &count("failed", 1, 5, Some(9.0)));
        add_state_count(&mut queue, &count("dead", 7, 0, Some(900.0)));
        assert_eq!((queue.pending, queue.scheduled, queue.retrying, queue.dead), (3, 2, 6, 7));
        // Dead letters are not waiting to run, so they never make the queue look late.
        assert_eq!(queue.oldest_ready_age_secs, Some(9.0));
    }

    #[test]
    fn a_queue_with_nothing_ready_has_no_oldest_age() {
        let mut queue = QueueOverview::empty(QueueName::Messages);
        add_state_count(&mut queue, &count("pending", 0, 4, None));
        assert_eq!(queue.oldest_ready_age_secs, None);
        assert_eq!(queue.scheduled, 4);
    }
}

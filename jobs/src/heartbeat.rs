//! Who this worker process is, how busy its pools are, and its row in `worker_processes`.
//!
//! Each pool, named by the queue it serves, counts its concurrency slots (while its apalis worker runs) and the slots running a
//! job now; both are gauges of this process's `/metrics`. Every `metrics.heartbeat_interval_secs`
//! the process upserts its row with those counts, which is how the queue board and the
//! `recete_workers_live` gauge see the whole fleet. On shutdown the row is marked draining; on a
//! clean exit it is deleted. A row that stops being refreshed is pruned by housekeeping.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use crate::processes::{self, Heartbeat};
use serde_json::json;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::QueueName;

/// A pool's slots and how many of them run a job now.
#[derive(Debug)]
pub struct PoolSlots {
    pool: QueueName,
    slots: AtomicI64,
    busy: AtomicI64,
    /// Wakes the heartbeat when the slots open or close, so the fleet sees it without waiting
    /// a whole interval.
    changed: Arc<Notify>,
}

impl PoolSlots {
    fn new(pool: QueueName, changed: Arc<Notify>) -> Self {
        let slots = Self { pool, slots: AtomicI64::new(0), busy: AtomicI64::new(0), changed };
        slots.publish_slots(0);
        metrics::gauge!("recete_worker_busy_slots", "pool" => pool.as_str()).set(0.0);
        slots
    }

    /// The pool's apalis worker runs with `concurrency` slots.
    pub fn open(&self, concurrency: usize) {
        let concurrency = i64::try_from(concurrency).unwrap_or(i64::MAX);
        self.slots.store(concurrency, Ordering::Relaxed);
        self.publish_slots(concurrency);
        self.changed.notify_one();
    }

    /// The pool's apalis worker stopped (shutdown, or a failure before its restart).
    pub fn close(&self) {
        self.slots.store(0, Ordering::Relaxed);
        self.publish_slots(0);
        self.changed.notify_one();
    }

    /// Marks one slot busy until the returned guard is dropped.
    pub fn occupy(self: &Arc<Self>) -> BusySlot {
        let busy = self.busy.fetch_add(1, Ordering::Relaxed) + 1;
        metrics::gauge!("recete_worker_busy_slots", "pool" => self.pool.as_str()).set(busy as f64);
        BusySlot { slots: self.clone() }
    }

    pub fn slots(&self) -> i64 {
        self.slots.load(Ordering::Relaxed)
    }

    pub fn busy(&self) -> i64 {
        self.busy.load(Ordering::Relaxed)
    }

    fn publish_slots(&self, slots: i64) {
        metrics::gauge!("recete_worker_slots", "pool" => self.pool.as_str()).set(slots as f64);
    }
}

/// A slot running a job; frees it when dropped, however the job ends.
pub struct BusySlot {
    slots: Arc<PoolSlots>,
}

impl Drop for BusySlot {
    fn drop(&mut self) {
        let busy = self.slots.busy.fetch_sub(1, Ordering::Relaxed) - 1;
        metrics::gauge!("recete_worker_busy_slots", "pool" => self.slots.pool.as_str()).set(busy as f64);
    }
}

/// This worker process: its id and its pools' slots.
#[derive(Debug)]
pub struct Process {
    /// `<hostname>-<pid>-<random>`: unique per process start, even with a recycled pid.
    pub id: String,
    pub hostname: String,
    pub pid: u32,
    pools: HashMap<QueueName, Arc<PoolSlots>>,
    slots_changed: Arc<Notify>,
}

impl Process {
    /// A process running `pools`. Every pool's gauges start at 0, so a pool this process does
    /// not run shows as having no slots rather than as missing.
    pub fn new(pools: &[QueueName]) -> Self {
        let hostname = hostname();
        let pid = std::process::id();
        let id = format!("{hostname}-{pid}-{}", recete_platform::crypto::random_token(6));
        let slots_changed = Arc::new(Notify::new());
        let mut slots: HashMap<QueueName, Arc<PoolSlots>> =
            QueueName::ALL.iter().map(|pool| (*pool, Arc::new(PoolSlots::new(*pool, slots_changed.clone())))).collect();
        slots.retain(|pool, _| pools.contains(pool));
        Self { id, hostname, pid, pools: slots, slots_changed }
    }

    /// The slots of `pool`; a pool the process was not started with gets counters of its own
    /// that no heartbeat reports.
    pub fn slots(&self, pool: QueueName) -> Arc<PoolSlots> {
        self.pools.get(&pool).cloned().unwrap_or_else(|| Arc::new(PoolSlots::new(pool, Arc::new(Notify::new()))))
    }

    /// How attempts name the worker that ran them.
    pub fn worker_name(&self, pool: QueueName) -> String {
        format!("{pool}@{}", self.id)
    }

    fn pools_json(&self) -> serde_json::Value {
        let pools: serde_json::Map<String, serde_json::Value> = self
            .pools
            .iter()
            .map(|(pool, slots)| (pool.as_str().to_owned(), json!({ "slots": slots.slots(), "busy": slots.busy() })))
            .collect();
        serde_json::Value::Object(pools)
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "local".into())
}

/// Refreshes the process's row every `interval` until `stopped` fires, marks it draining as
/// soon as `shutdown` fires, and deletes it at the end. Database trouble is logged and retried
/// at the next beat; it never stops the workers.
pub async fn run(
    process: Arc<Process>,
    pool: PgPool,
    interval: Duration,
    shutdown: CancellationToken,
    stopped: CancellationToken,
) {
    let interval = interval.max(Duration::from_millis(100));
    loop {
        let draining = shutdown.is_cancelled();
        match tokio::time::timeout(interval, beat(&pool, &process, draining)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "worker heartbeat not recorded"),
            Err(_) => tracing::warn!(timeout_ms = interval.as_millis() as u64, "worker heartbeat timed out"),
        }
        tokio::select! {
            () = stopped.cancelled() => break,
            // Shutdown began after this beat: record the draining at once, not a beat later.
            () = shutdown.cancelled(), if !draining => {}
            () = process.slots_changed.notified() => {}
            () = tokio::time::sleep(interval) => {}
        }
    }
    let deleted = tokio::time::timeout(interval, processes::remove(&pool, &process.id)).await;
    if !matches!(deleted, Ok(Ok(_))) {
        tracing::warn!(process = %process.id, "worker row not removed; housekeeping prunes it");
    }
}

async fn beat(pool: &PgPool, process: &Process, draining: bool) -> Result<(), sqlx::Error> {
    let heartbeat = Heartbeat {
        id: &process.id,
        hostname: &process.hostname,
        pid: i32::try_from(process.pid).unwrap_or(i32::MAX),
        version: env!("CARGO_PKG_VERSION"),
        pools: process.pools_json(),
        draining,
    };
    processes::beat(pool, &heartbeat).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_slots_are_counted_while_a_job_runs_and_freed_however_it_ends() {
        let process = Process::new(&[QueueName::Messages]);
        let slots = process.slots(QueueName::Messages);
        slots.open(4);
        let first = slots.occupy();
        let second = slots.occupy();
        assert_eq!((slots.slots(), slots.busy()), (4, 2));
        drop(first);
        drop(second);
        assert_eq!(slots.busy(), 0);
        slots.close();
        assert_eq!(slots.slots(), 0);
        assert_eq!(process.pools_json(), json!({ "messages": { "slots": 0, "busy": 0 } }));
    }

    #[test]
    fn process_ids_are_unique_per_start_and_name_the_host_and_pid() {
        let (first, second) = (Process::new(&[]), Process::new(&[]));
        assert_ne!(first.id, second.id);
        assert!(first.id.starts_with(&format!("{}-{}-", first.hostname, first.pid)), "{}", first.id);
        assert_eq!(first.worker_name(QueueName::Imports), format!("imports@{}", first.id));
    }
}

//! A backlog waiting at once (stored through the API's batch writer while no worker runs), then
//! drained by two worker processes. Their relays share one backlog budget in Redis, so together
//! they keep the queue within `queue.max_backlog` (set to 500 here, one relay batch, so two
//! processes pushing a batch each would pass it) and it never reaches the size (about 8,000 due
//! jobs) apalis-redis cannot fetch from.
//!
//! 10,000 events by default (more than apalis-redis could hold at once), which drains in one to
//! three minutes on a busy 2-core machine with debug builds; `RECETE_FAULTS_BACKLOG=50000` runs
//! the full-size backlog (several minutes).

use std::time::{Duration, Instant};

use anyhow::Context;
use recete_jobs::QueueName;
use recete_jobs::backlog;
use redis::aio::ConnectionManager;

use crate::report::Tally;
use crate::stack::{PROCESSED, Role, Servers, Stack};

pub const FAULT: &str = "backlog stored while no worker runs (10,000 unless RECETE_FAULTS_BACKLOG says)";
pub const EXPECTED: &str =
    "all processed, each once; the Redis queue stays within queue.max_backlog for both processes together";

const DEFAULT_EVENTS: i64 = 10_000;
const WORKER_PROCESSES: usize = 2;
/// The slowest drain rate accepted, in events per second, which sets the time limit.
const SLOWEST_RATE: i64 = 60;
/// Due jobs in one queue past which every apalis-redis 1.0 fetch fails.
const APALIS_FETCH_LIMIT: u64 = 8_000;
/// `queue.max_backlog` of the worker processes: as large as one relay batch (500), so the old
/// per-process arithmetic would let the two processes hold twice as much.
const MAX_BACKLOG: u64 = 500;

pub async fn run(tally: Tally) -> anyhow::Result<()> {
    let events = backlog_size()?;
    let stack = Stack::new("backlog", Servers::default()).await?;
    let storing = Instant::now();
    stack.store_orders(events as usize).await?;
    let stored_in = storing.elapsed().as_secs_f64();
    tally.note(format!("{events} stored in {stored_in:.1} s ({:.0}/s)", events as f64 / stored_in));

    // A full queue takes longer than the suite's usual 5 s to drain; handing its rows over
    // again meanwhile would only fill it with copies.
    let max_backlog = MAX_BACKLOG.to_string();
    let patient = [("RECETE__QUEUE__RECONCILE_AFTER_SECS", "60"), ("RECETE__QUEUE__MAX_BACKLOG", max_backlog.as_str())];
    let mut workers = Vec::new();
    for _ in 0..WORKER_PROCESSES {
        workers.push(stack.recete(Role::OrderWorker, &patient)?);
    }
    let limit = Duration::from_secs((events / SLOWEST_RATE).max(60) as u64);
    let (drained_in, deepest) = drain_watching_depth(&stack, events, limit).await?;
    tally.note(format!(
        "drained by {WORKER_PROCESSES} processes in {:.1} s ({:.0}/s)",
        drained_in.as_secs_f64(),
        events as f64 / drained_in.as_secs_f64()
    ));
    tally.check(deepest < APALIS_FETCH_LIMIT, format!("deepest Redis queue seen {deepest} jobs"));
    tally.check(
        deepest <= MAX_BACKLOG,
        format!("deepest Redis queue seen {deepest} jobs, within queue.max_backlog {MAX_BACKLOG} for the fleet"),
    );
    stack.tally_effects(&tally, events).await
}

/// Waits until every event is processed, sampling the queue's depth in Redis meanwhile; returns
/// how long it took and the deepest queue seen.
async fn drain_watching_depth(stack: &Stack, events: i64, limit: Duration) -> anyhow::Result<(Duration, u64)> {
    let namespace = backlog::namespace(&stack.redis.prefix, QueueName::OrderEvents);
    let mut redis = tokio::time::timeout(Duration::from_secs(5), ConnectionManager::new(stack.redis.client()?))
        .await
        .context("no Redis connection in time")??;
    let started = Instant::now();
    let mut deepest = 0;
    loop {
        let depth = tokio::time::timeout(Duration::from_secs(5), backlog::depth(&mut redis, &namespace))
            .await
            .context("queue depth not read in time")??;
        deepest = deepest.max(depth);
        let processed = stack.count(PROCESSED).await?;
        if processed >= events {
            return Ok((started.elapsed(), deepest));
        }
        anyhow::ensure!(started.elapsed() < limit, "{processed} of {events} processed after {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn backlog_size() -> anyhow::Result<i64> {
    match std::env::var("RECETE_FAULTS_BACKLOG") {
        Err(_) => Ok(DEFAULT_EVENTS),
        Ok(value) => value
            .parse()
            .ok()
            .filter(|events| *events > 0)
            .with_context(|| format!("RECETE_FAULTS_BACKLOG: `{value}` is not a positive number of events")),
    }
}

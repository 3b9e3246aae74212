//! A backlog of 50,000 events waiting at once (stored through the API's batch writer while no
//! worker runs), then drained by two worker processes. The relay keeps Redis below
//! `queue.max_backlog`, so the queue never reaches the size apalis-redis cannot fetch from.

use std::time::{Duration, Instant};

use crate::report::Tally;
use crate::stack::{PROCESSED, Role, Servers, Stack};

pub const FAULT: &str = "backlog of 50,000 events";
pub const EXPECTED: &str = "all processed, each once";

const EVENTS: i64 = 50_000;
const WORKER_PROCESSES: usize = 2;

pub async fn run(tally: Tally) -> anyhow::Result<()> {
    let stack = Stack::new("backlog", Servers::default()).await?;
    let storing = Instant::now();
    stack.store_orders(EVENTS as usize).await?;
    let stored_in = storing.elapsed().as_secs_f64();
    tally.note(format!("stored in {stored_in:.1} s ({:.0}/s)", EVENTS as f64 / stored_in));

    let mut workers = Vec::new();
    for _ in 0..WORKER_PROCESSES {
        workers.push(stack.recete(Role::OrderWorker, &[]).await?);
    }
    let drained_in = stack.wait_for_count(PROCESSED, EVENTS, Duration::from_secs(240)).await?.as_secs_f64();
    tally.note(format!(
        "drained by {WORKER_PROCESSES} processes in {drained_in:.1} s ({:.0}/s)",
        EVENTS as f64 / drained_in
    ));
    stack.tally_effects(&tally, EVENTS).await
}

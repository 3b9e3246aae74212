//! A worker process SIGKILLed in the middle of a burst: its open transactions roll back, and
//! another process finishes the burst with every effect exactly once.

use std::time::Duration;

use crate::report::Tally;
use crate::stack::{PROCESSED, Role, Servers, Stack};

pub const FAULT: &str = "SIGKILL of a worker process mid-burst";
pub const EXPECTED: &str = "every order, item, customer and audit row exactly once";

const EVENTS: i64 = 1_000;

pub async fn run(tally: Tally) -> anyhow::Result<()> {
    let stack = Stack::new("worker-killed", Servers::default()).await?;
    stack.store_orders(EVENTS as usize).await?;
    let mut first = stack.recete(Role::OrderWorker, &[])?;
    stack.wait_for_count(PROCESSED, EVENTS / 10, Duration::from_secs(60)).await?;
    first.process.kill()?;
    let at_kill = stack.count(PROCESSED).await?;
    tally.check(at_kill < EVENTS, format!("SIGKILL at {at_kill}/{EVENTS} processed"));

    let _second = stack.recete(Role::OrderWorker, &[])?;
    let finished = stack.wait_for_count(PROCESSED, EVENTS, Duration::from_secs(180)).await?;
    tally.note(format!("a second process finished in {:.1} s", finished.as_secs_f64()));
    stack.tally_effects(&tally, EVENTS).await
}

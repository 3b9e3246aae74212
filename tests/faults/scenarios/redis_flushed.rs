//! `FLUSHALL` on the Redis the workers use, in the middle of a burst: queued messages, worker
//! registrations and finished-job sets vanish; PostgreSQL still holds every row, so the relay
//! hands the unfinished ones over again.

use std::time::Duration;

use recete_testkit::PrivateRedis;

use crate::report::Tally;
use crate::stack::{PROCESSED, Role, Servers, Stack};

pub const FAULT: &str = "Redis FLUSHALL mid-burst";
pub const EXPECTED: &str = "nothing lost: every event processed once";

const EVENTS: i64 = 1_000;

pub async fn run(tally: Tally) -> anyhow::Result<()> {
    let redis = PrivateRedis::start().await?;
    let stack = Stack::new("redis-flushed", Servers { redis_url: Some(redis.url()), ..Servers::default() }).await?;
    stack.store_orders(EVENTS as usize).await?;
    let _worker = stack.recete(Role::OrderWorker, &[])?;
    stack.wait_for_count(PROCESSED, EVENTS / 10, Duration::from_secs(60)).await?;

    let keys = redis.key_count().await?;
    redis.flush_all().await?;
    let at_flush = stack.count(PROCESSED).await?;
    tally.check(keys > 0 && at_flush < EVENTS, format!("FLUSHALL of {keys} keys at {at_flush}/{EVENTS} processed"));

    let finished = stack.wait_for_count(PROCESSED, EVENTS, Duration::from_secs(180)).await?;
    tally.note(format!("the rest done {:.1} s later", finished.as_secs_f64()));
    stack.tally_effects(&tally, EVENTS).await
}

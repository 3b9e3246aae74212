//! Redis stopped for 30 s and started again, empty, on the same port. The same `recete` process
//! keeps accepting webhooks (they only need PostgreSQL), reports Redis down on `/readyz`, and
//! its pools reconnect on their own once Redis is back.

use std::time::{Duration, Instant};

use recete_testkit::PrivateRedis;

use crate::report::Tally;
use crate::stack::{PROCESSED, Role, Servers, Stack, answered};

pub const FAULT: &str = "Redis stopped for 30 s, then started";
pub const EXPECTED: &str = "same process recovers alone; webhooks accepted meanwhile; nothing lost";

const STORED: i64 = 600;
const SENT_DURING_OUTAGE: usize = 100;
const OUTAGE: Duration = Duration::from_secs(30);

pub async fn run(tally: Tally) -> anyhow::Result<()> {
    let mut redis = PrivateRedis::start().await?;
    let stack = Stack::new("redis-stopped", Servers { redis_url: Some(redis.url()), ..Servers::default() }).await?;
    let (_, integration) = stack.store_orders(STORED as usize).await?;
    let mut recete = stack.recete(Role::All, &[])?;
    recete.http.wait_ready(Duration::from_secs(60)).await?;
    stack.wait_for_count(PROCESSED, STORED / 10, Duration::from_secs(60)).await?;

    redis.stop().await?;
    let stopped = Instant::now();
    let at_stop = stack.count(PROCESSED).await?;
    tally.note(format!("Redis stopped at {at_stop}/{STORED} processed"));

    let answers = recete.http.send_orders(&integration, 0..SENT_DURING_OUTAGE).await;
    tally.equal("webhooks answered 202 during the outage", answered(&answers, 202), SENT_DURING_OUTAGE as i64);
    let (status, body) = recete.http.status_and_body("/readyz").await?;
    tally.check(
        status == 503 && body["checks"]["redis"]["status"] == "down" && body["checks"]["postgres"]["status"] == "up",
        format!("/readyz {status} with redis {}", body["checks"]["redis"]["status"]),
    );

    tokio::time::sleep(OUTAGE.saturating_sub(stopped.elapsed())).await;
    tally.check(
        recete.process.is_running()?,
        format!("process {} alive after {OUTAGE:?} without Redis", recete.process.id()),
    );
    redis.restart().await?;

    let total = STORED + SENT_DURING_OUTAGE as i64;
    let finished = stack.wait_for_count(PROCESSED, total, Duration::from_secs(180)).await?;
    tally.note(format!("all done {:.1} s after Redis came back", finished.as_secs_f64()));
    tally.check(recete.process.is_running()?, "never restarted");
    stack.tally_effects(&tally, total).await
}

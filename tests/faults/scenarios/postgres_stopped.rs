//! PostgreSQL stopped (immediate shutdown: connections cut as in a crash) and started again.
//! Meanwhile webhooks are refused with 503 and `Retry-After`, so the store sends them again;
//! `/livez` stays 200 and `/readyz` names PostgreSQL. Afterwards everything completes.

use std::time::Duration;

use recete_testkit::PrivatePostgres;

use crate::report::Tally;
use crate::stack::{PROCESSED, Role, Servers, Stack, answered};

pub const FAULT: &str = "PostgreSQL stopped, then started";
pub const EXPECTED: &str = "webhooks 503 + Retry-After meanwhile; livez 200, readyz 503 naming postgres; nothing lost";

const STORED: i64 = 500;
const SENT_BEFORE: usize = 50;
const SENT_DURING_OUTAGE: usize = 50;
const OUTAGE: Duration = Duration::from_secs(5);

pub async fn run(tally: Tally) -> anyhow::Result<()> {
    let mut postgres = PrivatePostgres::start().await?;
    let servers = Servers { postgres_admin_url: Some(postgres.admin_url()), ..Servers::default() };
    let stack = Stack::new("postgres-stopped", servers).await?;
    let (_, integration) = stack.store_orders(STORED as usize).await?;
    let mut recete = stack.recete(Role::All, &[])?;
    recete.http.wait_ready(Duration::from_secs(60)).await?;
    let before = recete.http.send_orders(&integration, 0..SENT_BEFORE).await;
    tally.equal("webhooks answered 202 before the outage", answered(&before, 202), SENT_BEFORE as i64);
    stack.wait_for_count(PROCESSED, STORED / 10, Duration::from_secs(60)).await?;

    postgres.stop().await?;
    let outage = tokio::time::Instant::now();
    let during = recete.http.send_orders(&integration, SENT_BEFORE..SENT_BEFORE + SENT_DURING_OUTAGE).await;
    let refused_to_retry =
        during.iter().filter(|answer| answer.status == Some(503) && answer.retry_after.is_some()).count();
    tally.equal(
        "webhooks answered 503 with Retry-After during the outage",
        refused_to_retry as i64,
        SENT_DURING_OUTAGE as i64,
    );
    let (live, _) = recete.http.status_and_body("/livez").await?;
    tally.check(live == 200, format!("/livez {live}"));
    let (ready, body) = recete.http.status_and_body("/readyz").await?;
    tally.check(
        ready == 503 && body["checks"]["postgres"]["status"] == "down" && body["checks"]["redis"]["status"] == "up",
        format!("/readyz {ready} with postgres {}", body["checks"]["postgres"]["status"]),
    );
    tokio::time::sleep_until(outage + OUTAGE).await;

    postgres.restart().await?;
    let back = recete.http.wait_ready(Duration::from_secs(60)).await?;
    tally.note(format!("ready again {:.1} s after PostgreSQL started", back.as_secs_f64()));
    // The store retries what was refused, as Retry-After asked.
    let retried = recete.http.send_orders(&integration, SENT_BEFORE..SENT_BEFORE + SENT_DURING_OUTAGE).await;
    tally.equal("refused webhooks answered 202 on retry", answered(&retried, 202), SENT_DURING_OUTAGE as i64);

    let total = STORED + (SENT_BEFORE + SENT_DURING_OUTAGE) as i64;
    let finished = stack.wait_for_count(PROCESSED, total, Duration::from_secs(180)).await?;
    tally.note(format!("all done {:.1} s after the retries", finished.as_secs_f64()));
    tally.check(recete.process.is_running()?, "never restarted");
    stack.tally_effects(&tally, total).await
}

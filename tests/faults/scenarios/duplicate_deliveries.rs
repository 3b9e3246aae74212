//! The same webhook delivered 20 times at once, as a store retrying over several connections
//! does: one stored row, one order; every other delivery is acknowledged as a duplicate.

use std::time::Duration;

use crate::report::Tally;
use crate::stack::{PROCESSED, Role, Servers, Stack, webhook_order};

pub const FAULT: &str = "20 concurrent duplicate deliveries of one webhook";
pub const EXPECTED: &str = "one event row, one order; one 202 and nineteen 200";

const DELIVERIES: usize = 20;

pub async fn run(tally: Tally) -> anyhow::Result<()> {
    let stack = Stack::new("duplicates", Servers::default()).await?;
    let (_, integration) = stack.generic_integration().await?;
    let recete = stack.recete(Role::All, &[]).await?;
    recete.http.wait_ready(Duration::from_secs(60)).await?;

    let body = webhook_order(0);
    let deliveries = (0..DELIVERIES).map(|_| recete.http.post_generic(&integration, &body));
    let answers = futures::future::join_all(deliveries).await;
    let statuses: Vec<u16> = answers.iter().map(|answer| answer.as_ref().map_or(0, |r| r.status().as_u16())).collect();
    let with = |status: u16| statuses.iter().filter(|s| **s == status).count() as i64;
    tally.equal("answered 202 stored", with(202), 1);
    tally.equal("answered 200 duplicate", with(200), DELIVERIES as i64 - 1);
    tally.equal("event rows", stack.count("SELECT count(*) FROM external_events").await?, 1);

    stack.wait_for_count(PROCESSED, 1, Duration::from_secs(60)).await?;
    stack.tally_effects(&tally, 1).await
}

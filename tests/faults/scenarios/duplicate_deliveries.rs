//! The same webhook delivered 20 times at once, as a store retrying over several connections
//! does: one stored row, one order; every other delivery is acknowledged as a duplicate. A
//! delivery refused for overload (503 with `Retry-After`) is sent again, as the store would.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::report::Tally;
use crate::stack::{PROCESSED, Role, Servers, Stack, webhook_order};

pub const FAULT: &str = "20 concurrent duplicate deliveries of one webhook";
pub const EXPECTED: &str = "one event row, one order; one 202, every other delivery 200";

const DELIVERIES: usize = 20;

pub async fn run(tally: Tally) -> anyhow::Result<()> {
    let stack = Stack::new("duplicates", Servers::default()).await?;
    let (_, integration) = stack.generic_integration().await?;
    let recete = stack.recete(Role::All, &[])?;
    recete.http.wait_ready(Duration::from_secs(60)).await?;

    let body = webhook_order(0);
    let deliveries = (0..DELIVERIES).map(|_| recete.http.post_generic(&integration, &body));
    let first: Vec<u16> = futures::future::join_all(deliveries)
        .await
        .into_iter()
        .map(|answer| answer.map_or(0, |response| response.status().as_u16()))
        .collect();
    let mut statuses = first.clone();
    let refused = first.iter().filter(|status| **status == 503).count();
    if refused > 0 {
        // Retry-After says 5 s.
        tokio::time::sleep(Duration::from_secs(5)).await;
        for status in statuses.iter_mut().filter(|status| **status == 503) {
            *status = recete.http.post_generic(&integration, &body).await.map_or(0, |r| r.status().as_u16());
        }
    }
    tally.note(format!("answers {}", histogram(&first)));
    if refused > 0 {
        tally.note(format!("after retrying the {refused} refused: {}", histogram(&statuses)));
    }
    let with = |wanted: u16| statuses.iter().filter(|status| **status == wanted).count() as i64;
    tally.equal("answered 202 stored", with(202), 1);
    tally.equal("answered 200 duplicate", with(200), DELIVERIES as i64 - 1);
    tally.equal("event rows", stack.count("SELECT count(*) FROM external_events").await?, 1);

    stack.wait_for_count(PROCESSED, 1, Duration::from_secs(60)).await?;
    stack.tally_effects(&tally, 1).await
}

/// `202×1 200×19`; 0 stands for a request that got no answer.
fn histogram(statuses: &[u16]) -> String {
    let mut counts = BTreeMap::new();
    for status in statuses {
        *counts.entry(*status).or_insert(0) += 1;
    }
    counts.iter().rev().map(|(status, count)| format!("{status}×{count}")).collect::<Vec<_>>().join(" ")
}

use std::time::{Duration, Instant};

use super::{counter, policy};
use crate::helpers::spawn_app_with;

#[tokio::test]
async fn without_redis_requests_are_served_unchecked_and_counted() {
    let app = spawn_app_with(|figment| {
        figment
            // Nothing listens on port 1.
            .merge(("redis.url", "redis://127.0.0.1:1"))
            .merge(("rate_limits.ip.quantity", 1))
            .merge(("rate_limits.api_key.quantity", 1))
            .merge(("rate_limits.merchant.quantity", 1))
    })
    .await;
    let shop = recete_shared::merchants::create(&app.pool, "Shop", "UTC").await.expect("merchant");
    let before = counter(&app, "recete_rate_limit_unavailable_total").await;

    let started = Instant::now();
    for _ in 0..5 {
        let response =
            app.client.get(app.url("/api/conversations")).bearer_auth(&shop.api_key).send().await.expect("sent");
        assert_eq!(response.status().as_u16(), 200, "quotas of one are not enforced without Redis");
        assert!(policy(&response).is_none(), "no headers for limits that were not checked");
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "an outage costs requests no timeouts: {:?}",
        started.elapsed()
    );

    // Each request skipped two checks: its address, then its key and merchant.
    let after = counter(&app, "recete_rate_limit_unavailable_total").await;
    assert!(after - before >= 10.0, "{before} -> {after}");
}

use std::time::{Duration, Instant};

use futures::StreamExt;
use recete_shared::integrations::IntegrationKind;

use super::{policy, retry_after, service_limit};
use crate::helpers::{PHONE_NUMBER_ID, assert_problem, fixture, spawn_app_with};

#[tokio::test]
async fn a_burst_of_500_shopify_deliveries_is_never_refused() {
    let app = spawn_app_with(|figment| {
        figment
            // The shipped webhook quota, and an address quota of one that webhooks must not draw from.
            .merge(("rate_limits.integration.quantity", 6000))
            .merge(("rate_limits.integration.window_secs", 60))
            .merge(("rate_limits.ip.quantity", 1))
            .merge(("rate_limits.ip.window_secs", 3600))
    })
    .await;
    let (_, shop) = app.merchant_with(IntegrationKind::Shopify).await;
    let body = fixture("shopify_orders_create.json");

    let started = Instant::now();
    let outcomes: Vec<(u16, Option<String>, u64)> = futures::stream::iter(0..500)
        .map(|n| {
            let (app, shop, body) = (&app, &shop, &body);
            async move {
                let response = app.post_shopify(shop, "orders/create", &format!("burst-{n}"), body).await;
                (response.status().as_u16(), policy(&response), service_limit(&response).available)
            }
        })
        .buffer_unordered(50)
        .collect()
        .await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(30), "500 deliveries took {elapsed:?}");
    assert!(
        outcomes.iter().all(|(status, _, _)| *status == 202),
        "{:?}",
        outcomes.iter().map(|o| o.0).collect::<Vec<_>>()
    );
    assert!(outcomes.iter().all(|(_, policy, _)| policy.as_deref() == Some("\"integration\";q=6000;w=60")));
    let least_left = outcomes.iter().map(|(_, _, available)| *available).min().expect("500 outcomes");
    assert!(least_left >= 5500, "500 of 6,000 used at most: {least_left} left");
    assert_eq!(app.event_count().await, 500);

    // The address quota is in force for the merchant API all the while.
    assert_eq!(app.client.get(app.url("/api/conversations")).send().await.expect("sent").status().as_u16(), 401);
    assert_eq!(app.client.get(app.url("/api/conversations")).send().await.expect("sent").status().as_u16(), 429);
}

#[tokio::test]
async fn a_runaway_integration_is_refused_and_others_are_not() {
    let app = spawn_app_with(|figment| {
        figment.merge(("rate_limits.integration.quantity", 3)).merge(("rate_limits.integration.window_secs", 3600))
    })
    .await;
    let (_, runaway) = app.merchant_with(IntegrationKind::Shopify).await;
    let (_, calm) = app.merchant_with(IntegrationKind::Shopify).await;
    let body = fixture("shopify_orders_create.json");

    for n in 0..3 {
        let response = app.post_shopify(&runaway, "orders/create", &format!("runaway-{n}"), &body).await;
        assert_eq!(response.status().as_u16(), 202);
    }
    let refused = app.post_shopify(&runaway, "orders/create", "runaway-3", &body).await;
    assert_eq!(policy(&refused).as_deref(), Some("\"integration\";q=3;w=3600"));
    assert!((1190..=1200).contains(&retry_after(&refused)));
    let problem = assert_problem(refused, 429).await;
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("`integration`")), "{problem}");
    assert_eq!(app.event_count().await, 3, "a refused delivery is not stored; the store sends it again later");

    let response = app.post_shopify(&calm, "orders/create", "calm-0", &body).await;
    assert_eq!(response.status().as_u16(), 202);
    assert_eq!(service_limit(&response).available, 2);
}

#[tokio::test]
async fn whatsapp_notifications_are_counted_per_business_phone_number() {
    let app = spawn_app_with(|figment| {
        figment
            .merge(("rate_limits.whatsapp_number.quantity", 2))
            .merge(("rate_limits.whatsapp_number.window_secs", 3600))
    })
    .await;
    let (_, whatsapp) = app.merchant_with(IntegrationKind::WhatsApp).await;
    let payload = |name: &str| {
        String::from_utf8(fixture(name)).expect("utf8").replace("PHONE_NUMBER_ID", PHONE_NUMBER_ID).into_bytes()
    };

    let inbound = app.post_whatsapp(&whatsapp.secret, &payload("whatsapp_inbound.json")).await;
    assert_eq!(inbound.status().as_u16(), 200);
    assert_eq!(policy(&inbound).as_deref(), Some("\"whatsapp_number\";q=2;w=3600"));
    assert_eq!(service_limit(&inbound).available, 1);
    let statuses = app.post_whatsapp(&whatsapp.secret, &payload("whatsapp_statuses.json")).await;
    assert_eq!(statuses.status().as_u16(), 200, "the body read for the quota still reaches the handler whole");
    let refused = app.post_whatsapp(&whatsapp.secret, &payload("whatsapp_inbound.json")).await;
    let problem = assert_problem(refused, 429).await;
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("`whatsapp_number`")), "{problem}");
    assert_eq!(app.event_count().await, 3, "one inbound message and two statuses");
    assert!(
        app.redis
            .keys()
            .await
            .expect("keys")
            .contains(&format!("{}:ratelimit:http:whatsapp-number:{PHONE_NUMBER_ID}", app.redis.prefix))
    );
}

use recete_shared::integrations::IntegrationKind;

use crate::helpers::{assert_problem, fixture, spawn_app};

#[tokio::test]
async fn signed_update_is_stored_with_the_kind_its_status_implies() {
    let app = spawn_app().await;
    let (_, store) = app.merchant_with(IntegrationKind::WooCommerce).await;
    let response =
        app.post_woocommerce(&store, "order.updated", "3f8a2c1e", &fixture("woocommerce_order_updated.json")).await;
    assert_eq!(response.status().as_u16(), 202);
    let events = app.events().await;
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].source.as_str(), events[0].kind.as_str()), ("woocommerce", "order_paid"));
    assert_eq!(events[0].dedup_key, "delivery:3f8a2c1e");
    assert_eq!(events[0].occurred_at.to_rfc3339(), "2026-11-20T13:00:00+00:00");

    let again =
        app.post_woocommerce(&store, "order.updated", "3f8a2c1e", &fixture("woocommerce_order_updated.json")).await;
    assert_eq!(again.status().as_u16(), 200);
    assert_eq!(app.event_count().await, 1);
}

#[tokio::test]
async fn the_unsigned_ping_on_save_gets_200_and_is_not_stored() {
    let app = spawn_app().await;
    let (_, store) = app.merchant_with(IntegrationKind::WooCommerce).await;
    let response = app
        .client
        .post(app.url(&store.webhook_path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("webhook_id=15")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn a_tampered_or_unsigned_order_is_refused() {
    let app = spawn_app().await;
    let (_, store) = app.merchant_with(IntegrationKind::WooCommerce).await;
    let body = fixture("woocommerce_order_updated.json");
    let response = app
        .client
        .post(app.url(&store.webhook_path))
        .header("x-wc-webhook-topic", "order.updated")
        .header("x-wc-webhook-delivery-id", "d1")
        .body(body.clone())
        .send()
        .await
        .expect("sent");
    assert_problem(response, 401).await;

    let tampered = String::from_utf8(body).expect("utf8").replace("29.35", "0.01");
    let response = app
        .client
        .post(app.url(&store.webhook_path))
        .header("x-wc-webhook-topic", "order.updated")
        .header("x-wc-webhook-delivery-id", "d2")
        .header(
            "x-wc-webhook-signature",
            recete_testkit::signing::base64_hmac(&store.secret, &fixture("woocommerce_order_updated.json")),
        )
        .body(tampered)
        .send()
        .await
        .expect("sent");
    assert_problem(response, 401).await;
    assert_eq!(app.event_count().await, 0);
}

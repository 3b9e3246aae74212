use futures::future::join_all;
use recete_shared::integrations::IntegrationKind;
use recete_testkit::signing;

use crate::helpers::{assert_problem, fixture, spawn_app};

#[tokio::test]
async fn signed_order_is_stored_once_with_its_platform_time() {
    let app = spawn_app().await;
    let (merchant, shop) = app.merchant_with(IntegrationKind::Shopify).await;
    let body = fixture("shopify_orders_create.json");

    let response = app.post_shopify(&shop, "orders/create", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", &body).await;
    assert_eq!(response.status().as_u16(), 202);
    let request_id =
        response.headers().get("x-request-id").expect("request id header").to_str().expect("ascii").to_owned();
    let answer: serde_json::Value = response.json().await.expect("json");
    assert_eq!(answer["status"], "stored");

    let events = app.events().await;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.merchant_id, merchant.as_uuid());
    assert_eq!(
        (event.source.as_str(), event.kind.as_str(), event.topic.as_str()),
        ("shopify", "order_created", "orders/create")
    );
    assert_eq!(event.dedup_key, "webhook:b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
    assert_eq!(event.subject_id.as_deref(), Some("820982911946154508"));
    assert_eq!(event.request_id.as_deref(), Some(request_id.as_str()));
    assert_eq!(event.occurred_at.to_rfc3339(), "2026-11-20T17:00:00+00:00");
}

#[tokio::test]
async fn delivered_fulfillment_becomes_an_order_delivered_event() {
    let app = spawn_app().await;
    let (_, shop) = app.merchant_with(IntegrationKind::Shopify).await;
    let response =
        app.post_shopify(&shop, "fulfillments/update", "wh-2", &fixture("shopify_fulfillments_update.json")).await;
    assert_eq!(response.status().as_u16(), 202);
    let events = app.events().await;
    assert_eq!(events[0].kind, "order_delivered");
    assert_eq!(events[0].occurred_at.to_rfc3339(), "2026-11-23T20:30:00+00:00");
}

#[tokio::test]
async fn twenty_concurrent_copies_of_a_delivery_leave_one_row() {
    let app = spawn_app().await;
    let (_, shop) = app.merchant_with(IntegrationKind::Shopify).await;
    let body = fixture("shopify_orders_create.json");
    let responses = join_all((0..20).map(|_| app.post_shopify(&shop, "orders/paid", "same-delivery", &body))).await;
    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses[0], 200, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 202).count(), 1, "exactly one copy is new: {statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 19, "{statuses:?}");
    assert_eq!(app.event_count().await, 1);

    // And a retry long after still changes nothing.
    let retry = app.post_shopify(&shop, "orders/paid", "same-delivery", &body).await;
    assert_eq!(retry.status().as_u16(), 200);
    let answer: serde_json::Value = retry.json().await.expect("json");
    assert_eq!(answer["status"], "duplicate");
    assert_eq!(app.event_count().await, 1);
}

#[tokio::test]
async fn signature_failures_are_401_and_store_nothing() {
    let app = spawn_app().await;
    let (_, shop) = app.merchant_with(IntegrationKind::Shopify).await;
    let body = fixture("shopify_orders_create.json");
    let mut tampered = body.clone();
    let position = tampered.iter().position(|b| *b == b'4').expect("a digit to change");
    tampered[position] = b'5';
    let good_signature = signing::base64_hmac(&shop.secret, &body);
    let cases: [(&str, Option<String>, &[u8]); 4] = [
        ("tampered body", Some(good_signature.clone()), &tampered),
        ("missing signature", None, &body),
        ("signed with another secret", Some(signing::base64_hmac("another-secret-entirely", &body)), &body),
        ("not base64", Some("%%%".into()), &body),
    ];
    for (case, signature, payload) in cases {
        let mut request = app
            .client
            .post(app.url(&shop.webhook_path))
            .header("x-shopify-topic", "orders/create")
            .header("x-shopify-webhook-id", case)
            .body(payload.to_vec());
        if let Some(signature) = signature {
            request = request.header("x-shopify-hmac-sha256", signature);
        }
        let response = request.send().await.expect("sent");
        let problem = assert_problem(response, 401).await;
        assert!(problem["detail"].as_str().is_some_and(|d| d.contains("X-Shopify-Hmac-Sha256")), "{case}: {problem}");
    }
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn unknown_or_mismatched_integrations_are_refused_like_a_bad_signature() {
    let app = spawn_app().await;
    let (merchant, shop) = app.merchant_with(IntegrationKind::Shopify).await;
    let woo = app.integration(merchant, IntegrationKind::WooCommerce).await;
    let body = fixture("shopify_orders_create.json");
    let paths = [
        "/webhooks/commerce/shopify/00000000-0000-7000-8000-000000000000".to_owned(),
        "/webhooks/commerce/shopify/not-a-uuid".to_owned(),
        format!("/webhooks/commerce/shopify/{}", woo.integration_id),
    ];
    for path in paths {
        let response = app
            .client
            .post(app.url(&path))
            .header("x-shopify-topic", "orders/create")
            .header("x-shopify-webhook-id", "w")
            .header("x-shopify-hmac-sha256", signing::base64_hmac(&shop.secret, &body))
            .body(body.clone())
            .send()
            .await
            .expect("sent");
        let problem = assert_problem(response, 401).await;
        assert_eq!(problem["detail"], "X-Shopify-Hmac-Sha256 does not verify for this webhook URL", "{path}");
    }
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn bad_bodies_and_headers_get_named_client_errors() {
    let app = spawn_app().await;
    let (_, shop) = app.merchant_with(IntegrationKind::Shopify).await;

    let malformed = app.post_shopify(&shop, "orders/create", "w1", b"{\"id\": 1,").await;
    assert_problem(malformed, 400).await;

    let missing_id = app.post_shopify(&shop, "orders/create", "w2", br##"{"name": "#1"}"##).await;
    let problem = assert_problem(missing_id, 422).await;
    assert_eq!(problem["field"], "id");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("`id`")), "{problem}");

    let wrong_type = app
        .post_shopify(&shop, "orders/create", "w3", br#"{"id": 1, "line_items": [{"id": 2, "quantity": "two"}]}"#)
        .await;
    let problem = assert_problem(wrong_type, 422).await;
    assert_eq!(problem["field"], "line_items[0].quantity");

    let body = fixture("shopify_orders_create.json");
    let no_topic = app
        .client
        .post(app.url(&shop.webhook_path))
        .header("x-shopify-webhook-id", "w4")
        .header("x-shopify-hmac-sha256", signing::base64_hmac(&shop.secret, &body))
        .body(body.clone())
        .send()
        .await
        .expect("sent");
    let problem = assert_problem(no_topic, 400).await;
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("x-shopify-topic")), "{problem}");

    let oversized = vec![b' '; 1024 * 1024 + 1];
    let too_large = app.post_shopify(&shop, "orders/create", "w5", &oversized).await;
    assert_problem(too_large, 413).await;

    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn topics_we_do_not_handle_are_acknowledged_and_not_stored() {
    let app = spawn_app().await;
    let (_, shop) = app.merchant_with(IntegrationKind::Shopify).await;
    let response = app.post_shopify(&shop, "products/update", "w-product", br#"{"id": 1}"#).await;
    assert_eq!(response.status().as_u16(), 200);
    let answer: serde_json::Value = response.json().await.expect("json");
    assert_eq!(answer["status"], "ignored");
    assert_eq!(app.event_count().await, 0);
}

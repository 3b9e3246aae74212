//! Shopify's privacy webhooks, signed like real deliveries, carried out by the order-events
//! worker: a data request leaves a document for the merchant, a customer redact and a shop
//! redact erase, and the deliveries themselves do not outlive the request.

use recete_shared::integrations::IntegrationKind;
use recete_testkit::signing;
use recete_workers::Pool;
use serde_json::{Value, json};

use super::{ADALET, BERKAY, Person, WAIT_SECS, assert_absent, assert_no_sealed_trace, dump, shop, shopify_order};
use crate::helpers::{TestApp, assert_problem, spawn_app};

const PROCESSED: &str = "SELECT count(*) FROM external_events WHERE state <> 'processed'";

fn store_customer(person: &Person) -> Value {
    json!({"id": person.store_id.parse::<u64>().expect("numeric id"), "email": person.email, "phone": person.phone})
}

fn order_number(person: &Person) -> u64 {
    person.order_id.parse().expect("numeric order id")
}

async fn tombstoned(app: &TestApp, topic: &str) -> (bool, String) {
    sqlx::query_as("SELECT erased_at IS NOT NULL, state FROM external_events WHERE topic = $1")
        .bind(topic)
        .fetch_one(&app.admin)
        .await
        .expect("the delivery's row")
}

#[tokio::test]
async fn a_data_request_leaves_a_document_for_the_merchant_and_a_customer_redact_erases() {
    let app = spawn_app().await;
    let shop = shop(&app, "Glow Store", false).await;
    let _workers = app.start_pools(&[Pool::OrderEvents]);
    for person in [&ADALET, &BERKAY] {
        let created = app.post_shopify(&shop.shopify, "orders/create", person.order_id, &shopify_order(person)).await;
        assert_eq!(created.status(), 202);
    }
    app.wait_for_count(PROCESSED, 0, WAIT_SECS).await;

    let data_request = json!({
        "shop_id": 954889, "shop_domain": "test-store.myshopify.com",
        "orders_requested": [order_number(&ADALET)],
        "customer": store_customer(&ADALET),
        "data_request": {"id": 9999}
    })
    .to_string()
    .into_bytes();
    let forged = app
        .client
        .post(app.url(&shop.shopify.webhook_path))
        .header("content-type", "application/json")
        .header("x-shopify-topic", "customers/data_request")
        .header("x-shopify-webhook-id", "forged-1")
        .header("x-shopify-hmac-sha256", signing::base64_hmac("not-the-app-secret", &data_request))
        .body(data_request.clone())
        .send()
        .await
        .expect("request sent");
    assert_problem(forged, 401).await;
    assert_eq!(app.event_count().await, 2, "a forged request stores nothing");

    let accepted = app.post_shopify(&shop.shopify, "customers/data_request", "privacy-1", &data_request).await;
    assert_eq!(accepted.status(), 202);
    app.wait_for_count(PROCESSED, 0, WAIT_SECS).await;
    assert_eq!(tombstoned(&app, "customers/data_request").await, (true, "processed".to_owned()));

    let listed = shop.get_json(&app, "/api/privacy-requests?kind=export").await;
    let request = &listed["privacy_requests"][0];
    assert_eq!(
        (&request["channel"], &request["status"], &request["platform_request_id"], &request["document_available"]),
        (&json!("shopify"), &json!("completed"), &json!("9999"), &json!(true)),
        "{listed}"
    );
    let id = request["id"].as_str().expect("id").to_owned();
    let detail = shop.get_json(&app, &format!("/api/privacy-requests/{id}")).await;
    let document = &detail["document"];
    assert_eq!(document["customers"].as_array().map(Vec::len), Some(1), "{document}");
    assert_eq!(document["customers"][0]["email"], ADALET.email_lower());
    assert_eq!(document["orders"][0]["external_order_id"], ADALET.order_id);
    let order_webhook = &document["events"][0];
    assert_eq!(order_webhook["topic"], "orders/create");
    assert_eq!(order_webhook["payload"]["shipping_address"]["address1"], ADALET.street);

    let redact = json!({
        "shop_id": 954889, "shop_domain": "test-store.myshopify.com",
        "customer": store_customer(&ADALET),
        "orders_to_redact": [order_number(&ADALET)]
    })
    .to_string()
    .into_bytes();
    assert_eq!(app.post_shopify(&shop.shopify, "customers/redact", "privacy-2", &redact).await.status(), 202);
    app.wait_for_count(PROCESSED, 0, WAIT_SECS).await;
    assert_eq!(tombstoned(&app, "customers/redact").await, (true, "processed".to_owned()));
    let redelivered = app.post_shopify(&shop.shopify, "customers/redact", "privacy-2", &redact).await;
    assert_eq!(redelivered.status(), 200, "a redelivery still deduplicates against the tombstone");

    let erasures = shop.get_json(&app, "/api/privacy-requests?kind=erase").await;
    let erasure = &erasures["privacy_requests"][0];
    assert_eq!((&erasure["channel"], &erasure["status"]), (&json!("shopify"), &json!("completed")));
    assert_eq!((&erasure["counts"]["customers"], &erasure["counts"]["events"]), (&json!(1), &json!(1)));
    assert_eq!(erasure["counts"]["documents"], 1, "the kept export went with the customer");
    let detail = shop.get_json(&app, &format!("/api/privacy-requests/{id}")).await;
    assert_eq!((&detail["document"], &detail["document_available"]), (&Value::Null, &json!(false)));
    assert!(detail["document_erased_at"].is_string());

    let traces = ADALET.traces(&app, &[]);
    assert_absent(&dump(&app).await, &traces);
    assert_no_sealed_trace(&app, &traces).await;
    let berkay = shop.post_json(&app, "/api/customers/export", &json!({"email": BERKAY.email})).await;
    assert_eq!(berkay["document"]["customers"][0]["phone"], BERKAY.phone, "the other customer is untouched");
}

#[tokio::test]
async fn a_shop_redact_erases_every_customer_of_the_shop_in_batches() {
    let app = spawn_app().await;
    let shop = shop(&app, "Big Store", false).await;
    let other = super::shop(&app, "Other Store", false).await;
    let generic = app.integration(shop.merchant, IntegrationKind::Generic).await;
    let customers = 230;
    recete_testkit::orders::store_new_orders(
        &app.pool,
        app.keyring.clone(),
        shop.merchant,
        generic.integration_id,
        customers,
    )
    .await
    .expect("orders stored");
    assert_eq!(
        app.post_shopify(&other.shopify, "orders/create", "other-1", &shopify_order(&BERKAY)).await.status(),
        202
    );
    let _workers = app.start_pools(&[Pool::OrderEvents]);
    app.wait_for_count(PROCESSED, 0, 60).await;
    let live = format!("SELECT count(*) FROM customers WHERE merchant_id = '{}' AND erased_at IS NULL", shop.merchant);
    assert_eq!(app.count(&live).await, customers as i64);

    let body = br#"{"shop_id": 954889, "shop_domain": "test-store.myshopify.com"}"#;
    assert_eq!(app.post_shopify(&shop.shopify, "shop/redact", "privacy-shop", body).await.status(), 202);
    app.wait_for_count(PROCESSED, 0, 60).await;

    assert_eq!(app.count(&live).await, 0);
    let unerased_events =
        format!("SELECT count(*) FROM external_events WHERE merchant_id = '{}' AND erased_at IS NULL", shop.merchant);
    assert_eq!(app.count(&unerased_events).await, 0);
    let runs: i32 = sqlx::query_scalar("SELECT enqueue_count FROM external_events WHERE topic = 'shop/redact'")
        .fetch_one(&app.admin)
        .await
        .expect("the delivery");
    assert!(runs >= 5, "three batches of customers, one of events, one to finish: {runs} runs");
    let requests = shop.get_json(&app, "/api/privacy-requests").await;
    let request = &requests["privacy_requests"][0];
    assert_eq!((&request["scope"], &request["status"]), (&json!("shop"), &json!("completed")), "{requests}");
    assert_eq!(request["counts"]["customers"], customers);
    assert_eq!(request["counts"]["events"], customers, "every order webhook of the shop");
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE action = 'customer.erased'").await, customers as i64);
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE action = 'shop.customer_data_erased'").await, 1);

    let mut traces = vec!["test customer".to_owned()];
    for i in [0, 1, 99, 100, 229] {
        traces.push(format!("+90555{i:07}"));
        traces.push(format!("90555{i:07}"));
    }
    assert_absent(&dump(&app).await, &traces);
    assert_no_sealed_trace(&app, &traces).await;
    let berkay = other.post_json(&app, "/api/customers/export", &json!({"phone": BERKAY.phone})).await;
    assert_eq!(berkay["document"]["customers"][0]["email"], BERKAY.email_lower(), "another shop is untouched");
}

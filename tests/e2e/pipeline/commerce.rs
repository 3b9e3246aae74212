use recete_shared::customers::PHONE_LOOKUP_DOMAIN;
use recete_shared::integrations::IntegrationKind;
use recete_shared::merchants;

use crate::helpers::{fixture, spawn_app};

const PROCESSED: &str = "SELECT count(*) FROM external_events WHERE state = 'processed'";

#[tokio::test]
async fn a_shopify_order_is_followed_from_creation_to_delivery() {
    let app = spawn_app().await;
    let _workers = app.start_workers();
    let (_, shop) = app.merchant_with(IntegrationKind::Shopify).await;
    assert_eq!(
        app.post_shopify(&shop, "orders/create", "w-create", &fixture("shopify_orders_create.json")).await.status(),
        202
    );
    assert_eq!(
        app.post_shopify(&shop, "orders/paid", "w-paid", &fixture("shopify_orders_create.json")).await.status(),
        202
    );
    assert_eq!(
        app.post_shopify(&shop, "fulfillments/update", "w-delivered", &fixture("shopify_fulfillments_update.json"))
            .await
            .status(),
        202
    );
    app.wait_for_count(PROCESSED, 3, 20).await;

    assert_eq!(app.order_status("820982911946154508").await.as_deref(), Some("delivered"));
    let (total, delivered_at): (Option<i64>, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("SELECT total_minor, delivered_at FROM orders").fetch_one(&app.admin).await.expect("order");
    assert_eq!(total, Some(40300));
    assert_eq!(delivered_at.map(|t| t.to_rfc3339()).as_deref(), Some("2026-11-23T20:30:00+00:00"));
    assert_eq!(app.count("SELECT count(*) FROM order_items").await, 2);

    // The customer is found by a keyed hash of the E.164 number; the number itself is sealed.
    let (phone_sealed, phone_lookup, consent): (Vec<u8>, Vec<u8>, String) =
        sqlx::query_as("SELECT phone_sealed, phone_lookup, whatsapp_consent FROM customers")
            .fetch_one(&app.admin)
            .await
            .expect("customer");
    assert_eq!(phone_lookup, app.keyring.lookup_hash(PHONE_LOOKUP_DOMAIN, "+16135551212").to_vec());
    assert!(!String::from_utf8_lossy(&phone_sealed).contains("6135551212"));
    assert_eq!(consent, "granted");
    let plaintext_anywhere = app
        .count("SELECT count(*) FROM customers c WHERE c::text LIKE '%6135551212%' OR c::text LIKE '%jon@example.com%'")
        .await;
    assert_eq!(plaintext_anywhere, 0);

    let trail: Vec<(String, Option<serde_json::Value>)> = sqlx::query_as(
        "SELECT action, after FROM audit_log WHERE subject_type = 'order' AND action LIKE 'order.%' ORDER BY id",
    )
    .fetch_all(&app.admin)
    .await
    .expect("audit");
    // Created and paid may be applied in either order; either way the trail only moves forward.
    let statuses: Vec<String> = trail
        .iter()
        .map(|(_, after)| after.as_ref().expect("after")["status"].as_str().expect("status").to_owned())
        .collect();
    assert_eq!(trail[0].0, "order.created");
    assert!(trail[1..].iter().all(|(action, _)| action == "order.status_changed"));
    let rank = |status: &str| ["created", "paid", "fulfilled", "delivered"].iter().position(|s| *s == status);
    let ranks: Vec<Option<usize>> = statuses.iter().map(|s| rank(s)).collect();
    assert!(ranks.windows(2).all(|pair| pair[0] < pair[1]), "{statuses:?}");
    assert_eq!(statuses.last().map(String::as_str), Some("delivered"));
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE event_id IS NULL AND subject_type = 'order'").await, 0);
}

#[tokio::test]
async fn a_woocommerce_order_reaches_delivered_through_its_statuses() {
    let app = spawn_app().await;
    let _workers = app.start_workers();
    let (_, store) = app.merchant_with(IntegrationKind::WooCommerce).await;
    let body = String::from_utf8(fixture("woocommerce_order_updated.json")).expect("utf8");
    let steps = [
        ("order.created", "pending", "2026-11-20T12:00:00"),
        ("order.updated", "processing", "2026-11-20T13:00:00"),
        ("order.updated", "completed", "2026-11-21T09:00:00"),
        ("order.updated", "delivered", "2026-11-23T10:00:00"),
    ];
    for (index, (topic, status, modified)) in steps.iter().enumerate() {
        let step = body
            .replace(r#""status": "processing""#, &format!(r#""status": "{status}""#))
            .replace(r#""date_modified_gmt": "2026-11-20T13:00:00""#, &format!(r#""date_modified_gmt": "{modified}""#));
        let response = app.post_woocommerce(&store, topic, &format!("d-{index}"), step.as_bytes()).await;
        assert_eq!(response.status(), 202);
    }
    app.wait_for_count(PROCESSED, 4, 20).await;
    assert_eq!(app.order_status("727").await.as_deref(), Some("delivered"));
    // "+49 30 901820" from the billing address, normalized with the shipping country.
    let lookup: Vec<u8> =
        sqlx::query_scalar("SELECT phone_lookup FROM customers").fetch_one(&app.admin).await.expect("customer");
    assert_eq!(lookup, app.keyring.lookup_hash(PHONE_LOOKUP_DOMAIN, "+4930901820").to_vec());
}

#[tokio::test]
async fn a_local_phone_on_an_order_without_a_country_is_read_in_the_shops_time_zone_country() {
    let app = spawn_app().await;
    let _workers = app.start_workers();
    // A shop in Madrid that never set a default phone country.
    let merchant = merchants::create(&app.pool, "Tienda", "Europe/Madrid").await.expect("merchant").merchant_id;
    let shop = app.integration(merchant, IntegrationKind::Shopify).await;
    let mut order: serde_json::Value =
        serde_json::from_slice(&fixture("shopify_orders_create.json")).expect("fixture JSON");
    order["customer"]["phone"] = "612 345 678".into();
    order["billing_address"] = serde_json::Value::Null;
    order["shipping_address"] = serde_json::Value::Null;
    let body = serde_json::to_vec(&order).expect("JSON");
    assert_eq!(app.post_shopify(&shop, "orders/create", "w-madrid", &body).await.status(), 202);
    app.wait_for_count(PROCESSED, 1, 20).await;

    let (lookup, country): (Option<Vec<u8>>, Option<String>) =
        sqlx::query_as("SELECT phone_lookup, country_code FROM customers")
            .fetch_one(&app.admin)
            .await
            .expect("customer");
    assert_eq!(lookup, Some(app.keyring.lookup_hash(PHONE_LOOKUP_DOMAIN, "+34612345678").to_vec()));
    assert_eq!(country, None, "the order named no country; only the phone was read in Spain's");
}

#[tokio::test]
async fn duplicate_and_out_of_order_deliveries_leave_one_order_in_the_right_state() {
    let app = spawn_app().await;
    let (_, api) = app.merchant_with(IntegrationKind::Generic).await;
    let now = chrono::Utc::now().timestamp();
    let phone = "+905551234567";
    // Delivered arrives first, then its own retry, then the older paid and created events.
    let deliveries = [
        super::support::generic_order("e-delivered", "A-1", "order.delivered", 10, phone),
        super::support::generic_order("e-delivered", "A-1", "order.delivered", 10, phone),
        super::support::generic_order("e-paid", "A-1", "order.paid", 30, phone),
        super::support::generic_order("e-created", "A-1", "order.created", 40, phone),
    ];
    for body in &deliveries {
        let status = app.post_generic(&api, now, body).await.status().as_u16();
        assert!(status == 202 || status == 200, "{status}");
    }
    let workers = app.start_workers();
    app.wait_for_count(PROCESSED, 3, 20).await;
    workers.stop().await;

    assert_eq!(app.count("SELECT count(*) FROM orders").await, 1);
    assert_eq!(app.order_status("A-1").await.as_deref(), Some("delivered"));
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 1);
    // One creation, and whatever order the events were applied in, no move away from delivered.
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE action = 'order.created'").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE before->>'status' = 'delivered'").await, 0);

    // A cancellation newer than the delivery does move it; an older one would not.
    let cancel = super::support::generic_order("e-cancel", "A-1", "order.cancelled", 1, phone);
    assert_eq!(app.post_generic(&api, now, &cancel).await.status(), 202);
    let _workers = app.start_workers();
    app.wait_for_count(PROCESSED, 4, 20).await;
    assert_eq!(app.order_status("A-1").await.as_deref(), Some("cancelled"));
}

//! Stores' own export files through the API and a real imports worker: Shopify's orders export
//! becomes the orders a merchant sees, importing it again changes nothing, and a webhook for one
//! of those orders afterwards updates it instead of making a second. Shopify's customers export
//! reads SMS consent and never e-mail consent.

use chrono::{DateTime, Utc};
use recete_shared::customers::{EMAIL_LOOKUP_DOMAIN, PHONE_LOOKUP_DOMAIN};
use recete_shared::integrations::IntegrationKind;
use recete_workers::Pool;
use serde_json::json;

use super::{counts, store};
use crate::helpers::{fixture, spawn_app};

fn at(text: &str) -> Option<DateTime<Utc>> {
    Some(DateTime::parse_from_rfc3339(text).expect("valid test timestamp").with_timezone(&Utc))
}

type ItemLine = (String, Option<String>, String, i32, Option<i64>);
type CustomerLookups = (Option<Vec<u8>>, Option<Vec<u8>>, Option<String>, String);
type CustomerConsent = (Option<String>, Option<String>, String, Option<String>);
type OrderLine =
    (String, Option<String>, String, Option<DateTime<Utc>>, Option<DateTime<Utc>>, Option<i64>, Option<String>);

#[tokio::test]
async fn shopifys_orders_export_imports_once_and_a_later_webhook_updates_the_same_order() {
    let app = spawn_app().await;
    let store = store(&app).await;
    let _workers = app.start_pools(&[Pool::Imports, Pool::OrderEvents]);
    let export = fixture("imports/shopify_orders_export.csv");

    let import = store.import(&app, "orders", "", export.clone()).await;
    assert_eq!(import["status"], "completed", "{import}");
    assert_eq!(import["profile"], "shopify_orders");
    assert_eq!(counts(&import), (5, 5, 0, 0), "{import}");
    assert_eq!(import["errors"], json!([]));

    let orders: Vec<OrderLine> = sqlx::query_as(
        "SELECT external_order_id, order_number, status, placed_at, fulfilled_at, total_minor, currency
         FROM orders ORDER BY order_number",
    )
    .fetch_all(&app.admin)
    .await
    .expect("orders");
    assert_eq!(
        orders,
        vec![
            (
                "5730291466420".into(),
                Some("#1001".into()),
                "fulfilled".into(),
                at("2026-11-02T13:03:22Z"),
                orders[0].4,
                Some(5975),
                Some("EUR".into())
            ),
            (
                "5730291499188".into(),
                Some("#1002".into()),
                "refunded".into(),
                at("2026-11-04T14:58:41Z"),
                None,
                Some(5800),
                Some("USD".into())
            ),
            (
                "5730291531956".into(),
                Some("#1003".into()),
                "paid".into(),
                at("2026-11-05T17:19:30Z"),
                None,
                Some(4485),
                Some("EUR".into())
            ),
        ]
    );
    assert!(orders[0].4.is_some(), "the shipped order has its fulfilment time");

    let items: Vec<ItemLine> = sqlx::query_as(
        "SELECT o.order_number, i.sku, i.title, i.quantity, i.unit_price_minor
         FROM order_items i JOIN orders o ON o.id = i.order_id ORDER BY o.order_number, i.title",
    )
    .fetch_all(&app.admin)
    .await
    .expect("items");
    assert_eq!(
        items,
        vec![
            ("#1001".into(), Some("SPF-50".into()), "Daily Sunscreen SPF 50".into(), 2, Some(995)),
            ("#1001".into(), Some("SERUM-30".into()), "Vitamin C Serum 30 ml".into(), 1, Some(3490)),
            ("#1002".into(), Some("SPF-50".into()), "Daily Sunscreen SPF 50".into(), 2, Some(2900)),
            ("#1003".into(), None, "Hydrating Toner".into(), 1, Some(1995)),
            ("#1003".into(), Some("NIGHT-50".into()), "Night Cream 50 ml".into(), 1, Some(2490)),
        ]
    );

    // Each customer found by the phone read in its own address's country; `Accepts Marketing`
    // (e-mail consent, "yes" for two of them) granted no WhatsApp consent.
    let customers: Vec<CustomerLookups> = sqlx::query_as(
        "SELECT phone_lookup, email_lookup, country_code, whatsapp_consent FROM customers ORDER BY country_code",
    )
    .fetch_all(&app.admin)
    .await
    .expect("customers");
    let phone = |number: &str| Some(app.keyring.lookup_hash(PHONE_LOOKUP_DOMAIN, number).to_vec());
    let email = |address: &str| Some(app.keyring.lookup_hash(EMAIL_LOOKUP_DOMAIN, address).to_vec());
    assert_eq!(
        customers,
        vec![
            (phone("+4915123456789"), None, Some("DE".into()), "unknown".into()),
            (phone("+34612345678"), email("lucia.garcia@example.com"), Some("ES".into()), "unknown".into()),
            (phone("+14155550100"), email("grace@example.com"), Some("US".into()), "unknown".into()),
        ]
    );

    // The same export again changes nothing.
    let before: Vec<DateTime<Utc>> =
        sqlx::query_scalar("SELECT updated_at FROM orders ORDER BY id").fetch_all(&app.admin).await.expect("times");
    let again = store.import(&app, "orders", "", export).await;
    assert_eq!(counts(&again), (5, 0, 5, 0), "{again}");
    let after: Vec<DateTime<Utc>> =
        sqlx::query_scalar("SELECT updated_at FROM orders ORDER BY id").fetch_all(&app.admin).await.expect("times");
    assert_eq!(before, after);
    assert_eq!(app.count("SELECT count(*) FROM order_items").await, 5);

    // Shopify then reports #1001 delivered: the imported order is updated, not duplicated.
    let shop = app.integration(store.merchant, IntegrationKind::Shopify).await;
    let mut delivered: serde_json::Value =
        serde_json::from_slice(&fixture("shopify_fulfillments_update.json")).expect("fixture JSON");
    delivered["order_id"] = json!(5730291466420_u64);
    let body = serde_json::to_vec(&delivered).expect("JSON");
    let response = app.post_shopify(&shop, "fulfillments/update", "w-after-import", &body).await;
    assert!(response.status().is_success(), "{}", response.status());
    app.wait_for_count("SELECT count(*) FROM external_events WHERE state = 'processed'", 1, 20).await;
    assert_eq!(app.count("SELECT count(*) FROM orders").await, 3);
    assert_eq!(app.order_status("5730291466420").await.as_deref(), Some("delivered"));

    // Shopify's `orders/updated` for #1001 names its lines by Shopify's line ids: they take over
    // the imported lines for the same products instead of doubling them.
    let mut updated: serde_json::Value =
        serde_json::from_slice(&fixture("shopify_orders_create.json")).expect("fixture JSON");
    updated["id"] = json!(5730291466420_u64);
    updated["name"] = json!("#1001");
    updated["updated_at"] = json!("2026-11-30T10:00:00+01:00");
    updated["line_items"][0]["sku"] = json!("SERUM-30");
    updated["line_items"][0]["quantity"] = json!(1);
    updated["line_items"][1]["sku"] = json!("SPF-50");
    updated["line_items"][1]["quantity"] = json!(2);
    let body = serde_json::to_vec(&updated).expect("JSON");
    let response = app.post_shopify(&shop, "orders/updated", "w-updated-after-import", &body).await;
    assert!(response.status().is_success(), "{}", response.status());
    app.wait_for_count("SELECT count(*) FROM external_events WHERE state = 'processed'", 2, 20).await;
    let lines: Vec<(String, Option<String>, i32)> = sqlx::query_as(
        "SELECT i.line_key, i.sku, i.quantity FROM order_items i JOIN orders o ON o.id = i.order_id
         WHERE o.external_order_id = '5730291466420' ORDER BY i.sku",
    )
    .fetch_all(&app.admin)
    .await
    .expect("lines");
    let line_id = |index: usize| updated["line_items"][index]["id"].as_u64().expect("line id").to_string();
    assert_eq!(lines, vec![(line_id(0), Some("SERUM-30".into()), 1), (line_id(1), Some("SPF-50".into()), 2)]);
    assert_eq!(app.count("SELECT count(*) FROM orders").await, 3);
}

#[tokio::test]
async fn an_export_imported_after_the_webhooks_updates_their_lines_instead_of_adding_its_own() {
    let app = spawn_app().await;
    let store = store(&app).await;
    let _workers = app.start_pools(&[Pool::Imports, Pool::OrderEvents]);
    let shop = app.integration(store.merchant, IntegrationKind::Shopify).await;
    let mut created: serde_json::Value =
        serde_json::from_slice(&fixture("shopify_orders_create.json")).expect("fixture JSON");
    created["id"] = json!(5730291466420_u64);
    created["name"] = json!("#1001");
    created["line_items"][0]["sku"] = json!("SERUM-30");
    created["line_items"][1]["sku"] = json!("SPF-50");
    created["line_items"][1]["quantity"] = json!(2);
    let body = serde_json::to_vec(&created).expect("JSON");
    assert!(app.post_shopify(&shop, "orders/create", "w-first", &body).await.status().is_success());
    app.wait_for_count("SELECT count(*) FROM external_events WHERE state = 'processed'", 1, 20).await;

    let import = store.import(&app, "orders", "", fixture("imports/shopify_orders_export.csv")).await;
    assert_eq!(counts(&import), (5, 5, 0, 0), "{import}");
    assert_eq!(app.count("SELECT count(*) FROM orders").await, 3);
    let lines: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT i.line_key, i.sku FROM order_items i JOIN orders o ON o.id = i.order_id
         WHERE o.external_order_id = '5730291466420' ORDER BY i.sku",
    )
    .fetch_all(&app.admin)
    .await
    .expect("lines");
    let line_id = |index: usize| created["line_items"][index]["id"].as_u64().expect("line id").to_string();
    assert_eq!(lines, vec![(line_id(0), Some("SERUM-30".into())), (line_id(1), Some("SPF-50".into()))]);
}

#[tokio::test]
async fn shopifys_customers_export_records_sms_consent_and_is_refused_as_orders_with_the_fix() {
    let app = spawn_app().await;
    let store = store(&app).await;
    let _workers = app.start_pools(&[Pool::Imports]);
    let export = fixture("imports/shopify_customers_export.csv");

    let wrong = store.import(&app, "orders", "", export.clone()).await;
    assert_eq!(wrong["status"], "failed");
    assert_eq!(
        wrong["failure_reason"],
        "this file is a Shopify customers export, which holds customers; upload it as customers, not orders"
    );

    let import = store.import(&app, "customers", "", export).await;
    assert_eq!(import["status"], "completed", "{import}");
    assert_eq!(import["profile"], "shopify_customers");
    assert_eq!(counts(&import), (3, 3, 0, 0), "{import}");
    let customers: Vec<CustomerConsent> = sqlx::query_as(
        "SELECT external_id, country_code, whatsapp_consent, consent_source FROM customers ORDER BY external_id",
    )
    .fetch_all(&app.admin)
    .await
    .expect("customers");
    let source = format!("csv:{}", import["id"].as_str().expect("id"));
    assert_eq!(
        customers,
        vec![
            (Some("7264918307124".into()), Some("ES".into()), "granted".into(), Some(source.clone())),
            (Some("7264918339892".into()), Some("US".into()), "revoked".into(), Some(source)),
            (Some("7264918372660".into()), Some("DE".into()), "unknown".into(), None),
        ]
    );
}

//! Uploading again changes nothing; consent keeps its source and time and never overrides a
//! newer choice; follow-ups are planned only when asked.

use chrono::{DateTime, Duration, Utc};
use recete_shared::customers::PHONE_LOOKUP_DOMAIN;
use recete_workers::Pool;
use serde_json::Value;

use super::{counts, store};
use crate::helpers::{TestApp, spawn_app};

fn orders_file(delivered: DateTime<Utc>) -> String {
    let day = delivered.format("%Y-%m-%d %H:%M");
    format!(
        "order_id,email,phone,name,country,created_at,delivered_at,status,sku,product_title,quantity,whatsapp_consent,consent_at\n\
         5001,ada@example.com,+49 151 2345 6789,Ada Lovelace,DE,2026-01-10,{day},delivered,SERUM-30,Vitamin C Serum,1,yes,2026-01-10\n\
         5001,ada@example.com,+49 151 2345 6789,Ada Lovelace,DE,2026-01-10,{day},delivered,SPF-50,Daily Sunscreen,2,yes,2026-01-10\n\
         5002,grace@example.com,+1 415 555 0100,Grace Hopper,US,2026-01-11,,paid,SPF-50,Daily Sunscreen,1,,\n\
         5003,linus@example.com,,Linus,FI,2026-01-12,,cancelled,,,1,no,\n"
    )
}

/// Every row's `updated_at` in the tables an orders import writes.
async fn stamps(app: &TestApp) -> Vec<(String, DateTime<Utc>)> {
    sqlx::query_as(
        "SELECT 'customer:' || id, updated_at FROM customers
         UNION ALL SELECT 'order:' || id, updated_at FROM orders
         UNION ALL SELECT 'item:' || id, updated_at FROM order_items
         UNION ALL SELECT 'product:' || id, updated_at FROM products
         ORDER BY 1",
    )
    .fetch_all(&app.admin)
    .await
    .expect("stamps")
}

#[tokio::test]
async fn uploading_the_same_file_again_changes_nothing() {
    let app = spawn_app().await;
    let store = store(&app).await;
    let _workers = app.start_pools(&[Pool::Imports]);
    let file = orders_file(Utc::now() - Duration::hours(2));

    let first = store.import(&app, "orders", "plan_followups=true", file.clone()).await;
    assert_eq!(counts(&first), (4, 4, 0, 0), "{first}");
    assert_eq!(app.count("SELECT count(*) FROM orders").await, 3);
    assert_eq!(app.count("SELECT count(*) FROM order_items").await, 3);
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 3);
    let before = stamps(&app).await;
    let tasks_before = app.count("SELECT count(*) FROM scheduled_tasks WHERE kind <> 'import'").await;
    let audit_before = app.count("SELECT count(*) FROM audit_log").await;
    assert!(tasks_before > 0, "the first upload planned follow-ups and scheduled products");

    let second = store.import(&app, "orders", "plan_followups=true", file).await;
    assert_eq!(counts(&second), (4, 0, 4, 0), "{second}");
    assert_eq!(stamps(&app).await, before, "no row was written again");
    assert_eq!(app.count("SELECT count(*) FROM scheduled_tasks WHERE kind <> 'import'").await, tasks_before);
    assert_eq!(app.count("SELECT count(*) FROM audit_log").await, audit_before);

    // A corrected file changes only what it corrects.
    let corrected = "order_id,email,status,delivered_at\n5002,grace@example.com,delivered,2026-01-20\n";
    let third = store.import(&app, "orders", "", corrected).await;
    assert_eq!(counts(&third), (1, 1, 0, 0));
    assert_eq!(app.order_status("5002").await.as_deref(), Some("delivered"));
    let changed: Vec<String> = stamps(&app)
        .await
        .into_iter()
        .filter(|stamp| !before.contains(stamp))
        .map(|(key, _)| key.split(':').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(changed, vec!["order".to_owned()]);
}

#[tokio::test]
async fn follow_ups_are_planned_only_when_asked() {
    let app = spawn_app().await;
    let store = store(&app).await;
    let _workers = app.start_pools(&[Pool::Imports]);
    let delivered = Utc::now() - Duration::hours(2);

    let quiet = store.import(&app, "orders", "", orders_file(delivered)).await;
    assert_eq!(counts(&quiet), (4, 4, 0, 0));
    assert_eq!(app.order_status("5001").await.as_deref(), Some("delivered"));
    assert_eq!(app.count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'follow_up'").await, 0);

    let other = store.import(&app, "orders", "plan_followups=true", orders_file(delivered).replace("500", "600")).await;
    assert_eq!(counts(&other), (4, 4, 0, 0));
    let planned: Vec<(String, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT o.external_order_id, t.step, t.due_at FROM scheduled_tasks t JOIN orders o ON o.id = t.order_id
         WHERE t.kind = 'follow_up' ORDER BY t.due_at",
    )
    .fetch_all(&app.admin)
    .await
    .expect("planned");
    let delivered_at: DateTime<Utc> =
        sqlx::query_scalar("SELECT delivered_at FROM orders WHERE external_order_id = '6001'")
            .fetch_one(&app.admin)
            .await
            .expect("delivered_at");
    let settings = recete_shared::merchants::MerchantSettings::default();
    let expected: Vec<(String, String, DateTime<Utc>)> = settings
        .follow_up_plan
        .iter()
        .map(|step| ("6001".to_owned(), step.key.clone(), delivered_at + Duration::hours(i64::from(step.offset_hours))))
        .collect();
    assert_eq!(planned, expected);
}

#[tokio::test]
async fn consent_from_a_file_is_recorded_with_its_source_and_never_overrides_a_newer_choice() {
    let app = spawn_app().await;
    let store = store(&app).await;
    let _workers = app.start_pools(&[Pool::Imports]);

    let first = store
        .import(
            &app,
            "orders",
            "",
            "order_id,phone,status,whatsapp_consent,consent_at\n7001,+49 151 2345 6789,paid,yes,2026-02-01 10:00\n",
        )
        .await;
    let import_id = first["id"].as_str().expect("id");
    let (consent, source, at) = consent_of(&app, "+4915123456789").await;
    assert_eq!((consent.as_str(), source.as_deref()), ("granted", Some(format!("csv:{import_id}").as_str())));
    assert_eq!(at.map(|at| at.to_rfc3339()), Some("2026-02-01T09:00:00+00:00".to_owned()));

    // The customer says STOP on WhatsApp later.
    sqlx::query(
        "UPDATE customers SET whatsapp_consent = 'revoked', consent_source = 'whatsapp:STOP', consent_updated_at = $1",
    )
    .bind(Utc::now())
    .execute(&app.admin)
    .await
    .expect("stop");
    // An older dated "yes" and an undated "yes" both leave the STOP in place.
    for row in ["7002,+49 151 2345 6789,paid,yes,2026-02-02", "7003,+49 151 2345 6789,paid,yes,"] {
        let file = format!("order_id,phone,status,whatsapp_consent,consent_at\n{row}\n");
        let import = store.import(&app, "orders", "", file).await;
        assert_eq!(counts(&import), (1, 1, 0, 0));
        let (consent, source, _) = consent_of(&app, "+4915123456789").await;
        assert_eq!((consent.as_str(), source.as_deref()), ("revoked", Some("whatsapp:STOP")), "{row}");
    }

    // An undated "no" for someone new is taken as of the upload.
    let before = Utc::now();
    let import = store
        .import(&app, "orders", "", "order_id,phone,status,whatsapp_consent\n7004,+1 415 555 0100,paid,no\n")
        .await;
    let (consent, source, at) = consent_of(&app, "+14155550100").await;
    assert_eq!(consent, "revoked");
    assert_eq!(source, Some(format!("csv:{}", import["id"].as_str().expect("id"))));
    let at = at.expect("a consent time");
    assert!(at >= before - Duration::seconds(1) && at <= Utc::now(), "{at}");
    let audit: Vec<Value> =
        sqlx::query_scalar("SELECT after FROM audit_log WHERE action = 'customer.consent_changed' ORDER BY id")
            .fetch_all(&app.admin)
            .await
            .expect("audit");
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert_eq!(audit[0]["source"], format!("csv:{import_id}"));
}

async fn consent_of(app: &TestApp, e164: &str) -> (String, Option<String>, Option<DateTime<Utc>>) {
    sqlx::query_as("SELECT whatsapp_consent, consent_source, consent_updated_at FROM customers WHERE phone_lookup = $1")
        .bind(app.keyring.lookup_hash(PHONE_LOOKUP_DOMAIN, e164).to_vec())
        .fetch_one(&app.admin)
        .await
        .expect("customer")
}

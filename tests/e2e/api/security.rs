use std::process::Command;

use recete_platform::db;
use recete_shared::integrations::IntegrationKind;

use crate::helpers::{fixture, spawn_app};

#[tokio::test]
async fn one_merchant_cannot_read_or_write_another_merchants_events() {
    let app = spawn_app().await;
    let (merchant_a, shop_a) = app.merchant_with(IntegrationKind::Shopify).await;
    let (merchant_b, shop_b) = app.merchant_with(IntegrationKind::Shopify).await;
    let body = fixture("shopify_orders_create.json");
    assert_eq!(app.post_shopify(&shop_a, "orders/create", "a-1", &body).await.status().as_u16(), 202);
    assert_eq!(app.post_shopify(&shop_a, "orders/paid", "a-2", &body).await.status().as_u16(), 202);
    assert_eq!(app.post_shopify(&shop_b, "orders/create", "b-1", &body).await.status().as_u16(), 202);

    // The application role, not a superuser: row-level security is what hides the rows.
    let (is_superuser, bypasses_rls): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&app.pool)
            .await
            .expect("role");
    assert!(!is_superuser && !bypasses_rls);

    let mut tx = db::tenant_tx(&app.pool, merchant_a).await.expect("tenant tx");
    let visible: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT merchant_id FROM external_events").fetch_all(&mut *tx).await.expect("select");
    assert_eq!(visible, vec![merchant_a.as_uuid(); 2]);
    let integrations: i64 =
        sqlx::query_scalar("SELECT count(*) FROM integrations").fetch_one(&mut *tx).await.expect("count");
    assert_eq!(integrations, 1);
    let merchants: i64 = sqlx::query_scalar("SELECT count(*) FROM merchants").fetch_one(&mut *tx).await.expect("count");
    assert_eq!(merchants, 1);
    let forged = sqlx::query(
        "INSERT INTO external_events (id, merchant_id, integration_id, source, kind, topic, dedup_key, occurred_at, key_id, payload_sealed, normalized_sealed)
         VALUES ($1, $2, $3, 'shopify', 'order_created', 'orders/create', 'forged', now(), 'dev-1', '\\x00', '\\x00')",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(merchant_b.as_uuid())
    .bind(shop_b.integration_id.as_uuid())
    .execute(&mut *tx)
    .await
    .expect_err("writing another merchant's row must fail");
    assert!(forged.to_string().contains("row-level security"), "{forged}");
    drop(tx);

    // A connection that names no merchant sees nothing at all.
    let unscoped: i64 =
        sqlx::query_scalar("SELECT count(*) FROM external_events").fetch_one(&app.pool).await.expect("count");
    assert_eq!(unscoped, 0);
}

#[tokio::test]
async fn a_database_dump_holds_no_phone_number_email_or_name_in_clear() {
    let app = spawn_app().await;
    let (_, shop) = app.merchant_with(IntegrationKind::Shopify).await;
    let body = fixture("shopify_orders_create.json");
    assert_eq!(app.post_shopify(&shop, "orders/create", "dump-1", &body).await.status().as_u16(), 202);

    let output = Command::new("pg_dump")
        .args(["--no-owner", "--data-only", "--dbname"])
        .arg(app.db.app_url().replace("recete@", "postgres@"))
        .output()
        .expect("pg_dump runs (postgresql-client)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let dump = String::from_utf8_lossy(&output.stdout);
    assert!(dump.contains("820982911946154508"), "the order id stays queryable in clear");
    for secret in ["+16135551212", "6135551212", "jon@example.com", "Shipper", "123 Shipping Street", &shop.secret] {
        assert!(!dump.contains(secret), "the dump must not contain {secret}");
    }
}

#[tokio::test]
async fn the_stored_payload_opens_to_the_exact_bytes_received() {
    let app = spawn_app().await;
    let (_, shop) = app.merchant_with(IntegrationKind::Shopify).await;
    let body = fixture("shopify_orders_create.json");
    assert_eq!(app.post_shopify(&shop, "orders/create", "bytes-1", &body).await.status().as_u16(), 202);
    let (key_id, sealed, dedup_key): (String, Vec<u8>, String) =
        sqlx::query_as("SELECT key_id, payload_sealed, dedup_key FROM external_events")
            .fetch_one(&app.admin)
            .await
            .expect("row");
    let context = recete_shared::events::store::payload_context(shop.integration_id, &dedup_key, "payload");
    let opened = recete_shared::events::store::open_payload(&app.keyring, &key_id, &sealed, &context)
        .expect("opens with its own context");
    assert_eq!(opened, body);
}

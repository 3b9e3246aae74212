//! Rotating to new keys moves everything: customers' lookup hashes are re-hashed with the new
//! lookup key, and a reply sealed into its task before the rotation is re-sealed, so once the old
//! keys are removed the customer is still found by phone and the reply still goes out.

use std::process::Command;
use std::sync::Arc;

use recete_platform::config::CryptoSettings;
use recete_platform::crypto::Keyring;
use recete_platform::db;
use recete_platform::ids::{CustomerId, MerchantId};
use recete_privacy::subject::{self, Subject};
use recete_shared::customers::{self, PHONE_LOOKUP_DOMAIN};
use recete_shared::events::CustomerSnapshot;
use recete_shared::followups::planning::{ReplyContext, schedule_reply};
use recete_shared::integrations::IntegrationKind;
use recete_shared::message_bodies;
use serde_json::json;

use crate::helpers::{TestApp, fixture, spawn_app_with};

const DEVELOPMENT_KEY: &str = "V9Vc3qhT+72RXDN4fudRtgKoeU6B+4fiWftwxACTK+k=";
const DEVELOPMENT_LOOKUP_KEY: &str = "BzxC+rlEZCf5VID7fWW6s9kglaxSdM0YYl/57SGViLo=";
const NEW_KEY: &str = "Pq0G3y8rZmG3qk2Q8m0w9b1m7n5r3t1v2x4z6c8e0g0=";
const NEW_LOOKUP_KEY: &str = "c2VjcmV0LWxvb2t1cC1rZXktb2YtdGhpcnR5LXR3by1ieXRlcw==";
const REPLY: &str = "Your order 1001 ships tomorrow.";

fn keyring(crypto: serde_json::Value) -> Arc<Keyring> {
    let crypto: CryptoSettings = serde_json::from_value(crypto).expect("crypto settings");
    Arc::new(Keyring::from_settings(&crypto).expect("keyring"))
}

/// Both key sets, the new ones active: what an operator runs `recete keys rotate` with.
fn during_rotation() -> Arc<Keyring> {
    keyring(json!({
        "active_key_id": "k-2", "keys": { "dev-1": DEVELOPMENT_KEY, "k-2": NEW_KEY },
        "active_lookup_key_id": "l-2", "lookup_keys": { "dev-lookup-1": DEVELOPMENT_LOOKUP_KEY, "l-2": NEW_LOOKUP_KEY },
    }))
}

/// Only the new keys: the old ones are gone.
fn after_rotation() -> Arc<Keyring> {
    keyring(json!({
        "active_key_id": "k-2", "keys": { "k-2": NEW_KEY },
        "active_lookup_key_id": "l-2", "lookup_keys": { "l-2": NEW_LOOKUP_KEY },
    }))
}

async fn customers_by_phone(app: &TestApp, keyring: &Keyring, merchant: MerchantId) -> Vec<CustomerId> {
    let mut tx = db::tenant_tx(&app.pool, merchant).await.expect("tx");
    let found = subject::find(&mut tx, keyring, merchant, &Subject::Phone("+16135551212".into())).await.expect("find");
    tx.commit().await.expect("commit");
    found.into_iter().map(|matched| matched.id).collect()
}

#[tokio::test]
async fn rotation_rehashes_lookups_and_reseals_task_payloads_so_the_old_keys_can_go() {
    let app = spawn_app_with(|figment| figment.merge(("whatsapp.customer_gap_secs", 0))).await;
    let (merchant, shop) = app.merchant_with(IntegrationKind::Shopify).await;
    let workers = app.start_pools(&[recete_workers::Pool::OrderEvents]);
    let created = app.post_shopify(&shop, "orders/create", "w-rotate", &fixture("shopify_orders_create.json")).await;
    assert_eq!(created.status(), 202);
    app.wait_for_count("SELECT count(*) FROM orders", 1, 20).await;
    workers.stop().await;
    let customer: CustomerId =
        sqlx::query_scalar("SELECT id FROM customers").fetch_one(&app.admin).await.expect("customer");

    // Failed import rows naming a phone, found for erasure through their lookup hashes: one read
    // in the import's country, one in the country of the shop's time zone (Europe/Istanbul).
    for (row, country) in [("3002;0151 23456780", Some("DE")), ("3003;0555 123 45 67", None)] {
        let file = std::env::temp_dir().join(format!("recete-rotation-{}.csv", uuid::Uuid::new_v4().simple()));
        std::fs::write(&file, format!("Order ID;Mobile;Status;SKU;Qty\n{row};paid;SERUM-30;x\n")).expect("file");
        let imported = Command::new(env!("CARGO_BIN_EXE_recete"))
            .args(["import", "orders", "--merchant", &merchant.to_string(), file.to_str().expect("path")])
            .args(country.map(|country| ["--default-country", country]).into_iter().flatten())
            .env("DATABASE_URL", app.db.app_url())
            .env("RECETE__LOG__FILTER", "warn")
            .env_remove("RUST_LOG")
            .output()
            .expect("recete runs");
        let _ = std::fs::remove_file(&file);
        assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    }
    assert_eq!(app.count("SELECT count(*) FROM import_errors").await, 2);

    // A reply planned before the rotation, its text sealed with the development key.
    let mut tx = db::tenant_tx(&app.pool, merchant).await.expect("tx");
    let planned =
        schedule_reply(&mut tx, &app.keyring, merchant, customer, "reply:rotation", REPLY, &ReplyContext::default())
            .await
            .expect("reply planned");
    tx.commit().await.expect("commit");
    assert!(planned);

    // While both lookup keys are configured, the customer hashed with the old one is found; with
    // only the new one, not until the rotation has run.
    assert_eq!(customers_by_phone(&app, &during_rotation(), merchant).await, [customer]);
    assert!(customers_by_phone(&app, &after_rotation(), merchant).await.is_empty());
    // An event naming the customer's phone during the rotation finds the same customer rather
    // than creating a second one; its phone hash moves to the new key, its email hash not yet.
    let mut tx = db::tenant_tx(&app.pool, merchant).await.expect("tx");
    let snapshot = CustomerSnapshot { phone: Some("+16135551212".into()), ..CustomerSnapshot::default() };
    let provenance = customers::Provenance { actor: "test", event_id: None, occurred_at: chrono::Utc::now() };
    let upserted = customers::upsert_from_snapshot(&mut tx, &during_rotation(), merchant, &snapshot, None, &provenance)
        .await
        .expect("upsert")
        .expect("a customer");
    tx.commit().await.expect("commit");
    assert_eq!(upserted.id, customer);
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM customers WHERE lookup_key_id = 'dev-lookup-1' AND email_lookup IS NOT NULL")
            .await,
        1,
        "the email hash is still under the old lookup key"
    );

    let output = Command::new(env!("CARGO_BIN_EXE_recete"))
        .args(["keys", "rotate"])
        .env("DATABASE_URL", app.db.app_url())
        .env("RECETE__CRYPTO__KEYS", format!("{{dev-1=\"{DEVELOPMENT_KEY}\",k-2=\"{NEW_KEY}\"}}"))
        .env("RECETE__CRYPTO__ACTIVE_KEY_ID", "k-2")
        .env(
            "RECETE__CRYPTO__LOOKUP_KEYS",
            format!("{{dev-lookup-1=\"{DEVELOPMENT_LOOKUP_KEY}\",l-2=\"{NEW_LOOKUP_KEY}\"}}"),
        )
        .env("RECETE__CRYPTO__ACTIVE_LOOKUP_KEY_ID", "l-2")
        .env("RECETE__LOG__FILTER", "warn")
        .env_remove("RUST_LOG")
        .output()
        .expect("recete runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["active_lookup_key_id"], "l-2", "{report}");
    assert_eq!(report["customer_lookups"], 1, "{report}");
    assert_eq!(report["scheduled_tasks"], 1, "{report}");
    assert_eq!((report["import_errors"].as_u64(), report["import_error_lookups"].as_u64()), (Some(2), Some(2)));
    assert_eq!(app.count("SELECT count(*) FROM customers WHERE lookup_key_id IS DISTINCT FROM 'l-2'").await, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM scheduled_tasks WHERE payload -> 'text_sealed' ->> 'key_id' <> 'k-2'").await,
        0
    );
    let after = after_rotation();
    let phone_lookup: Vec<u8> = sqlx::query_scalar("SELECT phone_lookup FROM customers WHERE id = $1")
        .bind(customer)
        .fetch_one(&app.admin)
        .await
        .expect("lookup");
    assert_eq!(phone_lookup, after.lookup_hash(PHONE_LOOKUP_DOMAIN, "+16135551212").to_vec());
    let failed_rows: Vec<(Option<String>, Vec<Vec<u8>>)> =
        sqlx::query_as("SELECT lookup_key_id, subject_lookups FROM import_errors ORDER BY created_at, import_id")
            .fetch_all(&app.admin)
            .await
            .expect("rows");
    assert_eq!(
        failed_rows,
        [
            (Some("l-2".into()), vec![after.lookup_hash(PHONE_LOOKUP_DOMAIN, "+4915123456780").to_vec()]),
            (Some("l-2".into()), vec![after.lookup_hash(PHONE_LOOKUP_DOMAIN, "+905551234567").to_vec()]),
        ]
    );

    // A second run finds nothing left to do.
    let again = Command::new(env!("CARGO_BIN_EXE_recete"))
        .args(["keys", "rotate"])
        .env("DATABASE_URL", app.db.app_url())
        .env("RECETE__CRYPTO__KEYS__K-2", NEW_KEY)
        .env("RECETE__CRYPTO__ACTIVE_KEY_ID", "k-2")
        .env("RECETE__CRYPTO__LOOKUP_KEYS__L-2", NEW_LOOKUP_KEY)
        .env("RECETE__CRYPTO__ACTIVE_LOOKUP_KEY_ID", "l-2")
        .env("RECETE__LOG__FILTER", "warn")
        .env_remove("RUST_LOG")
        .output()
        .expect("recete runs");
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).expect("json");
    assert_eq!((report["customers"].as_u64(), report["customer_lookups"].as_u64()), (Some(0), Some(0)), "{report}");

    // The old keys removed: the customer is found by phone, and the reply opens and goes out.
    assert_eq!(customers_by_phone(&app, &after, merchant).await, [customer]);
    let mut deps = app.worker_deps();
    deps.keyring = after.clone();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let options = recete_workers::WorkerOptions { pools: vec![recete_workers::Pool::Messages], health_listen: None };
    let workers = crate::helpers::RunningWorkers {
        shutdown: shutdown.clone(),
        handle: tokio::spawn(recete_workers::run(deps, options, shutdown)),
    };
    app.wait_for_count(
        "SELECT count(*) FROM messages m JOIN scheduled_tasks t ON t.id = m.scheduled_task_id
         WHERE t.kind = 'reply' AND m.direction = 'outbound' AND t.state = 'done'",
        1,
        30,
    )
    .await;
    workers.stop().await;
    let (key_id, sealed): (Option<String>, Option<Vec<u8>>) =
        sqlx::query_as("SELECT pii_key_id, body_sealed FROM messages WHERE direction = 'outbound'")
            .fetch_one(&app.admin)
            .await
            .expect("sent reply");
    let text = message_bodies::open(&after, merchant, key_id.as_deref(), sealed.as_deref()).expect("opens");
    assert_eq!(text.as_deref(), Some(REPLY));
}

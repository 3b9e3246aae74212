//! Integrations: creation (generated or given secrets), lists that never show a secret,
//! rotation with an overlap proven by real signed webhooks, disabling, changes made by another
//! process reaching this one, and other merchants' integrations out of reach.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use recete_platform::db;
use recete_platform::ids::IntegrationId;
use recete_shared::integrations::{self, CreatedIntegration, IntegrationKind, Rotation};
use serde_json::{Value, json};

use super::{Tenant, every_page, ids, json_with, misnamed_fields, tenant};
use crate::helpers::{PHONE_NUMBER_ID, TestApp, assert_problem, fixture, spawn_app, spawn_app_with};

const SHOPIFY_SECRET: &str = "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";
const META_APP_SECRET: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// The integration as a test client signs for it, from the API's answer.
fn signer(created: &Value, kind: IntegrationKind, secret: &str) -> CreatedIntegration {
    let integration = &created["integration"];
    CreatedIntegration {
        integration_id: integration["id"].as_str().and_then(|id| id.parse().ok()).expect("integration id"),
        kind,
        secret: secret.to_owned(),
        webhook_path: integration["webhook_path"].as_str().expect("webhook path").to_owned(),
        verify_token: None,
    }
}

fn with_secret(integration: &CreatedIntegration, secret: &str) -> CreatedIntegration {
    CreatedIntegration {
        integration_id: integration.integration_id,
        kind: integration.kind,
        secret: secret.to_owned(),
        webhook_path: integration.webhook_path.clone(),
        verify_token: None,
    }
}

/// A signed order delivery from Shopify; a new delivery id each time.
async fn shopify_delivery(app: &TestApp, shop: &CreatedIntegration) -> u16 {
    let delivery = uuid::Uuid::now_v7().to_string();
    app.post_shopify(shop, "orders/create", &delivery, &fixture("shopify_orders_create.json")).await.status().as_u16()
}

fn generic_body() -> Vec<u8> {
    String::from_utf8(fixture("generic_order_delivered.json"))
        .expect("utf8")
        .replace("OCCURRED_AT", "2026-11-20T10:00:00Z")
        .into_bytes()
}

async fn generic_delivery(app: &TestApp, integration: &CreatedIntegration) -> u16 {
    app.post_generic(integration, Utc::now().timestamp(), &generic_body()).await.status().as_u16()
}

fn accepted(status: u16) -> bool {
    status == 200 || status == 202
}

async fn create(app: &TestApp, tenant: &Tenant, body: Value) -> Value {
    json_with(tenant.post(app, "/api/integrations", &body).await, 201).await
}

async fn audit_rows(app: &TestApp, action: &str) -> Vec<(String, Value)> {
    sqlx::query_as("SELECT actor, coalesce(after, 'null'::jsonb) FROM audit_log WHERE action = $1 ORDER BY id")
        .bind(action)
        .fetch_all(&app.admin)
        .await
        .expect("audit rows")
}

#[tokio::test]
async fn integrations_are_created_with_generated_or_given_secrets_and_listed_without_them() {
    let app = spawn_app().await;
    let shop = tenant(&app, "Glow Store").await;

    let generic = create(&app, &shop, json!({"kind": "generic"})).await;
    let generated = generic["secret"].as_str().expect("the generated secret, shown once").to_owned();
    assert_eq!(generated.len(), 48);
    assert_eq!(generic["verify_token"], Value::Null);
    let generic_id = generic["integration"]["id"].as_str().expect("id").to_owned();
    assert_eq!(generic["integration"]["webhook_path"], format!("/webhooks/commerce/generic/{generic_id}"));
    assert_eq!(generic["integration"]["status"], "active");
    assert_eq!(generic["integration"]["rotation_overlap_active"], false);
    let store = signer(&generic, IntegrationKind::Generic, &generated);
    assert_eq!(generic_delivery(&app, &store).await, 202, "the store signs with the secret it was shown");

    let shopify = create(&app, &shop, json!({"kind": "shopify", "secret": SHOPIFY_SECRET})).await;
    assert_eq!(shopify["secret"], Value::Null, "a given secret is not echoed");
    let shopify_signer = signer(&shopify, IntegrationKind::Shopify, SHOPIFY_SECRET);
    assert_eq!(shopify_delivery(&app, &shopify_signer).await, 202);

    let whatsapp =
        create(&app, &shop, json!({"kind": "whatsapp", "secret": META_APP_SECRET, "phone_number_id": PHONE_NUMBER_ID}))
            .await;
    assert_eq!(whatsapp["integration"]["webhook_path"], "/webhooks/whatsapp");
    assert_eq!(whatsapp["integration"]["phone_number_id"], PHONE_NUMBER_ID);
    let token = whatsapp["verify_token"].as_str().expect("a generated verify token").to_owned();
    let handshake = app
        .client
        .get(app.url("/webhooks/whatsapp"))
        .query(&[("hub.mode", "subscribe"), ("hub.verify_token", token.as_str()), ("hub.challenge", "1158201444")])
        .send()
        .await
        .expect("handshake");
    assert_eq!(handshake.status(), 200);
    assert_eq!(handshake.text().await.expect("challenge"), "1158201444");
    let duplicate = json!({"kind": "whatsapp", "secret": META_APP_SECRET, "phone_number_id": PHONE_NUMBER_ID});
    assert_problem(shop.post(&app, "/api/integrations", &duplicate).await, 409).await;
    let own_token = create(
        &app,
        &shop,
        json!({"kind": "whatsapp", "secret": META_APP_SECRET, "phone_number_id": "106540352242923",
               "verify_token": "my-own-verify-token-2026"}),
    )
    .await;
    assert_eq!(own_token["verify_token"], Value::Null, "a given token is not echoed");

    let woocommerce = create(&app, &shop, json!({"kind": "woocommerce"})).await;
    assert!(woocommerce["secret"].as_str().is_some());

    let wrong = misnamed_fields(
        &app,
        &shop,
        reqwest::Method::POST,
        "/api/integrations",
        vec![
            (json!({"kind": "magento"}), "kind"),
            (json!({}), "kind"),
            (json!({"kind": "shopify"}), "secret"),
            (json!({"kind": "whatsapp", "phone_number_id": "106540352242924"}), "secret"),
            (json!({"kind": "generic", "secret": "too-short"}), "secret"),
            (json!({"kind": "generic", "secret": "has spaces in the secret"}), "secret"),
            (json!({"kind": "whatsapp", "secret": META_APP_SECRET}), "phone_number_id"),
            (
                json!({"kind": "whatsapp", "secret": META_APP_SECRET, "phone_number_id": "not-digits"}),
                "phone_number_id",
            ),
            (json!({"kind": "woocommerce", "phone_number_id": "106540352242925"}), "phone_number_id"),
            (json!({"kind": "generic", "verify_token": "a-verify-token-for-meta"}), "verify_token"),
            (json!({"kind": "generic", "colour": "red"}), "colour"),
        ],
    )
    .await;
    assert!(wrong.is_empty(), "each invalid integration is a 422 naming its field:\n{}", wrong.join("\n"));
    assert_eq!(app.count("SELECT count(*) FROM integrations").await, 5);

    let listed = every_page(&app, &shop, "/api/integrations?", "integrations", 2).await;
    assert_eq!(ids(&listed).iter().collect::<HashSet<_>>().len(), 5, "every integration once: {listed:?}");
    let text = serde_json::to_string(&listed).expect("json");
    for secret in [generated.as_str(), SHOPIFY_SECRET, META_APP_SECRET, token.as_str()] {
        assert!(!text.contains(secret), "a list never shows a secret");
    }
    assert!(listed.iter().all(|item| item.get("secret").is_none() && item.get("verify_token").is_none()));
    let shopify_only = shop.get_json(&app, "/api/integrations?kind=shopify").await;
    assert_eq!(
        ids(shopify_only["integrations"].as_array().expect("list")),
        [shopify["integration"]["id"].as_str().expect("id")]
    );
    let disabled = shop.get_json(&app, "/api/integrations?status=disabled").await;
    assert_eq!(disabled["integrations"], json!([]));
    for (query, field) in [("kind=magento", "kind"), ("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from")] {
        let problem = assert_problem(shop.get(&app, &format!("/api/integrations?{query}")).await, 422).await;
        assert_eq!(problem["field"], field);
    }

    let created = audit_rows(&app, "integration.created").await;
    assert_eq!(created.len(), 5);
    assert!(created.iter().all(|(actor, _)| actor.starts_with("api-key:")));
    let audit_text = format!("{created:?}");
    assert!(!audit_text.contains(&generated) && !audit_text.contains(SHOPIFY_SECRET));
}

#[tokio::test]
async fn the_old_secret_verifies_during_the_overlap_and_not_after_the_new_one_always() {
    let app = spawn_app().await;
    let shop = tenant(&app, "Glow Store").await;
    let created = create(&app, &shop, json!({"kind": "shopify", "secret": SHOPIFY_SECRET})).await;
    let old = signer(&created, IntegrationKind::Shopify, SHOPIFY_SECRET);
    let rotate_path = format!("/api/integrations/{}/rotate-secret", old.integration_id);
    assert_eq!(shopify_delivery(&app, &old).await, 202, "the cache now holds the old secret");

    let rotated = json_with(shop.post(&app, &rotate_path, &json!({"overlap_seconds": 3})).await, 200).await;
    let new_secret = rotated["secret"].as_str().expect("the generated secret").to_owned();
    let new = with_secret(&old, &new_secret);
    assert_eq!(rotated["integration"]["rotation_overlap_active"], true);
    let until: DateTime<Utc> =
        rotated["integration"]["previous_secret_valid_until"].as_str().and_then(|t| t.parse().ok()).expect("until");
    let overlap = until - Utc::now();
    assert!(overlap > chrono::Duration::seconds(1) && overlap <= chrono::Duration::seconds(3), "{overlap}");

    assert_eq!(shopify_delivery(&app, &new).await, 202, "the new secret verifies at once");
    assert_eq!(shopify_delivery(&app, &old).await, 202, "the old one still verifies during the overlap");
    let listed = shop.get_json(&app, "/api/integrations?").await;
    assert_eq!(
        listed["integrations"][0]["previous_secret_valid_until"],
        rotated["integration"]["previous_secret_valid_until"]
    );

    let left = (until - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(200)).await;
    let refused = assert_problem(
        app.post_shopify(&old, "orders/create", "after-overlap", &fixture("shopify_orders_create.json")).await,
        401,
    )
    .await;
    assert!(refused["detail"].as_str().is_some_and(|d| d.contains("does not verify")), "{refused}");
    assert_eq!(shopify_delivery(&app, &new).await, 202, "the new secret keeps verifying");
    let listed = shop.get_json(&app, "/api/integrations?").await;
    assert_eq!(listed["integrations"][0]["rotation_overlap_active"], false);
    assert_eq!(listed["integrations"][0]["previous_secret_valid_until"], Value::Null);

    // The store issued its own new secret and the old one must stop at once.
    let given = "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";
    let immediate =
        json_with(shop.post(&app, &rotate_path, &json!({"overlap_seconds": 0, "secret": given})).await, 200).await;
    assert_eq!(immediate["secret"], Value::Null, "a given secret is not echoed");
    assert_eq!(immediate["integration"]["rotation_overlap_active"], false);
    assert_eq!(shopify_delivery(&app, &new).await, 401, "no overlap: the replaced secret stops at once");
    assert_eq!(shopify_delivery(&app, &with_secret(&old, given)).await, 202);

    // A default overlap is a day.
    let default = json_with(shop.post(&app, &rotate_path, &json!({})).await, 200).await;
    let until: DateTime<Utc> =
        default["integration"]["previous_secret_valid_until"].as_str().and_then(|t| t.parse().ok()).expect("until");
    let day = until - Utc::now();
    assert!(day > chrono::Duration::hours(23) && day <= chrono::Duration::hours(24), "{day}");
    assert_eq!(shopify_delivery(&app, &with_secret(&old, given)).await, 202);

    let current = default["secret"].as_str().expect("generated").to_owned();
    let wrong = misnamed_fields(
        &app,
        &shop,
        reqwest::Method::POST,
        &rotate_path,
        vec![
            (json!({"overlap_seconds": -1}), "overlap_seconds"),
            (json!({"overlap_seconds": 604_801}), "overlap_seconds"),
            (json!({"overlap_seconds": "a day"}), "overlap_seconds"),
            (json!({"overlap_seconds": 1.5}), "overlap_seconds"),
            (json!({"secret": "short"}), "secret"),
            (json!({"secret": current}), "secret"),
            (json!({"overlap": 60}), "overlap"),
        ],
    )
    .await;
    assert!(wrong.is_empty(), "each invalid rotation is a 422 naming its field:\n{}", wrong.join("\n"));

    let rotations = audit_rows(&app, "integration.secret_rotated").await;
    let overlaps: Vec<&Value> = rotations.iter().map(|(_, after)| &after["overlap_seconds"]).collect();
    assert_eq!(overlaps, [&json!(3), &json!(0), &json!(86_400)]);
    let audit_text = format!("{rotations:?}");
    assert!(!audit_text.contains(&new_secret) && !audit_text.contains(given) && !audit_text.contains(&current));
}

#[tokio::test]
async fn a_disabled_integration_refuses_its_webhooks_and_cannot_be_rotated() {
    let app = spawn_app().await;
    let shop = tenant(&app, "Glow Store").await;
    let created = create(&app, &shop, json!({"kind": "generic"})).await;
    let store = signer(&created, IntegrationKind::Generic, created["secret"].as_str().expect("secret"));
    assert_eq!(generic_delivery(&app, &store).await, 202);
    let path = format!("/api/integrations/{}", store.integration_id);

    let disabled = json_with(shop.post(&app, &format!("{path}/disable"), &json!({})).await, 200).await;
    assert_eq!(disabled["status"], "disabled");
    assert!(disabled["disabled_at"].as_str().is_some());
    let refused = assert_problem(app.post_generic(&store, Utc::now().timestamp(), &generic_body()).await, 401).await;
    assert_eq!(refused["detail"], "Recete-Signature does not verify for this webhook URL", "like any bad signature");

    let again = json_with(shop.post(&app, &format!("{path}/disable"), &json!({})).await, 200).await;
    assert_eq!(again["disabled_at"], disabled["disabled_at"], "disabling twice changes nothing");
    assert_eq!(audit_rows(&app, "integration.disabled").await.len(), 1);
    assert_problem(shop.post(&app, &format!("{path}/rotate-secret"), &json!({})).await, 409).await;
    let listed = shop.get_json(&app, "/api/integrations?status=disabled").await;
    assert_eq!(ids(listed["integrations"].as_array().expect("list")), [store.integration_id.to_string()]);
    assert_eq!(app.event_count().await, 1, "nothing from the disabled integration was stored");
}

#[tokio::test]
async fn a_rotation_or_disable_by_another_process_reaches_this_one() {
    let app = spawn_app_with(|figment| figment.merge(("ingest.integration_cache_ttl_secs", 2))).await;
    let shop = tenant(&app, "Glow Store").await;
    let created = create(&app, &shop, json!({"kind": "generic"})).await;
    let store = signer(&created, IntegrationKind::Generic, created["secret"].as_str().expect("secret"));
    assert_eq!(generic_delivery(&app, &store).await, 202, "cached here now");

    // Another API process rotates the secret: this one has not forgotten its cached entry.
    let id: IntegrationId = store.integration_id;
    let mut tx = db::tenant_tx(&app.pool, shop.merchant).await.expect("tx");
    let rotated = integrations::rotate_secret(
        &mut tx,
        &app.keyring,
        id,
        Rotation { new_secret: None, overlap: chrono::Duration::zero() },
    )
    .await
    .expect("rotated")
    .expect("visible");
    tx.commit().await.expect("commit");
    let new = with_secret(&store, rotated.generated_secret.as_deref().expect("generated"));
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert!(accepted(generic_delivery(&app, &new).await), "a new secret is honoured before the cache entry expires");
    assert_eq!(generic_delivery(&app, &store).await, 401, "and the refreshed entry no longer knows the old one");

    let mut tx = db::tenant_tx(&app.pool, shop.merchant).await.expect("tx");
    assert_eq!(integrations::disable(&mut tx, id).await.expect("disabled"), Some(true));
    tx.commit().await.expect("commit");
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_problem(app.post_generic(&new, Utc::now().timestamp(), &generic_body()).await, 401).await;
}

#[tokio::test]
async fn another_merchants_integrations_answer_404_and_keep_working() {
    let app = spawn_app().await;
    let owner = tenant(&app, "Glow Store").await;
    let stranger = tenant(&app, "Other Store").await;
    let created = create(&app, &owner, json!({"kind": "shopify", "secret": SHOPIFY_SECRET})).await;
    let shop = signer(&created, IntegrationKind::Shopify, SHOPIFY_SECRET);
    let path = format!("/api/integrations/{}", shop.integration_id);
    let before = owner.get_json(&app, "/api/integrations?").await;

    assert_problem(stranger.post(&app, &format!("{path}/rotate-secret"), &json!({"overlap_seconds": 0})).await, 404)
        .await;
    assert_problem(stranger.post(&app, &format!("{path}/disable"), &json!({})).await, 404).await;
    assert_eq!(stranger.get_json(&app, "/api/integrations?").await["integrations"], json!([]));
    let missing = format!("/api/integrations/{}/disable", uuid::Uuid::now_v7());
    assert_problem(stranger.post(&app, &missing, &json!({})).await, 404).await;

    assert_eq!(owner.get_json(&app, "/api/integrations?").await, before);
    assert_eq!(shopify_delivery(&app, &shop).await, 202, "the original secret still verifies");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_log WHERE action LIKE 'integration.%' AND action <> 'integration.created'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn re_sealing_under_a_new_key_keeps_a_rotated_out_secret_verifying() {
    let app = spawn_app().await;
    let shop = tenant(&app, "Glow Store").await;
    let created = create(&app, &shop, json!({"kind": "shopify", "secret": SHOPIFY_SECRET})).await;
    let old = signer(&created, IntegrationKind::Shopify, SHOPIFY_SECRET);
    let rotate_path = format!("/api/integrations/{}/rotate-secret", old.integration_id);
    let rotated = json_with(shop.post(&app, &rotate_path, &json!({"overlap_seconds": 3600})).await, 200).await;
    let new_secret = rotated["secret"].as_str().expect("generated").to_owned();

    let new_key = "Pq0G3y8rZmG3qk2Q8m0w9b1m7n5r3t1v2x4z6c8e0g0=";
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_recete"))
        .args(["keys", "rotate"])
        .env("DATABASE_URL", app.db.app_url())
        .env(
            "RECETE__CRYPTO__KEYS",
            format!("{{dev-1=\"V9Vc3qhT+72RXDN4fudRtgKoeU6B+4fiWftwxACTK+k=\",dev-2=\"{new_key}\"}}"),
        )
        .env("RECETE__CRYPTO__ACTIVE_KEY_ID", "dev-2")
        .env("RECETE__LOG__FILTER", "warn")
        .output()
        .expect("recete runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["integrations"], 2, "the current and the rotated-out secret: {report}");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM integrations WHERE secret_key_id = 'dev-2' AND previous_secret_key_id = 'dev-2'"
        )
        .await,
        1
    );

    // Only the new key is left: both secrets still open, and both verify.
    let crypto: recete_platform::config::CryptoSettings = serde_json::from_value(json!({
        "active_key_id": "dev-2",
        "keys": {"dev-2": new_key},
        "lookup_key": "BzxC+rlEZCf5VID7fWW6s9kglaxSdM0YYl/57SGViLo="
    }))
    .expect("crypto settings");
    let keyring = std::sync::Arc::new(recete_platform::crypto::Keyring::from_settings(&crypto).expect("keyring"));
    let directory = integrations::IntegrationDirectory::new(app.pool.clone(), keyring, Duration::from_secs(30));
    let found = directory
        .find(&integrations::IntegrationLookup::Id(old.integration_id))
        .await
        .expect("lookup")
        .expect("active");
    assert!(found.previous_secret.is_some(), "the rotated-out secret opens under the new key");
    assert!(found.signed_with_any(Utc::now(), |secret| secret == SHOPIFY_SECRET.as_bytes()));
    assert!(found.signed_with_any(Utc::now(), |secret| secret == new_secret.as_bytes()));
}

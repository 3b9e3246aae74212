//! Registering, changing, rotating and deleting endpoints; what a URL may be; and one merchant's
//! endpoints staying out of another's reach.

use serde_json::json;

use super::{register, spawn_webhook_app};
use crate::helpers::{assert_problem, spawn_app};
use crate::merchant_api::{json_with, tenant};

#[tokio::test]
async fn an_endpoint_is_registered_changed_rotated_and_deleted_with_its_secret_shown_only_when_made() {
    let app = spawn_webhook_app().await;
    let shop = tenant(&app, "Serum Shop").await;
    let created = json_with(
        shop.post(
            &app,
            "/api/webhook-endpoints",
            &json!({"url": "http://127.0.0.1:9/hooks", "event_types": ["customer.opted_out", "customer.opted_out"],
                    "description": "CRM"}),
        )
        .await,
        201,
    )
    .await;
    let secret = created["secret"].as_str().expect("secret");
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "{secret}");
    let endpoint = &created["webhook_endpoint"];
    let id = endpoint["id"].as_str().expect("id");
    assert_eq!(endpoint["event_types"], json!(["customer.opted_out"]), "duplicates are dropped");
    assert_eq!(endpoint["enabled"], true);
    assert_eq!(endpoint["description"], "CRM");

    let listed = shop.get_json(&app, "/api/webhook-endpoints").await;
    assert_eq!(listed["webhook_endpoints"].as_array().map(Vec::len), Some(1));
    assert!(!listed.to_string().contains(secret), "the secret is never listed");
    assert!(!shop.get_json(&app, &format!("/api/webhook-endpoints/{id}")).await.to_string().contains("whsec_"));

    let changed = json_with(
        shop.patch(
            &app,
            &format!("/api/webhook-endpoints/{id}"),
            &json!({"event_types": ["message.failed", "import.completed"], "enabled": false, "description": null}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["event_types"], json!(["message.failed", "import.completed"]));
    assert_eq!(
        (changed["enabled"].clone(), changed["disabled_reason"].clone()),
        (json!(false), json!("disabled by the merchant"))
    );
    assert_eq!(changed["description"], json!(null));
    let enabled =
        json_with(shop.patch(&app, &format!("/api/webhook-endpoints/{id}"), &json!({"enabled": true})).await, 200)
            .await;
    assert_eq!((enabled["enabled"].clone(), enabled["disabled_reason"].clone()), (json!(true), json!(null)));

    let rotated =
        json_with(shop.post(&app, &format!("/api/webhook-endpoints/{id}/rotate-secret"), &json!({})).await, 200).await;
    let new_secret = rotated["secret"].as_str().expect("new secret");
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    let overlap_ends: chrono::DateTime<chrono::Utc> =
        rotated["previous_secret_expires_at"].as_str().expect("overlap end").parse().expect("a time");
    let hours = (overlap_ends - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!((23.9..=24.0).contains(&hours), "the old secret signs for 24 h: {hours}");

    for (body, field) in [
        (json!({"url": "ftp://example.com/x", "event_types": ["message.failed"]}), "url"),
        (json!({"url": "not a url", "event_types": ["message.failed"]}), "url"),
        (json!({"url": "http://user:pw@127.0.0.1:9/x", "event_types": ["message.failed"]}), "url"),
        (json!({"url": "http://127.0.0.1:9/x", "event_types": []}), "event_types"),
        (json!({"url": "http://127.0.0.1:9/x", "event_types": ["order.created"]}), "event_types[0]"),
        (json!({"event_types": ["message.failed"]}), "url"),
    ] {
        let problem = assert_problem(shop.post(&app, "/api/webhook-endpoints", &body).await, 422).await;
        assert_eq!(problem["field"], field, "{body}: {problem}");
    }

    assert_eq!(shop.delete(&app, &format!("/api/webhook-endpoints/{id}")).await.status(), 204);
    assert_problem(shop.get(&app, &format!("/api/webhook-endpoints/{id}")).await, 404).await;
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE subject_type = 'webhook_endpoint'").await,
        5,
        "created, two changes, rotated, deleted"
    );
}

#[tokio::test]
async fn another_merchants_endpoint_is_invisible() {
    let app = spawn_webhook_app().await;
    let owner = tenant(&app, "Owner").await;
    let other = tenant(&app, "Other").await;
    let (id, _) = register(&app, &owner, "http://127.0.0.1:9/hooks", &["customer.opted_out"]).await;
    let delivery = uuid::Uuid::now_v7();

    assert_eq!(other.get_json(&app, "/api/webhook-endpoints").await, json!({"webhook_endpoints": []}));
    assert_problem(other.get(&app, &format!("/api/webhook-endpoints/{id}")).await, 404).await;
    assert_problem(other.patch(&app, &format!("/api/webhook-endpoints/{id}"), &json!({"enabled": false})).await, 404)
        .await;
    assert_problem(other.post(&app, &format!("/api/webhook-endpoints/{id}/rotate-secret"), &json!({})).await, 404)
        .await;
    assert_problem(other.get(&app, &format!("/api/webhook-endpoints/{id}/deliveries")).await, 404).await;
    assert_problem(
        other.post(&app, &format!("/api/webhook-endpoints/{id}/deliveries/{delivery}/retry"), &json!({})).await,
        404,
    )
    .await;
    assert_problem(other.delete(&app, &format!("/api/webhook-endpoints/{id}")).await, 404).await;
    let mine = owner.get_json(&app, &format!("/api/webhook-endpoints/{id}")).await;
    assert_eq!(mine["enabled"], true, "the owner's endpoint is untouched");
}

#[tokio::test]
async fn private_loopback_and_link_local_urls_are_refused_outside_the_test_allowance() {
    let app = spawn_app().await;
    let shop = tenant(&app, "Serum Shop").await;
    for (url, reason) in [
        ("http://127.0.0.1:8080/hooks", "loopback"),
        ("http://localhost:8080/hooks", "loopback"),
        ("http://[::1]:8080/hooks", "loopback"),
        ("https://10.1.2.3/hooks", "private"),
        ("https://192.168.0.10/hooks", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[fe80::1]/hooks", "link-local"),
        ("https://[::ffff:10.0.0.1]/hooks", "private"),
    ] {
        let problem = assert_problem(
            shop.post(&app, "/api/webhook-endpoints", &json!({"url": url, "event_types": ["message.failed"]})).await,
            422,
        )
        .await;
        assert_eq!(problem["field"], "url", "{url}: {problem}");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(reason), "{url}: {detail}");
    }
    assert_eq!(app.count("SELECT count(*) FROM webhook_endpoints").await, 0);

    // The test allowance admits loopback only: private ranges stay refused.
    let allowed = spawn_webhook_app().await;
    let shop = tenant(&allowed, "Serum Shop").await;
    register(&allowed, &shop, "http://127.0.0.1:8080/hooks", &["message.failed"]).await;
    let problem = assert_problem(
        shop.post(
            &allowed,
            "/api/webhook-endpoints",
            &json!({"url": "https://10.1.2.3/hooks", "event_types": ["message.failed"]}),
        )
        .await,
        422,
    )
    .await;
    assert!(problem["detail"].as_str().unwrap_or_default().contains("private"), "{problem}");
}

/// The development keys every test app seals with, and a new key to rotate to.
const DEVELOPMENT_KEY: &str = "V9Vc3qhT+72RXDN4fudRtgKoeU6B+4fiWftwxACTK+k=";
const DEVELOPMENT_LOOKUP_KEY: &str = "BzxC+rlEZCf5VID7fWW6s9kglaxSdM0YYl/57SGViLo=";
const NEW_KEY: &str = "Pq0G3y8rZmG3qk2Q8m0w9b1m7n5r3t1v2x4z6c8e0g0=";

fn keyring(keys: serde_json::Value) -> recete_platform::crypto::Keyring {
    let crypto: recete_platform::config::CryptoSettings = serde_json::from_value(json!({
        "active_key_id": "k-2", "keys": keys,
        "active_lookup_key_id": "dev-lookup-1", "lookup_keys": { "dev-lookup-1": DEVELOPMENT_LOOKUP_KEY },
    }))
    .expect("crypto settings");
    recete_platform::crypto::Keyring::from_settings(&crypto).expect("keyring")
}

#[tokio::test]
async fn endpoint_secrets_are_resealed_by_a_key_rotation_and_still_sign_the_same() {
    let app = spawn_webhook_app().await;
    let shop = tenant(&app, "Serum Shop").await;
    let (id, first) = register(&app, &shop, "http://127.0.0.1:9/hooks", &["message.failed"]).await;
    let rotated =
        json_with(shop.post(&app, &format!("/api/webhook-endpoints/{id}/rotate-secret"), &json!({})).await, 200).await;
    let second = rotated["secret"].as_str().expect("secret").to_owned();

    let during = keyring(json!({ "dev-1": DEVELOPMENT_KEY, "k-2": NEW_KEY }));
    let report = recete_privacy::key_rotation::rotate_all(&app.pool, &during).await.expect("rotation");
    assert_eq!(report.webhook_endpoints, 2, "the current and the overlapping secret");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM webhook_endpoints WHERE secret_key_id = 'k-2' AND previous_secret_key_id = 'k-2'"
        )
        .await,
        1
    );

    let after = keyring(json!({ "k-2": NEW_KEY }));
    let endpoint = uuid::Uuid::parse_str(&id).expect("uuid");
    let mut tx = recete_platform::db::tenant_tx(&app.pool, shop.merchant).await.expect("tx");
    let signing = recete_shared::webhooks::endpoints::for_signing(&mut tx, &after, shop.merchant, endpoint)
        .await
        .expect("secrets open with the new key alone")
        .expect("the endpoint");
    tx.commit().await.expect("commit");
    let secrets: Vec<String> = signing.secrets.iter().map(|secret| secret.expose()).collect();
    assert_eq!(secrets, vec![second, first]);
}

#[tokio::test]
async fn the_openapi_document_has_every_route_and_every_event_payload() {
    let app = spawn_app().await;
    let document: serde_json::Value =
        app.client.get(app.url("/openapi.json")).send().await.expect("request").json().await.expect("JSON");
    for path in [
        "/api/webhook-endpoints",
        "/api/webhook-endpoints/{endpoint_id}",
        "/api/webhook-endpoints/{endpoint_id}/rotate-secret",
        "/api/webhook-endpoints/{endpoint_id}/deliveries",
        "/api/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry",
    ] {
        assert!(document["paths"][path].is_object(), "{path} is not documented");
    }
    for schema in [
        "EventEnvelope",
        "EventType",
        "HandedOver",
        "MessageReceived",
        "OptedOut",
        "MessageFailed",
        "ImportCompleted",
        "PrivacyRequestCompleted",
        "MaskedContact",
    ] {
        assert!(document["components"]["schemas"][schema].is_object(), "{schema} is not documented");
    }
    let types = &document["components"]["schemas"]["EventType"]["enum"];
    assert_eq!(types.as_array().map(Vec::len), Some(6), "{types}");
}

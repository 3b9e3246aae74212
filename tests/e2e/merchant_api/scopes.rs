//! API key scopes, default expiry and revocation with the keys a key made: a read key changes
//! nothing, a write key cannot touch credentials, no key grants what it lacks, and revoking a
//! key revokes its descendants.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::{Tenant, json_with, tenant};
use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_with};

async fn make_key(app: &TestApp, maker: &Tenant, body: Value) -> (Tenant, Value) {
    let created = json_with(maker.post(app, "/api/api-keys", &body).await, 201).await;
    let key = Tenant { merchant: maker.merchant, key: created["key"].as_str().expect("key").to_owned() };
    (key, created["api_key"].clone())
}

async fn forbidden(response: reqwest::Response, scope: &str) {
    let problem = assert_problem(response, 403).await;
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains(&format!("`{scope}` scope"))), "{problem}");
}

fn timestamp(value: &Value) -> DateTime<Utc> {
    value.as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()).expect("a timestamp").with_timezone(&Utc)
}

#[tokio::test]
async fn a_read_key_changes_nothing_and_a_write_key_cannot_touch_credentials() {
    let app = spawn_app().await;
    let shop = tenant(&app, "Glow Store").await;
    let (reader, read_key) = make_key(&app, &shop, json!({"name": "dashboard", "scopes": ["read"]})).await;
    assert_eq!(read_key["scopes"], json!(["read"]));
    let (writer, write_key) = make_key(&app, &shop, json!({"name": "sync"})).await;
    assert_eq!(write_key["scopes"], json!(["read", "write"]), "new keys get read and write unless they ask");
    let expires_in = timestamp(&write_key["expires_at"]) - Utc::now();
    assert!(expires_in > Duration::days(89) && expires_in <= Duration::days(90), "default expiry: {write_key}");
    let settings_before = shop.get_json(&app, "/api/settings").await;

    let product = json!({"sku": "SERUM-1", "title": "Night serum"});
    assert_eq!(reader.get(&app, "/api/products").await.status(), 200, "a read key reads");
    forbidden(reader.post(&app, "/api/products", &product).await, "write").await;
    forbidden(reader.patch(&app, "/api/settings", &json!({"timezone": "UTC"})).await, "write").await;
    let upload = app
        .client
        .post(app.url("/api/imports/orders"))
        .bearer_auth(&reader.key)
        .header("content-type", "text/csv")
        .body("order_id,email,status\n1001,ada@example.com,paid\n")
        .send()
        .await
        .expect("sent");
    forbidden(upload, "write").await;
    forbidden(reader.post(&app, "/api/api-keys", &json!({"name": "escalate"})).await, "admin").await;
    assert_eq!(app.count("SELECT count(*) FROM products").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM imports").await, 0);
    assert_eq!(shop.get_json(&app, "/api/settings").await, settings_before, "settings unchanged");

    json_with(writer.post(&app, "/api/products", &product).await, 201).await;
    forbidden(writer.post(&app, "/api/api-keys", &json!({"name": "escalate", "scopes": ["admin"]})).await, "admin")
        .await;
    forbidden(writer.get(&app, "/api/api-keys").await, "admin").await;
    let shop_key_id: String = sqlx::query_scalar("SELECT id::text FROM api_keys WHERE name = 'default'")
        .fetch_one(&app.admin)
        .await
        .expect("id");
    forbidden(writer.delete(&app, &format!("/api/api-keys/{shop_key_id}")).await, "admin").await;
    forbidden(writer.post(&app, "/api/integrations", &json!({"kind": "generic"})).await, "admin").await;
    assert_eq!(writer.get(&app, "/api/integrations").await.status(), 200, "integrations can be read");
    assert_eq!(app.count("SELECT count(*) FROM api_keys").await, 3, "no key made");
    assert_eq!(app.count("SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM integrations").await, 0);
    assert_eq!(shop.get(&app, "/api/orders").await.status(), 200, "the merchant's own key still works");

    // A key grants only what it holds: an admin-only key manages keys but cannot mint a writer.
    let (admin_only, _) = make_key(&app, &shop, json!({"name": "key manager", "scopes": ["admin"]})).await;
    forbidden(admin_only.get(&app, "/api/orders").await, "read").await;
    let escalation = assert_problem(
        admin_only.post(&app, "/api/api-keys", &json!({"name": "writer", "scopes": ["read", "write"]})).await,
        422,
    )
    .await;
    assert_eq!(escalation["field"], "scopes");
    make_key(&app, &admin_only, json!({"name": "another manager", "scopes": ["admin"]})).await;
    assert_eq!(app.count("SELECT count(*) FROM api_keys").await, 5);
}

#[tokio::test]
async fn revoking_a_key_revokes_every_key_it_made_and_no_other() {
    let app = spawn_app().await;
    let shop = tenant(&app, "Glow Store").await;
    let parent_expiry = Utc::now() + Duration::days(10);
    let (parent, parent_key) = make_key(
        &app,
        &shop,
        json!({
            "name": "agency",
            "scopes": ["read", "write", "admin"],
            "expires_at": parent_expiry.to_rfc3339_opts(SecondsFormat::Secs, true),
        }),
    )
    .await;
    let (child, child_key) =
        make_key(&app, &parent, json!({"name": "agency intern", "scopes": ["read", "admin"]})).await;
    assert_eq!(child_key["created_by_key_id"], parent_key["id"]);
    assert_eq!(
        timestamp(&child_key["expires_at"]),
        timestamp(&parent_key["expires_at"]),
        "a key made by a key never outlives it"
    );
    let too_late = (parent_expiry + Duration::days(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let outliving = assert_problem(
        parent.post(&app, "/api/api-keys", &json!({"name": "forever", "expires_at": too_late})).await,
        422,
    )
    .await;
    assert_eq!(outliving["field"], "expires_at");
    let (grandchild, _) = make_key(&app, &child, json!({"name": "script", "scopes": ["read"]})).await;
    let (sibling, _) = make_key(&app, &shop, json!({"name": "warehouse", "scopes": ["read"]})).await;

    let parent_id = parent_key["id"].as_str().expect("id");
    let revoked = json_with(shop.delete(&app, &format!("/api/api-keys/{parent_id}")).await, 200).await;
    assert_eq!(revoked["revoked_calling_key"], false);
    let mut descendants: Vec<&str> =
        revoked["revoked_descendants"].as_array().expect("list").iter().filter_map(Value::as_str).collect();
    descendants.sort_unstable();
    assert_eq!(descendants.len(), 2, "{revoked}");
    assert!(descendants.contains(&child_key["id"].as_str().expect("id")));

    for (name, key) in [("parent", &parent), ("child", &child), ("grandchild", &grandchild)] {
        let refused = key.get(&app, "/api/orders").await;
        assert_eq!(refused.status(), 401, "the {name} key is revoked");
    }
    assert_eq!(sibling.get(&app, "/api/orders").await.status(), 200, "a key the parent did not make still works");
    assert_eq!(shop.get(&app, "/api/orders").await.status(), 200);
    assert_eq!(app.count("SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL").await, 3);
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE action = 'api_key.revoked'").await, 3);
}

#[tokio::test]
async fn with_no_default_expiry_a_key_lives_as_long_as_its_maker() {
    let app = spawn_app_with(|figment| figment.merge(("api.default_key_expiry_days", 0))).await;
    let shop = tenant(&app, "Glow Store").await;
    let (_, key) = make_key(&app, &shop, json!({"name": "long-lived"})).await;
    assert_eq!(key["expires_at"], Value::Null, "the operator's key never expires, so neither does this one");
}

//! API keys: created with a name and an optional expiry and shown once, listed without secrets,
//! refused once expired or revoked, and other merchants' keys out of reach.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use recete_shared::api_keys;
use serde_json::json;

use super::{Tenant, assert_malformed_id, every_page, ids, json_with, misnamed_fields, tenant};
use crate::helpers::{assert_problem, spawn_app};

fn key_tenant(tenant: &Tenant, key: &str) -> Tenant {
    Tenant { merchant: tenant.merchant, key: key.to_owned() }
}

#[tokio::test]
async fn a_key_is_shown_once_listed_without_its_secret_and_its_fields_are_checked() {
    let app = spawn_app().await;
    let shop = tenant(&app, "Glow Store").await;

    let expires_at = (Utc::now() + chrono::Duration::days(30)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let created = json_with(
        shop.post(
            &app,
            "/api/api-keys",
            &json!({"name": "warehouse sync", "expires_at": expires_at, "scopes": ["read", "write", "admin"]}),
        )
        .await,
        201,
    )
    .await;
    let key = created["key"].as_str().expect("the key, shown once").to_owned();
    assert!(api_keys::is_well_formed(&key), "{key}");
    assert!(key.starts_with("rk_live_"));
    assert_eq!(created["api_key"]["name"], "warehouse sync");
    assert_eq!(created["api_key"]["state"], "active");
    assert_eq!(created["api_key"]["expires_at"].as_str().map(|t| &t[..19]), Some(&expires_at[..19]));
    assert!(key.starts_with(created["api_key"]["display_prefix"].as_str().expect("prefix")));

    let warehouse = key_tenant(&shop, &key);
    let listed = warehouse.get_json(&app, "/api/api-keys").await;
    let text = listed.to_string();
    assert!(!text.contains(&key) && !text.contains(&shop.key), "never a key in a list");
    assert!(!text.contains("hash"));
    let keys = listed["api_keys"].as_array().expect("list");
    assert_eq!(keys.len(), 2);
    assert!(keys[0]["last_used_at"].as_str().is_some(), "the new key was just used: {listed}");

    for _ in 0..4 {
        json_with(shop.post(&app, "/api/api-keys", &json!({"name": "ci"})).await, 201).await;
    }
    let every = every_page(&app, &shop, "/api/api-keys?", "api_keys", 2).await;
    assert_eq!(every.len(), 6);
    assert_eq!(ids(&every).iter().collect::<HashSet<_>>().len(), 6, "no key twice");

    let wrong = misnamed_fields(
        &app,
        &shop,
        reqwest::Method::POST,
        "/api/api-keys",
        vec![
            (json!({}), "name"),
            (json!({"name": "  "}), "name"),
            (json!({"name": "x".repeat(101)}), "name"),
            (json!({"name": "ci", "expires_at": "2020-01-01T00:00:00Z"}), "expires_at"),
            (
                json!({"name": "ci", "expires_at": (Utc::now() + chrono::Duration::days(800)).to_rfc3339()}),
                "expires_at",
            ),
            (json!({"name": "ci", "expires_at": "next week"}), "expires_at"),
            (json!({"name": "ci", "scopes": []}), "scopes"),
            (json!({"name": "ci", "colour": "red"}), "colour"),
        ],
    )
    .await;
    assert!(wrong.is_empty(), "each invalid key is a 422 naming its field:\n{}", wrong.join("\n"));
    assert_eq!(app.count("SELECT count(*) FROM api_keys").await, 6);
    let audited =
        app.count("SELECT count(*) FROM audit_log WHERE action = 'api_key.created' AND actor LIKE 'api-key:%'");
    assert_eq!(audited.await, 5);
}

#[tokio::test]
async fn an_expired_key_is_refused() {
    let app = spawn_app().await;
    let shop = tenant(&app, "Glow Store").await;
    let expires_at = Utc::now() + chrono::Duration::seconds(2);
    let created = json_with(
        shop.post(
            &app,
            "/api/api-keys",
            &json!({"name": "short-lived", "expires_at": expires_at.to_rfc3339_opts(SecondsFormat::Millis, true)}),
        )
        .await,
        201,
    )
    .await;
    let short_lived = key_tenant(&shop, created["key"].as_str().expect("key"));
    assert_eq!(short_lived.get(&app, "/api/orders").await.status(), 200);

    let left = (expires_at - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(200)).await;
    let refused = assert_problem(short_lived.get(&app, "/api/orders").await, 401).await;
    assert!(refused["detail"].as_str().is_some_and(|d| d.contains("expired")), "{refused}");
    let expired = shop.get_json(&app, "/api/api-keys?state=expired").await;
    assert_eq!(ids(expired["api_keys"].as_array().expect("list")), [created["api_key"]["id"].as_str().expect("id")]);
    let active = shop.get_json(&app, "/api/api-keys?state=active").await;
    assert_eq!(active["api_keys"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn revoked_keys_stop_working_even_the_one_revoking_itself() {
    let app = spawn_app().await;
    let shop = tenant(&app, "Glow Store").await;
    let second = json_with(shop.post(&app, "/api/api-keys", &json!({"name": "second"})).await, 201).await;
    let second_key = key_tenant(&shop, second["key"].as_str().expect("key"));
    let second_id = second["api_key"]["id"].as_str().expect("id").to_owned();

    let revoked = json_with(shop.delete(&app, &format!("/api/api-keys/{second_id}")).await, 200).await;
    assert_eq!(revoked["revoked_calling_key"], false);
    assert_eq!(revoked["api_key"]["state"], "revoked");
    assert_problem(second_key.get(&app, "/api/api-keys").await, 401).await;
    let again = json_with(shop.delete(&app, &format!("/api/api-keys/{second_id}")).await, 200).await;
    assert_eq!(again["api_key"]["revoked_at"], revoked["api_key"]["revoked_at"], "revoking twice changes nothing");

    let own_id = shop.get_json(&app, "/api/api-keys?state=active").await["api_keys"][0]["id"]
        .as_str()
        .expect("the first key")
        .to_owned();
    let own = json_with(shop.delete(&app, &format!("/api/api-keys/{own_id}")).await, 200).await;
    assert_eq!(own["revoked_calling_key"], true, "the response says the calling key is gone");
    assert_problem(shop.get(&app, "/api/api-keys").await, 401).await;

    let audit: Vec<(String, String)> =
        sqlx::query_as("SELECT actor, subject_id FROM audit_log WHERE action = 'api_key.revoked' ORDER BY id")
            .fetch_all(&app.admin)
            .await
            .expect("audit");
    assert_eq!(audit, [(format!("api-key:{own_id}"), second_id), (format!("api-key:{own_id}"), own_id.clone())]);
}

#[tokio::test]
async fn another_merchants_key_cannot_be_revoked_or_seen() {
    let app = spawn_app().await;
    let owner = tenant(&app, "Glow Store").await;
    let stranger = tenant(&app, "Other Store").await;
    let owner_keys = owner.get_json(&app, "/api/api-keys").await;
    let owner_key_id = owner_keys["api_keys"][0]["id"].as_str().expect("id").to_owned();

    assert_problem(stranger.delete(&app, &format!("/api/api-keys/{owner_key_id}")).await, 404).await;
    assert_problem(stranger.delete(&app, &format!("/api/api-keys/{}", uuid::Uuid::now_v7())).await, 404).await;
    assert_malformed_id(stranger.delete(&app, "/api/api-keys/not-a-uuid").await).await;
    let seen = stranger.get_json(&app, "/api/api-keys").await;
    assert!(!ids(seen["api_keys"].as_array().expect("list")).contains(&owner_key_id));
    assert_eq!(owner.get(&app, "/api/api-keys").await.status(), 200, "the owner's key still works");
    assert_eq!(app.count("SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL").await, 0);
}

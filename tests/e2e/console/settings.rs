//! The settings page: an owner changes the sending rules and the follow-up plan (errors shown
//! next to their fields, nothing half-saved), connects a store and rotates its secret (shown
//! once; the old one works for the overlap chosen and no longer), makes and revokes API keys,
//! adds webhook endpoints; agents read but may not change; another merchant's ids are not found.

use recete_console::users::Role;
use recete_platform::db;
use recete_platform::ids::{IntegrationId, MerchantId};
use recete_shared::integrations::{CreatedIntegration, IntegrationKind};
use recete_shared::merchant_events::EventType;
use recete_shared::merchants;
use recete_shared::webhooks::endpoints::{self, NewEndpoint};
use reqwest::StatusCode;
use reqwest::header::COOKIE;

use super::{ConsoleApp, Session, spawn_console, spawn_console_with};
use crate::helpers::fixture;

const OWNER: &str = "owner@shop.example";

/// The settings form as the page fills it for the default settings, with `changes` on top.
fn form_with<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("timezone", "Europe/Istanbul"),
        ("quiet_hours.start", "21:00"),
        ("quiet_hours.end", "09:00"),
        ("frequency_cap.max_messages", "1"),
        ("frequency_cap.per_hours", "24"),
        ("attribution_window_days", "7"),
        ("follow_up_plan[0].key", "t3"),
        ("follow_up_plan[0].offset_hours", "72"),
        ("follow_up_plan[0].template.name", "recete_how_to_use"),
        ("follow_up_plan[0].template.language", "en"),
        ("follow_up_plan[0].template.category", "utility"),
        ("follow_up_plan[0].template.parameters", "customer_first_name, product_title"),
        ("follow_up_plan[0].window_text", "How is your order going? Reply here with any question about using it."),
        ("follow_up_plan[1].key", "t14"),
        ("follow_up_plan[1].offset_hours", "336"),
        ("follow_up_plan[1].template.name", "recete_check_in"),
        ("follow_up_plan[1].template.language", "en"),
        ("follow_up_plan[1].template.category", "utility"),
        ("follow_up_plan[1].template.parameters", "customer_first_name, product_title"),
        ("follow_up_plan[1].window_text", "Two weeks in: how do you like it? Reply if you need help or a refill."),
    ];
    for &(name, value) in changes {
        match fields.iter_mut().find(|(field, _)| *field == name) {
            Some(slot) => slot.1 = value,
            None => fields.push((name, value)),
        }
    }
    fields
}

async fn stored(console: &ConsoleApp, merchant: MerchantId) -> (String, merchants::MerchantSettings) {
    let mut tx = db::tenant_tx(&console.app.pool, merchant).await.expect("tenant transaction");
    let profile = merchants::profile(&mut tx, merchant, false).await.expect("profile").expect("merchant");
    tx.commit().await.expect("committed");
    (profile.timezone, profile.settings)
}

/// The text between `id="shown-secret">` and the next `<`: a secret shown once.
fn shown_secret(page: &str) -> String {
    let marker = r#"id="shown-secret">"#;
    let start = page.find(marker).expect("the page shows a secret") + marker.len();
    page[start..].split('<').next().expect("the secret ends").to_owned()
}

/// The error paragraph of field `id` sits after that field's input and before the next field's.
fn error_beside(page: &str, name: &str, next_name: &str, error_id: &str) -> String {
    let input = page.find(&format!(r#"name="{name}""#)).expect("the field");
    let error = page.find(&format!(r#"id="{error_id}""#)).expect("the field's error");
    let next = page.find(&format!(r#"name="{next_name}""#)).expect("the next field");
    assert!(input < error && error < next, "the error of {name} is beside its field");
    page[error..].split_once('>').expect("tag").1.split('<').next().expect("text").to_owned()
}

#[tokio::test]
async fn an_owner_saves_the_settings_and_the_change_is_audited_as_the_user() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await;
    let owner = console.user(merchant, OWNER, Role::Owner).await;

    let page = console.get_html(&owner, "/console/settings").await;
    assert!(page.contains(r#"value="Europe/Istanbul""#), "the stored time zone");
    assert!(page.contains(r#"value="recete_check_in""#), "the stored plan");
    assert!(page.contains(r#"href="/console/settings/users""#), "the users page is linked");
    assert!(page.contains(r#"href="/console/settings" aria-current="page""#), "Settings is in the navigation");

    let changes = form_with(&[
        ("timezone", "Europe/Berlin"),
        ("quiet_hours.start", "22:30"),
        ("frequency_cap.max_messages", "2"),
        ("frequency_cap.per_hours", "48"),
        ("attribution_window_days", "14"),
        ("follow_up_plan[1].offset_hours", "240"),
        ("follow_up_plan[1].template.language", "de"),
        ("follow_up_plan[1].template.parameters", "order_number"),
        ("op", "save"),
    ]);
    let saved = console.post(&owner, "/console/settings", &changes).await;
    assert_eq!(saved.status(), StatusCode::OK);
    assert!(saved.text().await.expect("page").contains("Settings saved."));
    let (timezone, settings) = stored(&console, merchant).await;
    assert_eq!(timezone, "Europe/Berlin");
    assert_eq!(settings.quiet_hours.start.to_string(), "22:30:00");
    assert_eq!((settings.frequency_cap.max_messages, settings.frequency_cap.per_hours), (2, 48));
    assert_eq!(settings.attribution_window_days, 14);
    let step = &settings.follow_up_plan[1];
    assert_eq!((step.offset_hours, step.template.language.as_str()), (240, "de"));
    assert_eq!(step.template.parameters.len(), 1);

    let audited = console.audited("merchant.settings_changed").await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0].0, format!("user:{OWNER}"));
    let (before, after): (serde_json::Value, serde_json::Value) =
        sqlx::query_as("SELECT before, after FROM audit_log WHERE action = 'merchant.settings_changed'")
            .fetch_one(&console.app.admin)
            .await
            .expect("audit row");
    assert_eq!(before["timezone"], "Europe/Istanbul");
    assert_eq!(after["timezone"], "Europe/Berlin");
    assert!(after.get("stale_delivery_hours").is_none(), "only what changed is recorded: {after}");

    // Reordering, adding and removing steps edit the form without saving; saving keeps the order.
    let moved = console.post(&owner, "/console/settings", &form_with(&[("op", "up-1")])).await;
    assert_eq!(moved.status(), StatusCode::OK);
    let page = moved.text().await.expect("page");
    assert!(page.find(r#"value="t14""#) < page.find(r#"value="t3""#), "t14 moved up");
    let added = console.post(&owner, "/console/settings", &form_with(&[("op", "add")])).await;
    assert!(added.text().await.expect("page").contains(r#"name="follow_up_plan[2].key""#), "a third step");
    assert_eq!(stored(&console, merchant).await.1.follow_up_plan.len(), 2, "edits alone save nothing");
    let swapped = form_with(&[
        ("follow_up_plan[0].key", "t14"),
        ("follow_up_plan[0].offset_hours", "336"),
        ("follow_up_plan[1].key", "t3"),
        ("follow_up_plan[1].offset_hours", "72"),
        ("timezone", "Europe/Berlin"),
        ("op", "remove-1"),
    ]);
    let removed = console.post(&owner, "/console/settings", &swapped).await;
    assert!(!removed.text().await.expect("page").contains(r#"name="follow_up_plan[1].key""#), "step removed");
}

#[tokio::test]
async fn a_bad_quiet_hours_value_or_plan_step_is_shown_beside_its_field_and_changes_nothing() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await;
    let owner = console.user(merchant, OWNER, Role::Owner).await;

    let refused = console
        .post(&owner, "/console/settings", &form_with(&[("timezone", "Europe/Berlin"), ("quiet_hours.start", "25:00")]))
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let page = refused.text().await.expect("page");
    let error = error_beside(&page, "quiet_hours.start", "quiet_hours.end", "quiet_hours-start-error");
    assert_eq!(error, "Quiet from must be a time of day as HH:MM, for example 21:00.");
    assert!(page.contains(r#"aria-describedby="quiet_hours-start-error""#), "the field points at its error");
    assert!(page.contains(r#"value="25:00""#), "what was typed is kept");
    assert!(page.contains("The settings were not saved"));

    let refused =
        console.post(&owner, "/console/settings", &form_with(&[("follow_up_plan[1].offset_hours", "0")])).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let page = refused.text().await.expect("page");
    let error = error_beside(
        &page,
        "follow_up_plan[1].offset_hours",
        "follow_up_plan[1].template.name",
        "follow_up_plan-1-offset_hours-error",
    );
    assert_eq!(error, "Hours after delivery must be between 1 and 8760 hours.");

    let refused = console
        .post(&owner, "/console/settings", &form_with(&[("follow_up_plan[0].template.name", "How To Use")]))
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let page = refused.text().await.expect("page");
    let error = error_beside(
        &page,
        "follow_up_plan[0].template.name",
        "follow_up_plan[0].template.language",
        "follow_up_plan-0-template-name-error",
    );
    assert!(error.starts_with("WhatsApp template name must be a WhatsApp template name"), "{error}");

    let (timezone, settings) = stored(&console, merchant).await;
    assert_eq!(timezone, "Europe/Istanbul", "nothing changed");
    assert_eq!(settings, merchants::MerchantSettings::default(), "nothing changed");
    assert!(console.audited("merchant.settings_changed").await.is_empty());
}

#[tokio::test]
async fn an_agent_reads_the_settings_but_changing_them_is_refused_naming_the_role() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await;
    let agent = console.user(merchant, "agent@shop.example", Role::Agent).await;

    let page = console.get_html(&agent, "/console/settings").await;
    assert!(page.contains("<fieldset disabled>"), "the form is read-only");
    assert!(page.contains("Only owners change settings"));

    for (path, fields, action) in [
        ("/console/settings", form_with(&[("timezone", "Europe/Berlin")]), "Changing the settings"),
        ("/console/settings/api-keys", vec![("name", "sync"), ("scope", "read")], "Making an API key"),
        ("/console/settings/integrations", vec![("kind", "woocommerce")], "Connecting a store"),
    ] {
        let refused = console.post(&agent, path, &fields).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
        let text = refused.text().await.expect("page");
        assert!(text.contains(&format!("{action} needs the owner role; you are signed in as agent.")), "{text}");
    }
    assert_eq!(stored(&console, merchant).await.0, "Europe/Istanbul", "nothing changed");
    let integrations: i64 =
        sqlx::query_scalar("SELECT count(*) FROM integrations").fetch_one(&console.app.admin).await.expect("count");
    assert_eq!(integrations, 0);
}

async fn post_woo(console: &ConsoleApp, id: IntegrationId, secret: &str, delivery: &str) -> StatusCode {
    let integration = CreatedIntegration {
        integration_id: id,
        kind: IntegrationKind::WooCommerce,
        secret: secret.to_owned(),
        webhook_path: format!("/webhooks/commerce/woocommerce/{id}"),
        verify_token: None,
    };
    let body = fixture("woocommerce_order_updated.json");
    console.app.post_woocommerce(&integration, "order.updated", delivery, &body).await.status()
}

#[tokio::test]
async fn a_store_integration_shows_its_webhook_url_and_rotation_shows_a_new_secret_once() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await;
    let owner = console.user(merchant, OWNER, Role::Owner).await;

    let created = console.post(&owner, "/console/settings/integrations", &[("kind", "woocommerce")]).await;
    assert_eq!(created.status(), StatusCode::OK);
    let page = created.text().await.expect("page");
    let first_secret = shown_secret(&page);
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM integrations WHERE merchant_id = $1")
        .bind(merchant)
        .fetch_one(&console.app.admin)
        .await
        .expect("integration row");
    let id = IntegrationId::from_uuid(id);
    let url = format!("{}/webhooks/commerce/woocommerce/{id}", console.app.settings.app.public_url);
    assert!(page.contains(&format!(r#"id="url-{id}">{url}</code>"#)), "the URL is selectable text");
    assert!(page.contains(&format!(r#"data-copy="url-{id}""#)), "with a copy button");
    assert!(page.contains(r#"<script src="/console/assets/copy.js" defer></script>"#));
    let script = console.get(&owner, "/console/assets/copy.js").await;
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.text().await.expect("script").contains("navigator.clipboard"));
    assert!(post_woo(&console, id, &first_secret, "d-1").await.is_success(), "the shown secret signs");

    let listed = console.get_html(&owner, "/console/settings").await;
    assert!(listed.contains(&url), "the URL stays listed");
    assert!(!listed.contains(&first_secret), "the secret is shown once");

    let path = format!("/console/settings/integrations/{id}/rotate");
    let rotated = console.post(&owner, &path, &[("overlap_hours", "1")]).await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let page = rotated.text().await.expect("page");
    assert!(page.contains("The old one keeps working until"), "{page}");
    let second_secret = shown_secret(&page);
    assert_ne!(second_secret, first_secret);
    assert!(post_woo(&console, id, &second_secret, "d-2").await.is_success(), "the new secret signs");
    assert!(post_woo(&console, id, &first_secret, "d-3").await.is_success(), "the old one, within the overlap");
    assert!(!console.get_html(&owner, "/console/settings").await.contains(&second_secret), "shown once");

    let rotated = console.post(&owner, &path, &[("overlap_hours", "0")]).await;
    let page = rotated.text().await.expect("page");
    assert!(page.contains("The old one no longer works."));
    let third_secret = shown_secret(&page);
    assert_eq!(post_woo(&console, id, &second_secret, "d-4").await, StatusCode::UNAUTHORIZED, "no overlap chosen");
    assert!(post_woo(&console, id, &third_secret, "d-5").await.is_success());

    let disabled = console.post(&owner, &format!("/console/settings/integrations/{id}/disable"), &[]).await;
    assert_eq!(disabled.status(), StatusCode::OK);
    assert!(!post_woo(&console, id, &third_secret, "d-6").await.is_success(), "a disabled integration refuses");

    for action in ["integration.created", "integration.secret_rotated", "integration.disabled"] {
        let rows = console.audited(action).await;
        assert!(
            !rows.is_empty() && rows.iter().all(|(actor, _)| actor == &format!("user:{OWNER}")),
            "{action}: {rows:?}"
        );
    }
    let shopify = console.post(&owner, "/console/settings/integrations", &[("kind", "shopify")]).await;
    assert_eq!(shopify.status(), StatusCode::BAD_REQUEST);
    assert!(shopify.text().await.expect("page").contains("is required for Shopify"));
}

#[tokio::test]
async fn an_api_key_is_shown_once_authenticates_against_the_api_and_is_revoked() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await;
    let owner = console.user(merchant, OWNER, Role::Owner).await;

    let made = console
        .post(
            &owner,
            "/console/settings/api-keys",
            &[("name", "warehouse sync"), ("scope", "read"), ("expires_in_days", "30")],
        )
        .await;
    assert_eq!(made.status(), StatusCode::OK);
    let page = made.text().await.expect("page");
    assert!(page.contains("The API key warehouse sync is made."));
    let key = shown_secret(&page);
    let api = |key: &str| console.app.client.get(console.app.url("/api/settings")).bearer_auth(key.to_owned()).send();
    assert_eq!(api(&key).await.expect("sent").status(), StatusCode::OK, "the key reads the API");
    let write = console
        .app
        .client
        .post(console.app.url("/api/api-keys"))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "name": "x" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(write.status(), StatusCode::FORBIDDEN, "only the scopes ticked");

    let listed = console.get_html(&owner, "/console/settings").await;
    assert!(listed.contains("warehouse sync") && !listed.contains(&key), "listed, never shown again");
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM api_keys WHERE name = 'warehouse sync'")
        .fetch_one(&console.app.admin)
        .await
        .expect("key row");
    let revoked = console.post(&owner, &format!("/console/settings/api-keys/{id}/revoke"), &[]).await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(api(&key).await.expect("sent").status(), StatusCode::UNAUTHORIZED, "revoked at once");
    for action in ["api_key.created", "api_key.revoked"] {
        let rows = console.audited(action).await;
        assert_eq!(rows, vec![(format!("user:{OWNER}"), Some(merchant.as_uuid()))], "{action}");
    }
    let empty = console.post(&owner, "/console/settings/api-keys", &[("name", "no scopes")]).await;
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_webhook_endpoint_is_added_rotated_and_disabled_with_its_deliveries_listed() {
    let console = spawn_console_with(|figment| figment.merge(("webhooks.allow_loopback", true))).await;
    let merchant = console.app.merchant().await;
    let owner = console.user(merchant, OWNER, Role::Owner).await;

    let added = console
        .post(
            &owner,
            "/console/settings/webhook-endpoints",
            &[("url", "http://127.0.0.1:9/hooks"), ("description", "CRM"), ("event_type", "conversation.handed_over")],
        )
        .await;
    assert_eq!(added.status(), StatusCode::OK);
    let secret = shown_secret(&added.text().await.expect("page"));
    assert!(secret.starts_with("whsec_"), "{secret}");
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM webhook_endpoints")
        .fetch_one(&console.app.admin)
        .await
        .expect("endpoint row");
    let detail = console.get_html(&owner, &format!("/console/settings/webhook-endpoints/{id}")).await;
    assert!(detail.contains("http://127.0.0.1:9/hooks") && detail.contains("Recent deliveries"));
    assert!(!console.get_html(&owner, "/console/settings").await.contains(&secret), "shown once");

    let rotated = console.post(&owner, &format!("/console/settings/webhook-endpoints/{id}/rotate"), &[]).await;
    assert_eq!(rotated.status(), StatusCode::OK);
    assert_ne!(shown_secret(&rotated.text().await.expect("page")), secret);
    let disabled = console.post(&owner, &format!("/console/settings/webhook-endpoints/{id}/disable"), &[]).await;
    assert_eq!(disabled.status(), StatusCode::OK);
    let disabled_at: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT disabled_at FROM webhook_endpoints")
            .fetch_one(&console.app.admin)
            .await
            .expect("row");
    assert!(disabled_at.is_some());
    for action in ["webhook_endpoint.created", "webhook_endpoint.secret_rotated", "webhook_endpoint.updated"] {
        assert_eq!(
            console.audited(action).await,
            vec![(format!("user:{OWNER}"), Some(merchant.as_uuid()))],
            "{action}"
        );
    }
    let refused = console
        .post(
            &owner,
            "/console/settings/webhook-endpoints",
            &[("url", "ftp://example.com/x"), ("event_type", "conversation.handed_over")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.text().await.expect("page").contains("URL must be an https URL, not ftp."));
}

#[tokio::test]
async fn another_merchants_integrations_endpoints_and_keys_are_not_found() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await;
    let owner = console.user(merchant, OWNER, Role::Owner).await;
    let (other, integration) = console.app.merchant_with(IntegrationKind::WooCommerce).await;
    let mut tx = db::tenant_tx(&console.app.pool, other).await.expect("tenant transaction");
    let types = [EventType::ALL[0]];
    let new = NewEndpoint { url: "https://crm.example/hooks", description: None, event_types: &types };
    let (endpoint, _) = endpoints::create(&mut tx, &console.app.keyring, other, &new).await.expect("endpoint");
    tx.commit().await.expect("committed");
    let key: uuid::Uuid = sqlx::query_scalar("SELECT id FROM api_keys WHERE merchant_id = $1")
        .bind(other)
        .fetch_one(&console.app.admin)
        .await
        .expect("other key");

    let integration_path = format!("/console/settings/integrations/{}", integration.integration_id);
    let endpoint_path = format!("/console/settings/webhook-endpoints/{}", endpoint.id);
    for path in [
        format!("{integration_path}/rotate"),
        format!("{integration_path}/disable"),
        format!("{endpoint_path}/rotate"),
        format!("{endpoint_path}/disable"),
        format!("/console/settings/api-keys/{key}/revoke"),
    ] {
        assert_eq!(console.post(&owner, &path, &[]).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(console.get(&owner, &endpoint_path).await.status(), StatusCode::NOT_FOUND);
    let page = console.get_html(&owner, "/console/settings").await;
    assert!(!page.contains(&integration.integration_id.to_string()) && !page.contains("crm.example"));
    let untouched: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM integrations WHERE status = 'active' AND secret_rotated_at IS NULL AND merchant_id = $1",
    )
    .bind(other)
    .fetch_one(&console.app.admin)
    .await
    .expect("count");
    assert_eq!(untouched, 1);
}

#[tokio::test]
async fn a_settings_change_without_the_csrf_token_is_refused() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await;
    let owner: Session = console.user(merchant, OWNER, Role::Owner).await;
    for path in ["/console/settings", "/console/settings/api-keys", "/console/settings/integrations"] {
        let refused = console
            .client
            .post(console.url(path))
            .header(COOKIE, &owner.cookie)
            .form(&form_with(&[("timezone", "Europe/Berlin"), ("name", "k"), ("scope", "read"), ("kind", "generic")]))
            .send()
            .await
            .expect("sent");
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(stored(&console, merchant).await.0, "Europe/Istanbul");
}

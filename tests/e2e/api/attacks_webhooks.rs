//! The webhook doors an attacker tries first, each tried for real: a signed Shopify body replayed
//! under a privacy topic, privacy requests from another shop or sent twice, forged floods that
//! would spend a real sender's quota, ids probed for existence, a signature header of ten
//! thousand entries, and phone number ids or verify tokens claimed from another merchant. Each
//! test checks that nothing happened, and that the legitimate path still works.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use recete_platform::db;
use recete_platform::ids::IntegrationId;
use recete_shared::integrations::{
    self, CreatedIntegration, Given, IntegrationKind, IntegrationLookup, NewIntegration,
};
use recete_testkit::signing;
use recete_workers::Pool;
use serde_json::{Value, json};

use crate::helpers::{PHONE_NUMBER_ID, TestApp, assert_problem, fixture, spawn_app, spawn_app_with};
use crate::merchant_api::tenant;

const SHOP: &str = "test-store.myshopify.com";
const UNPROCESSED: &str = "SELECT count(*) FROM external_events WHERE state <> 'processed'";
const LIVE_CUSTOMERS: &str = "SELECT count(*) FROM customers WHERE erased_at IS NULL";

/// What a store's delivery leaves behind, to show that an attack left it as it was.
#[derive(Debug, PartialEq, Eq)]
struct Footprint {
    events: i64,
    erased_events: i64,
    live_customers: i64,
    orders: i64,
    privacy_requests: i64,
}

async fn footprint(app: &TestApp) -> Footprint {
    Footprint {
        events: app.count("SELECT count(*) FROM external_events").await,
        erased_events: app.count("SELECT count(*) FROM external_events WHERE erased_at IS NOT NULL").await,
        live_customers: app.count(LIVE_CUSTOMERS).await,
        orders: app.count("SELECT count(*) FROM orders").await,
        privacy_requests: app.count("SELECT count(*) FROM privacy_requests").await,
    }
}

async fn shopify_integration(app: &TestApp, shop_domain: Option<&str>) -> CreatedIntegration {
    let merchant = app.merchant().await;
    let new =
        NewIntegration { merchant_id: merchant, kind: IntegrationKind::Shopify, secret: None, phone_number_id: None };
    integrations::create_given(&app.pool, &app.keyring, new, &Given { verify_token: None, shop_domain })
        .await
        .expect("integration")
}

async fn stored_shop(app: &TestApp, integration: IntegrationId) -> Option<String> {
    sqlx::query_scalar("SELECT shop_domain FROM integrations WHERE id = $1")
        .bind(integration)
        .fetch_one(&app.admin)
        .await
        .expect("integration row")
}

/// A signed Shopify delivery with the shop header of the caller's choice.
async fn post_shopify_from(
    app: &TestApp,
    integration: &CreatedIntegration,
    shop: &str,
    topic: &str,
    webhook_id: &str,
    body: &[u8],
) -> reqwest::Response {
    app.client
        .post(app.url(&integration.webhook_path))
        .header("content-type", "application/json")
        .header("x-shopify-topic", topic)
        .header("x-shopify-webhook-id", webhook_id)
        .header("x-shopify-shop-domain", shop)
        .header("x-shopify-hmac-sha256", signing::base64_hmac(&integration.secret, body))
        .body(body.to_vec())
        .send()
        .await
        .expect("request sent")
}

#[tokio::test]
async fn a_signed_order_replayed_under_a_privacy_topic_erases_nothing() {
    let app = spawn_app().await;
    let _workers = app.start_pools(&[Pool::OrderEvents]);
    let shop = shopify_integration(&app, None).await;
    let order = fixture("shopify_orders_create.json");
    assert_eq!(app.post_shopify(&shop, "orders/create", "order-1", &order).await.status(), 202);
    app.wait_for_count(UNPROCESSED, 0, 30).await;
    let before = footprint(&app).await;
    assert_eq!((before.events, before.live_customers, before.orders), (1, 1, 1), "{before:?}");
    assert_eq!(stored_shop(&app, shop.integration_id).await.as_deref(), Some(SHOP), "learnt from the first delivery");

    for (n, topic) in ["shop/redact", "customers/redact", "customers/data_request"].into_iter().enumerate() {
        let replayed = app.post_shopify(&shop, topic, &format!("fresh-webhook-id-{n}"), &order).await;
        let problem = assert_problem(replayed, 422).await;
        assert_eq!(problem["field"], "shop_id", "{topic}: {problem}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(footprint(&app).await, before, "the replays stored, erased and requested nothing");

    // The real request, by contrast, is served.
    let redact = json!({"shop_id": 954889, "shop_domain": SHOP, "customer": {"id": 115310627314723954_u64},
                        "orders_to_redact": [820982911946154508_u64]});
    let redact = redact.to_string().into_bytes();
    assert_eq!(app.post_shopify(&shop, "customers/redact", "privacy-1", &redact).await.status(), 202);
    app.wait_for_count(UNPROCESSED, 0, 30).await;
    assert_eq!(app.count("SELECT count(*) FROM privacy_requests").await, 1);
}

#[tokio::test]
async fn another_topics_request_cannot_pass_as_a_shop_erasure() {
    let app = spawn_app().await;
    let _workers = app.start_pools(&[Pool::OrderEvents]);
    let shop = shopify_integration(&app, Some(SHOP)).await;
    assert_eq!(
        app.post_shopify(&shop, "orders/create", "order-1", &fixture("shopify_orders_create.json")).await.status(),
        202
    );
    app.wait_for_count(UNPROCESSED, 0, 30).await;
    let before = footprint(&app).await;

    let data_request = json!({"shop_id": 954889, "shop_domain": SHOP, "customer": {"id": 115310627314723954_u64},
                              "orders_requested": [820982911946154508_u64], "data_request": {"id": 9999}})
    .to_string()
    .into_bytes();
    for (topic, field) in [("shop/redact", "customer"), ("customers/redact", "orders_to_redact")] {
        let passed_off = app.post_shopify(&shop, topic, &format!("as-{topic}"), &data_request).await;
        let problem = assert_problem(passed_off, 422).await;
        assert_eq!(problem["field"], field, "{topic}: {problem}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(footprint(&app).await, before);
}

#[tokio::test]
async fn privacy_requests_from_another_shop_are_refused_and_a_request_is_carried_out_once() {
    let app = spawn_app().await;
    let _workers = app.start_pools(&[Pool::OrderEvents]);
    // Created knowing its shop, before any delivery.
    let shop = shopify_integration(&app, Some("Test-Store.myshopify.com")).await;
    assert_eq!(stored_shop(&app, shop.integration_id).await.as_deref(), Some(SHOP));
    assert_eq!(
        app.post_shopify(&shop, "orders/create", "order-1", &fixture("shopify_orders_create.json")).await.status(),
        202
    );
    app.wait_for_count(UNPROCESSED, 0, 30).await;
    let before = footprint(&app).await;

    // The same app secret signs every shop's webhooks: another shop's erasure verifies here.
    let elsewhere = br#"{"shop_id": 1, "shop_domain": "other-store.myshopify.com"}"#;
    let named_in_body = app.post_shopify(&shop, "shop/redact", "other-1", elsewhere).await;
    let problem = assert_problem(named_in_body, 403).await;
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("shop_domain names a shop other")), "{problem}");
    let named_in_header =
        post_shopify_from(&app, &shop, "other-store.myshopify.com", "shop/redact", "other-2", elsewhere).await;
    assert_problem(named_in_header, 403).await;
    let order_from_elsewhere = post_shopify_from(
        &app,
        &shop,
        "other-store.myshopify.com",
        "orders/create",
        "other-3",
        &fixture("shopify_orders_create.json"),
    )
    .await;
    assert_problem(order_from_elsewhere, 403).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(footprint(&app).await, before, "nothing from another shop was stored or carried out");
    assert_eq!(stored_shop(&app, shop.integration_id).await.as_deref(), Some(SHOP), "the shop never changes");

    // The integration's own shop is served, once per request body.
    let redact = json!({"shop_id": 954889, "shop_domain": SHOP, "customer": {"id": 115310627314723954_u64},
                        "orders_to_redact": [820982911946154508_u64]})
    .to_string()
    .into_bytes();
    let first = app.post_shopify(&shop, "customers/redact", "privacy-1", &redact).await;
    assert_eq!(first.status(), 202);
    app.wait_for_count(UNPROCESSED, 0, 30).await;
    let after_first = footprint(&app).await;
    assert_eq!((after_first.privacy_requests, after_first.live_customers), (1, 0), "{after_first:?}");

    let replayed = app.post_shopify(&shop, "customers/redact", "privacy-1-replayed-under-a-fresh-id", &redact).await;
    assert_eq!(replayed.status(), 200, "acknowledged");
    let answer: Value = replayed.json().await.expect("json");
    assert_eq!(answer["status"], "duplicate");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(footprint(&app).await, after_first, "and not carried out again");
}

#[tokio::test]
async fn forged_floods_spend_no_senders_quota_and_are_refused_per_address() {
    let app = spawn_app_with(|figment| {
        figment
            .merge(("rate_limits.integration.quantity", 5))
            .merge(("rate_limits.integration.window_secs", 3600))
            .merge(("rate_limits.whatsapp_number.quantity", 5))
            .merge(("rate_limits.whatsapp_number.window_secs", 3600))
            .merge(("rate_limits.webhook_auth_failures.quantity", 4))
            .merge(("rate_limits.webhook_auth_failures.window_secs", 3600))
            // The test client stands for several addresses through a trusted proxy.
            .merge(("rate_limits.trusted_proxies", vec!["127.0.0.1/32"]))
    })
    .await;
    let shop = shopify_integration(&app, Some(SHOP)).await;
    let body = fixture("shopify_orders_create.json");
    let forged = |n: usize, path: String| {
        app.client
            .post(app.url(&path))
            .header("x-forwarded-for", "198.51.100.7")
            .header("x-shopify-topic", "orders/create")
            .header("x-shopify-webhook-id", format!("forged-{n}"))
            .header("x-shopify-hmac-sha256", signing::base64_hmac("not-the-shops-secret", &body))
            .body(body.clone())
            .send()
    };
    let unknown = format!("/webhooks/commerce/shopify/{}", IntegrationId::generate());
    for n in 0..4 {
        let path = if n % 2 == 0 { shop.webhook_path.clone() } else { unknown.clone() };
        assert_problem(forged(n, path).await.expect("sent"), 401).await;
    }
    let refused = forged(4, shop.webhook_path.clone()).await.expect("sent");
    let policy = refused.headers().get("ratelimit-policy").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(policy.as_deref(), Some("\"webhook_auth_failures\";q=4;w=3600"));
    assert!(refused.headers().contains_key("retry-after"));
    let problem = assert_problem(refused, 429).await;
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("`webhook_auth_failures`")), "{problem}");

    let keys = app.redis.keys().await.expect("keys");
    let integration_key = format!("{}:ratelimit:http:integration:{}", app.redis.prefix, shop.integration_id);
    assert!(!keys.contains(&integration_key), "no forged delivery touched the integration's quota: {keys:?}");
    assert_eq!(app.event_count().await, 0);

    // The shop, from its own address, still has its whole quota.
    let delivered = app
        .client
        .post(app.url(&shop.webhook_path))
        .header("x-forwarded-for", "203.0.113.5")
        .header("x-shopify-topic", "orders/create")
        .header("x-shopify-webhook-id", "real-1")
        .header("x-shopify-shop-domain", SHOP)
        .header("x-shopify-hmac-sha256", signing::base64_hmac(&shop.secret, &body))
        .body(body.clone())
        .send()
        .await
        .expect("sent");
    assert_eq!(delivered.status(), 202);
    let limit = delivered.headers().get("ratelimit").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(limit.starts_with("\"integration\";r=4;"), "four of five left after one real delivery: {limit}");
    assert_eq!(app.event_count().await, 1);

    // Meta's webhooks alike: forged notifications naming a real number spend nothing of its quota.
    let whatsapp = app.integration(app.merchant().await, IntegrationKind::WhatsApp).await;
    let inbound =
        String::from_utf8(fixture("whatsapp_inbound.json")).expect("utf8").replace("PHONE_NUMBER_ID", PHONE_NUMBER_ID);
    let number_key = format!("{}:ratelimit:http:whatsapp-number:{PHONE_NUMBER_ID}", app.redis.prefix);
    for _ in 0..3 {
        let forged = app
            .client
            .post(app.url("/webhooks/whatsapp"))
            .header("x-forwarded-for", "198.51.100.8")
            .header("x-hub-signature-256", signing::hub_signature("not-the-app-secret", inbound.as_bytes()))
            .body(inbound.clone())
            .send()
            .await
            .expect("sent");
        assert_problem(forged, 401).await;
    }
    assert!(!app.redis.keys().await.expect("keys").contains(&number_key), "the number's quota is untouched");
    let real = app
        .client
        .post(app.url("/webhooks/whatsapp"))
        .header("x-forwarded-for", "203.0.113.6")
        .header("x-hub-signature-256", signing::hub_signature(&whatsapp.secret, inbound.as_bytes()))
        .body(inbound.clone())
        .send()
        .await
        .expect("sent");
    assert_eq!(real.status(), 200);
    let limit = real.headers().get("ratelimit").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(limit.starts_with("\"whatsapp_number\";r=4;"), "four of five left after one real notification: {limit}");
    assert!(app.redis.keys().await.expect("keys").contains(&number_key), "charged once verified");
}

/// What a client can observe of an answer, save the request id and the clock.
#[derive(Debug, PartialEq, Eq)]
struct Observed {
    status: u16,
    content_type: String,
    header_names: BTreeSet<String>,
    body: Vec<u8>,
}

async fn observe(response: reqwest::Response) -> Observed {
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let header_names = response
        .headers()
        .keys()
        .map(|name| name.as_str().to_owned())
        .filter(|name| name != "date" && name != "x-request-id")
        .collect();
    let body = response.bytes().await.expect("body").to_vec();
    Observed { status, content_type, header_names, body }
}

#[tokio::test]
async fn unknown_disabled_and_badly_signed_ids_answer_byte_for_byte_alike() {
    let app = spawn_app().await;
    let shop = shopify_integration(&app, Some(SHOP)).await;
    let disabled = shopify_integration(&app, Some(SHOP)).await;
    let merchant: uuid::Uuid = sqlx::query_scalar("SELECT merchant_id FROM integrations WHERE id = $1")
        .bind(disabled.integration_id)
        .fetch_one(&app.admin)
        .await
        .expect("owner");
    let mut tx = db::tenant_tx(&app.pool, recete_platform::ids::MerchantId::from_uuid(merchant)).await.expect("tx");
    assert_eq!(integrations::disable(&mut tx, disabled.integration_id).await.expect("disable"), Some(true));
    tx.commit().await.expect("commit");
    let woo = app.integration(app.merchant().await, IntegrationKind::WooCommerce).await;
    let body = fixture("shopify_orders_create.json");
    let signature = signing::base64_hmac("a-secret-nobody-configured", &body);
    let send = |path: String| {
        app.client
            .post(app.url(&path))
            .header("content-type", "application/json")
            .header("x-shopify-topic", "orders/create")
            .header("x-shopify-webhook-id", "probe")
            .header("x-shopify-hmac-sha256", signature.clone())
            .body(body.clone())
            .send()
    };
    let cases = [
        ("known id, bad signature", shop.webhook_path.clone()),
        ("unknown id", format!("/webhooks/commerce/shopify/{}", IntegrationId::generate())),
        ("disabled integration", disabled.webhook_path.clone()),
        ("another platform's integration", format!("/webhooks/commerce/shopify/{}", woo.integration_id)),
        ("not an id at all", "/webhooks/commerce/shopify/not-a-uuid".to_owned()),
    ];
    let mut answers = Vec::new();
    for (case, path) in cases {
        answers.push((case, observe(send(path).await.expect("sent")).await));
    }
    let (_, reference) = &answers[0];
    assert_eq!(reference.status, 401);
    assert_eq!(reference.content_type, "application/problem+json");
    assert!(reference.header_names.contains("ratelimit"), "{:?}", reference.header_names);
    for (case, observed) in &answers[1..] {
        assert_eq!(observed, reference, "{case} answers unlike a bad signature");
    }

    // WooCommerce's unsigned ping is answered before any lookup, so it tells nothing either.
    let ping = |path: String| {
        app.client
            .post(app.url(&path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("webhook_id=15")
            .send()
    };
    let known_ping = observe(ping(woo.webhook_path.clone()).await.expect("sent")).await;
    let unknown_ping =
        observe(ping(format!("/webhooks/commerce/woocommerce/{}", IntegrationId::generate())).await.expect("sent"))
            .await;
    assert_eq!(known_ping.status, 200);
    assert_eq!(unknown_ping, known_ping);

    // Meta's webhooks: an unknown business phone number answers like a wrong app secret.
    let whatsapp = app.integration(app.merchant().await, IntegrationKind::WhatsApp).await;
    let inbound = String::from_utf8(fixture("whatsapp_inbound.json")).expect("utf8");
    let known = inbound.replace("PHONE_NUMBER_ID", PHONE_NUMBER_ID);
    let unknown = inbound.replace("PHONE_NUMBER_ID", "100000000000001");
    let bad_signature = observe(app.post_whatsapp("not-the-app-secret", known.as_bytes()).await).await;
    let unknown_number = observe(app.post_whatsapp("not-the-app-secret", unknown.as_bytes()).await).await;
    assert_eq!(bad_signature.status, 401);
    assert_eq!(unknown_number, bad_signature);
    let signed_unknown = observe(app.post_whatsapp(&whatsapp.secret, unknown.as_bytes()).await).await;
    assert_eq!(signed_unknown, bad_signature, "even signed with a real app secret");
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn unknown_ids_are_remembered_briefly_so_probes_cost_no_database_lookups() {
    let app = spawn_app().await;
    let directory =
        integrations::IntegrationDirectory::new(app.pool.clone(), app.keyring.clone(), Duration::from_secs(30));
    let unknown = IntegrationLookup::Id(IntegrationId::generate());
    for _ in 0..100 {
        assert!(directory.find(&unknown).await.expect("lookup").is_none());
    }
    assert_eq!(directory.database_lookups(), 1, "one lookup for a hundred probes of one id");
    let number = IntegrationLookup::PhoneNumberId("100000000000002".into());
    for _ in 0..100 {
        assert!(directory.find(&number).await.expect("lookup").is_none());
    }
    assert_eq!(directory.database_lookups(), 2);

    // Through the API: a number probed once stays unknown for a few seconds, even once it exists
    // elsewhere, because the probe is not sent to the database again.
    let inbound = String::from_utf8(fixture("whatsapp_inbound.json")).expect("utf8");
    let probed = "100000000000003";
    let payload = inbound.replace("PHONE_NUMBER_ID", probed);
    assert_problem(app.post_whatsapp("an-app-secret-of-some-length", payload.as_bytes()).await, 401).await;
    let merchant = app.merchant().await;
    let created = integrations::create(
        &app.pool,
        &app.keyring,
        NewIntegration {
            merchant_id: merchant,
            kind: IntegrationKind::WhatsApp,
            secret: None,
            phone_number_id: Some(probed),
        },
    )
    .await
    .expect("created by another process");
    let refused = app.post_whatsapp(&created.secret, payload.as_bytes()).await;
    assert_problem(refused, 401).await;
    assert_eq!(app.event_count().await, 0);
    let fresh = integrations::IntegrationDirectory::new(app.pool.clone(), app.keyring.clone(), Duration::from_secs(30));
    assert!(fresh.find(&IntegrationLookup::PhoneNumberId(probed.into())).await.expect("lookup").is_some());
    assert!(integrations::UNKNOWN_TTL <= Duration::from_secs(10), "remembered briefly");
}

#[tokio::test]
async fn a_signature_header_of_ten_thousand_entries_is_refused_and_eight_are_accepted() {
    let app = spawn_app().await;
    let store = app.integration(app.merchant().await, IntegrationKind::Generic).await;
    let body = String::from_utf8(fixture("generic_order_delivered.json"))
        .expect("utf8")
        .replace("OCCURRED_AT", "2026-11-23T10:00:00Z")
        .into_bytes();
    let body = body.as_slice();
    let now = Utc::now().timestamp();
    let valid = signing::recete_signature(&store.secret, now, body);
    let valid_entry = valid.split(',').nth(1).expect("v1 entry").to_owned();
    let wrong_entry = format!("v1={}", "0".repeat(64));
    let send = |header: String| {
        app.client
            .post(app.url(&store.webhook_path))
            .header("content-type", "application/json")
            .header("recete-signature", header)
            .body(body.to_vec())
            .send()
    };

    let flood = format!("t={now},{}", vec!["v1=ab"; 10_000].join(","));
    assert!(flood.len() > 50_000);
    let started = std::time::Instant::now();
    let problem = assert_problem(send(flood).await.expect("sent"), 401).await;
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("at most 8 v1 signatures")), "{problem}");

    let nine = format!("t={now},{},{valid_entry}", [wrong_entry.as_str(); 8].join(","));
    let problem = assert_problem(send(nine).await.expect("sent"), 401).await;
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("at most 8 v1 signatures")), "{problem}");
    assert_eq!(app.event_count().await, 0);

    let eight = format!("t={now},{},{valid_entry}", [wrong_entry.as_str(); 7].join(","));
    let accepted = send(eight).await.expect("sent");
    assert_eq!(accepted.status(), 202, "{:?}", accepted.text().await);
    assert_eq!(app.event_count().await, 1);
}

#[tokio::test]
async fn a_phone_number_id_or_verify_token_in_use_is_a_conflict_that_names_no_one() {
    let app = spawn_app().await;
    let owner = tenant(&app, "Glow Store").await;
    let other = tenant(&app, "Other Store").await;
    let token = "glow-store-verify-token-2026";
    let taken = json!({"kind": "whatsapp", "secret": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                       "phone_number_id": PHONE_NUMBER_ID, "verify_token": token});
    let created = owner.post(&app, "/api/integrations", &taken).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.expect("json");
    let owner_integration = created["integration"]["id"].as_str().expect("id").to_owned();
    let before = app.count("SELECT count(*) FROM integrations").await;

    let same_number = json!({"kind": "whatsapp", "secret": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                             "phone_number_id": PHONE_NUMBER_ID});
    let same_token = json!({"kind": "whatsapp", "secret": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                            "phone_number_id": "106540352242999", "verify_token": token});
    for (request, field) in [(&same_number, "phone_number_id"), (&same_token, "verify_token")] {
        let by_other = other.post(&app, "/api/integrations", request).await.bytes().await.expect("body");
        let by_owner = owner.post(&app, "/api/integrations", request).await.bytes().await.expect("body");
        assert_eq!(by_other, by_owner, "{field}: the answer is the same whoever holds the value");
        let problem: Value = serde_json::from_slice(&by_other).expect("problem");
        assert_eq!((problem["status"].as_u64(), &problem["field"]), (Some(409), &json!(field)), "{problem}");
        let text = String::from_utf8_lossy(&by_other);
        for secret in [owner.merchant.to_string(), owner_integration.clone(), "Glow Store".into(), token.into()] {
            assert!(!text.contains(&secret), "{field}: the conflict reveals {secret}: {text}");
        }
    }
    assert_eq!(app.count("SELECT count(*) FROM integrations").await, before, "nothing was created");

    // The command line answers alike.
    let other_merchant = other.merchant.to_string();
    for (flag, value, field) in
        [("--phone-number-id", PHONE_NUMBER_ID, "phone_number_id"), ("--verify-token", token, "verify_token")]
    {
        let mut args = vec!["integration", "create", "--merchant", &other_merchant, "--kind", "whatsapp"];
        if flag == "--verify-token" {
            args.extend(["--phone-number-id", "106540352242998"]);
        }
        args.extend([flag, value]);
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_recete"))
            .args(&args)
            .env("DATABASE_URL", app.db.app_url())
            .env("RECETE__LOG__FORMAT", "pretty")
            .env("RECETE__LOG__FILTER", "warn")
            .output()
            .expect("recete runs");
        assert!(!output.status.success(), "{flag}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&format!("this {field} is already in use")), "{flag}: {stderr}");
        for secret in [owner.merchant.to_string(), owner_integration.clone()] {
            assert!(!stderr.contains(&secret), "{flag}: the conflict reveals {secret}: {stderr}");
        }
    }
    assert_eq!(app.count("SELECT count(*) FROM integrations").await, before);

    // A shop domain given at creation must be a shop.
    let bad_shop = owner
        .post(
            &app,
            "/api/integrations",
            &json!({"kind": "shopify", "secret": "shpss_0123456789abcdef",
                                                                 "shop_domain": "evil.example.com"}),
        )
        .await;
    assert_eq!(assert_problem(bad_shop, 422).await["field"], "shop_domain");
    let shop = owner
        .post(
            &app,
            "/api/integrations",
            &json!({"kind": "shopify", "secret": "shpss_0123456789abcdef",
                                                             "shop_domain": SHOP}),
        )
        .await;
    assert_eq!(shop.status(), 201);
}

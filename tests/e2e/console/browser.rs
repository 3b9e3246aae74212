//! The merchant's whole story in a real browser: Debian's chromium driven by playwright-core
//! (tests/browser/console.mjs) against the API's listener with every worker pool running, the
//! local embedding model, a fake Graph API and a local product page. It signs in through a
//! one-time link, drops a messy Shopify export on the imports page and watches both progress
//! bars reach 100 %, opens an imported order's timeline, has a product page read and embedded,
//! asks a test question and sees the cited answer, receives a hand-over live in the inbox (a
//! WhatsApp webhook the script signs and sends while the inbox is open), replies, resolves, and
//! finds the order a follow-up brought back on the analytics page. A screenshot of each page
//! lands in target/screenshots/console-*.png.

use std::time::Duration;

use chrono::Utc;
use recete_console::users::Role;
use recete_shared::message_bodies;
use recete_testkit::{TestDatabase, TestRedis};
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::wrap;
use crate::browser;
use crate::followups::{CUSTOMER_PHONE, CUSTOMER_WA_ID, spawn_messaging_app_on};
use crate::helpers::{PHONE_NUMBER_ID, TestApp, fixture};
use crate::replies::{status_webhook, texts_sent};

const OWNER: &str = "owner@glow.example";
const REPLY: &str =
    "Hello Ada, this is Mia from Glow: your serum ships again on Monday and we will send it the same day.";
/// How long the story may take: the first embedding loads the model.
const STORY_SECS: u64 = 300;

/// Shopify's own orders export with three rows a real file carries: an order with neither email
/// nor phone, a phone no one can dial, and a line item of quantity zero.
fn messy_shopify_export() -> String {
    let export = String::from_utf8(fixture("imports/shopify_orders_export.csv")).expect("UTF-8 export");
    let header: Vec<&str> = export.lines().next().expect("a header line").split(',').collect();
    let row = |values: &[(&str, &str)]| -> String {
        header
            .iter()
            .map(|column| values.iter().find(|(name, _)| name == column).map(|(_, value)| *value).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(",")
    };
    let order =
        |id: &'static str, name: &'static str, email: &'static str, phone: &'static str, quantity: &'static str| {
            row(&[
                ("Id", id),
                ("Name", name),
                ("Email", email),
                ("Financial Status", "paid"),
                ("Paid at", "2026-11-09 11:00:00 +0100"),
                ("Fulfillment Status", "unfulfilled"),
                ("Currency", "EUR"),
                ("Subtotal", "29.90"),
                ("Total", "29.90"),
                ("Created at", "2026-11-09 10:58:00 +0100"),
                ("Lineitem quantity", quantity),
                ("Lineitem name", "Vitamin C Serum"),
                ("Lineitem price", "29.90"),
                ("Lineitem sku", "SERUM-30"),
                ("Billing Country", "DE"),
                ("Billing Phone", phone),
            ])
        };
    let mut file = export.trim_end().to_owned();
    for line in [
        order("5730291564724", "#1004", "", "", "1"),
        order("5730291597492", "#1005", "noah@example.com", "12", "1"),
        order("5730291630260", "#1006", "mila@example.com", "+49 151 23456789", "0"),
    ] {
        file.push_str("\r\n");
        file.push_str(&line);
    }
    file.push_str("\r\n");
    file
}

/// A merchant whose plan sends one template at delivery, with no quiet hours.
async fn shop(app: &TestApp) -> crate::followups::Shop {
    crate::followups::shop(app).await
}

/// A generic order event for the customer everyone here is, `hours_ago` in the past.
fn order_event(id: &str, kind: &str, order: &str, total: &str, hours_ago: i64) -> Vec<u8> {
    let at = (Utc::now() - chrono::Duration::hours(hours_ago)).to_rfc3339();
    json!({
        "id": id, "type": kind, "occurred_at": at,
        "order": {"id": order, "number": order, "currency": "TRY", "total": total, "placed_at": at,
                  "customer": {"name": "Ada Yilmaz", "phone": CUSTOMER_PHONE, "country": "TR", "whatsapp_consent": true},
                  "items": [{"id": "1", "sku": "SERUM-30", "title": "Vitamin C Serum", "quantity": 1, "unit_price": total}]}
    })
    .to_string()
    .into_bytes()
}

/// Before the browser opens: a delivered order whose first follow-up reached the customer
/// (Meta said so), then a second order of the same customer, which the follow-up brought back.
async fn a_follow_up_brings_a_customer_back(app: &TestApp, shop: &crate::followups::Shop, graph: &MockServer) {
    let delivered = order_event("evt-A-500-delivered", "order.delivered", "A-500", "749.90", 3);
    assert_eq!(app.post_generic(&shop.generic, Utc::now().timestamp(), &delivered).await.status(), 202);
    app.wait_for_count("SELECT count(*) FROM messages WHERE direction = 'outbound' AND status = 'sent'", 1, 60).await;
    let (message, wamid): (Uuid, String) = sqlx::query_as(
        "SELECT id, wa_message_id FROM messages WHERE direction = 'outbound' AND status = 'sent' ORDER BY created_at LIMIT 1",
    )
    .fetch_one(&app.admin)
    .await
    .expect("the follow-up as sent");
    assert!(!texts_sent(graph).await.contains(&REPLY.to_owned()), "nothing of the story's reply yet");
    let status = status_webhook(&wamid, &message.to_string(), "delivered");
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &status).await.status(), 200);
    app.wait_for_count(
        &format!("SELECT count(*) FROM messages WHERE id = '{message}' AND delivered_at IS NOT NULL"),
        1,
        60,
    )
    .await;
    let again = order_event("evt-A-501-created", "order.created", "A-501", "1249.50", 0);
    assert_eq!(app.post_generic(&shop.generic, Utc::now().timestamp(), &again).await.status(), 202);
    app.wait_for_count("SELECT count(*) FROM orders WHERE external_order_id = 'A-501'", 1, 60).await;
}

#[tokio::test]
async fn a_merchant_walks_the_whole_story_in_a_real_browser() {
    browser::assert_installed();

    let graph = MockServer::start().await;
    crate::followups::graph_accepts(&graph).await;
    let pages = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/products/night-cream"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(super::knowledge::PAGE, "text/html; charset=utf-8"))
        .mount(&pages)
        .await;
    let db = TestDatabase::create().await.expect("test database");
    let model_dir = browser::repo("models/all-MiniLM-L6-v2");
    let app = spawn_messaging_app_on(&graph, db, TestRedis::new(), move |figment| {
        figment.merge(("embedding.model_dir", model_dir)).merge(("scrape.allow_loopback", true))
    })
    .await;
    let shop = shop(&app).await;
    let _workers = app.start_workers();
    a_follow_up_brings_a_customer_back(&app, &shop, &graph).await;

    let console = wrap(app);
    let link = console.invite(shop.merchant, OWNER, Role::Owner).await;
    let folder = std::env::temp_dir().join(format!("recete-console-story-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&folder).expect("a temporary folder");
    let export = folder.join("orders_export_1.csv");
    std::fs::write(&export, messy_shopify_export()).expect("the export written");
    let product_url = format!("{}/products/night-cream", pages.uri());

    let ran = browser::try_run(
        "console.mjs",
        &[
            ("CONSOLE_URL", console.app.address.clone()),
            ("LINK_PATH", link),
            ("EXPORT_FILE", export.display().to_string()),
            ("PRODUCT_URL", product_url.clone()),
            ("WHATSAPP_SECRET", shop.whatsapp.secret.clone()),
            ("PHONE_NUMBER_ID", PHONE_NUMBER_ID.to_owned()),
            ("CUSTOMER_WA_ID", CUSTOMER_WA_ID.to_owned()),
            ("REPLY_TEXT", REPLY.to_owned()),
        ],
        Duration::from_secs(STORY_SECS),
    )
    .await;
    if let Err(failure) = ran {
        panic!("{failure}\nwhat the server side holds:\n{}", server_side(&console.app).await);
    }
    let _ = std::fs::remove_dir_all(&folder);

    browser::assert_screenshots(&[
        "console-inbox.png",
        "console-import.png",
        "console-order.png",
        "console-product.png",
        "console-answer.png",
        "console-handover.png",
        "console-replied.png",
        "console-resolved.png",
        "console-analytics.png",
    ]);

    // What the browser did reached the database and Meta, once each.
    let app = &console.app;
    let (status, total, failed): (String, Option<i64>, i64) =
        sqlx::query_as("SELECT status, total_rows, failed FROM imports").fetch_one(&app.admin).await.expect("import");
    assert_eq!((status.as_str(), total, failed), ("completed", Some(8), 3), "the messy file read whole");
    assert_eq!(app.count("SELECT count(*) FROM orders WHERE order_number LIKE '#100%'").await, 3);
    let (scrape, embedded): (String, bool) =
        sqlx::query_as("SELECT scrape_state, embedded_at IS NOT NULL FROM products WHERE url = $1")
            .bind(&product_url)
            .fetch_one(&app.admin)
            .await
            .expect("the product read from its page");
    assert_eq!((scrape.as_str(), embedded), ("done", true));
    assert_eq!(texts_sent(&graph).await.iter().filter(|text| *text == REPLY).count(), 1, "Meta got the reply once");
    let (conversation, state): (Uuid, String) =
        sqlx::query_as("SELECT id, state FROM conversations").fetch_one(&app.admin).await.expect("one conversation");
    assert_eq!(state, "open", "resolved: the agent answers again");
    let user = console.user_id(OWNER).await;
    let written: Vec<(Option<String>, Option<Vec<u8>>)> = sqlx::query_as(
        "SELECT pii_key_id, body_sealed FROM messages
         WHERE conversation_id = $1 AND direction = 'outbound' AND author = $2",
    )
    .bind(conversation)
    .bind(format!("user:{user}"))
    .fetch_all(&app.admin)
    .await
    .expect("the reply stored");
    assert_eq!(written.len(), 1, "one message authored by the signed-in user");
    let (key_id, sealed) = &written[0];
    let body = message_bodies::open(&app.keyring, shop.merchant, key_id.as_deref(), sealed.as_deref())
        .expect("the body opens")
        .expect("a text");
    assert_eq!(body, REPLY);
    for action in ["import.uploaded", "product.scrape_requested", "conversation.handover_resolved"] {
        let rows = console.audited(action).await;
        assert_eq!(rows.len(), 1, "{action}: {rows:?}");
        assert_eq!(rows[0].0, format!("user:{OWNER}"), "{action}");
    }
    let attributed: Value = {
        let response = app
            .client
            .get(app.url("/api/analytics/attribution"))
            .header("x-api-key", shop_api_key(app, &shop).await)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 200);
        response.json().await.expect("JSON")
    };
    assert_eq!(attributed["attributed_orders"], 1, "{attributed}");
}

/// The rows that say how far the story got: products, tasks, imports and failed attempts.
async fn server_side(app: &TestApp) -> String {
    let products: Vec<(String, String, Option<String>, bool, i64)> = sqlx::query_as(
        "SELECT title, scrape_state, scrape_error, embedded_at IS NOT NULL,
                (SELECT count(*) FROM knowledge_chunks c WHERE c.product_id = p.id)
         FROM products p ORDER BY created_at",
    )
    .fetch_all(&app.admin)
    .await
    .unwrap_or_default();
    let tasks: Vec<(String, String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT kind, state, status_reason, last_error FROM scheduled_tasks ORDER BY created_at")
            .fetch_all(&app.admin)
            .await
            .unwrap_or_default();
    let imports: Vec<(String, Option<i64>, i64)> = sqlx::query_as("SELECT status, total_rows, failed FROM imports")
        .fetch_all(&app.admin)
        .await
        .unwrap_or_default();
    let attempts: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT queue, outcome, error FROM job_attempts WHERE outcome <> 'succeeded' ORDER BY started_at",
    )
    .fetch_all(&app.admin)
    .await
    .unwrap_or_default();
    format!(
        "products {products:#?}\ntasks {tasks:#?}\nimports {imports:#?}\nattempts that did not succeed {attempts:#?}"
    )
}

/// An API key of the shop's merchant, made for reading the API's figures.
async fn shop_api_key(app: &TestApp, shop: &crate::followups::Shop) -> String {
    let mut tx = recete_platform::db::tenant_tx(&app.pool, shop.merchant).await.expect("tenant transaction");
    let (_, secret) = recete_shared::api_keys::insert(&mut tx, shop.merchant, "story reader", None).await.expect("key");
    tx.commit().await.expect("committed");
    secret
}

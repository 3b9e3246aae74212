//! Product knowledge and the answering agent end to end: products through the merchant API and
//! product pages, their chunks embedded by the local model, and customers' WhatsApp questions
//! answered, handed over or refused, as the merchant sees them through the API.

mod agent;
mod languages;
mod model;
mod products;
mod retrieval;
mod scrape;
mod transactions;

use figment::Figment;
use recete_platform::ids::MerchantId;
use recete_shared::integrations::{CreatedIntegration, IntegrationKind};
use recete_shared::{merchants, message_bodies};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app_with};

pub const MERCHANT_NAME: &str = "Glow Store";
pub const CUSTOMER_WA_ID: &str = "905551234567";
pub const SECOND_CUSTOMER_WA_ID: &str = "905557654321";
pub const USAGE: &str = "Apply four drops to clean, dry skin every morning. Follow with moisturiser and sunscreen.";
/// Generous: the first answer of a process also loads the local model.
pub const WAIT_SECS: u64 = 30;

/// An app whose replies to one customer are not spaced out, so a test's answers go out at once.
pub async fn spawn_knowledge_app(customize: impl FnOnce(Figment) -> Figment) -> TestApp {
    let model_dir = format!("{}/models/all-MiniLM-L6-v2", env!("CARGO_MANIFEST_DIR"));
    spawn_app_with(move |figment| {
        customize(figment.merge(("whatsapp.customer_gap_secs", 0)).merge(("embedding.model_dir", model_dir)))
    })
    .await
}

/// A merchant with a WhatsApp number and an API key.
pub struct Shop {
    pub merchant: MerchantId,
    pub whatsapp: CreatedIntegration,
    pub api_key: String,
}

pub async fn shop(app: &TestApp) -> Shop {
    let created = merchants::create(&app.pool, MERCHANT_NAME, "Europe/Istanbul").await.expect("merchant");
    let whatsapp = app.integration(created.merchant_id, IntegrationKind::WhatsApp).await;
    Shop { merchant: created.merchant_id, whatsapp, api_key: created.api_key }
}

impl Shop {
    pub async fn post(&self, app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
        app.client.post(app.url(path)).bearer_auth(&self.api_key).json(body).send().await.expect("request sent")
    }

    pub async fn get(&self, app: &TestApp, path: &str) -> reqwest::Response {
        app.client.get(app.url(path)).header("x-api-key", &self.api_key).send().await.expect("request sent")
    }

    /// GET `path` expecting 200 and a JSON body.
    pub async fn get_json(&self, app: &TestApp, path: &str) -> Value {
        let response = self.get(app, path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON body")
    }
}

/// The serum as the merchant describes it: usage, warnings and one FAQ entry.
pub fn serum(usage: &str) -> Value {
    json!({
        "sku": "GLOW-C-30",
        "title": "Glow Vitamin C Serum",
        "brand": "Glow",
        "description": "A light vitamin C serum that evens out skin tone.",
        "usage": usage,
        "warnings": "Avoid contact with the eyes. Keep out of reach of children.",
        "faq": [{"question": "Can I use it with retinol?", "answer": "Yes, use retinol at night and the serum in the morning."}]
    })
}

/// Posts the serum and waits until its knowledge is embedded; returns the product id.
pub async fn embedded_serum(app: &TestApp, shop: &Shop) -> Uuid {
    let response = shop.post(app, "/api/products", &serum(USAGE)).await;
    assert_eq!(response.status(), 201);
    let saved: Value = response.json().await.expect("JSON body");
    let id = saved["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()).expect("product id");
    app.wait_for_count(
        &format!("SELECT count(*) FROM products WHERE id = '{id}' AND embedded_at IS NOT NULL"),
        1,
        WAIT_SECS,
    )
    .await;
    id
}

/// A signed-by-Meta inbound text message from `wa_id`, sent `at` (Unix seconds).
pub fn inbound(wa_id: &str, text: &str, wamid: &str, at: i64) -> Vec<u8> {
    recete_testkit::whatsapp::inbound_text(wa_id, "Ada", text, wamid, at)
}

/// The first customer asks `text` now.
pub async fn ask(app: &TestApp, shop: &Shop, text: &str, wamid: &str) {
    let body = inbound(CUSTOMER_WA_ID, text, wamid, chrono::Utc::now().timestamp());
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &body).await.status(), 200);
}

/// An outbound message as stored, its text opened.
pub struct Reply {
    pub id: Uuid,
    pub conversation_id: Option<Uuid>,
    pub text: String,
    pub agent: Value,
}

const REPLY_OF: &str = "FROM messages o JOIN messages i ON o.metadata->>'in_reply_to' = i.id::text
     WHERE i.wa_message_id = $1 AND o.direction = 'outbound'";

/// Waits for the reply to inbound message `wamid` to be sent, and returns it.
pub async fn reply_to(app: &TestApp, shop: &Shop, wamid: &str) -> Reply {
    let sent = format!("SELECT count(*) {REPLY_OF} AND o.status = 'sent'");
    let count_sent = || sqlx::query_scalar::<_, i64>(&sent).bind(wamid).fetch_one(&app.admin);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(WAIT_SECS);
    while count_sent().await.expect("count") != 1 {
        if std::time::Instant::now() > deadline {
            let tasks: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
                "SELECT kind, state, status_reason, last_error FROM scheduled_tasks ORDER BY created_at",
            )
            .fetch_all(&app.admin)
            .await
            .expect("tasks");
            panic!("no reply to {wamid} sent within {WAIT_SECS} s; tasks: {tasks:#?}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (id, conversation_id, key_id, sealed, metadata): (Uuid, Option<Uuid>, Option<String>, Option<Vec<u8>>, Value) =
        sqlx::query_as(&format!("SELECT o.id, o.conversation_id, o.pii_key_id, o.body_sealed, o.metadata {REPLY_OF}"))
            .bind(wamid)
            .fetch_one(&app.admin)
            .await
            .expect("the reply");
    let text = message_bodies::open(&app.keyring, shop.merchant, key_id.as_deref(), sealed.as_deref())
        .expect("the body opens")
        .expect("a text reply");
    Reply { id, conversation_id, text, agent: metadata["agent"].clone() }
}

/// Rows of `audit_log` with `action`.
pub async fn audited(app: &TestApp, action: &str) -> Vec<Value> {
    let rows: Vec<Option<Value>> = sqlx::query_scalar("SELECT after FROM audit_log WHERE action = $1 ORDER BY id")
        .bind(action)
        .fetch_all(&app.admin)
        .await
        .expect("audit rows");
    rows.into_iter().map(Option::unwrap_or_default).collect()
}

pub const SENT_REPLIES: &str = "SELECT count(*) FROM messages WHERE direction = 'outbound' AND status = 'sent'";

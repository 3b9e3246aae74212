//! A person in the loop: the merchant answers through the API the customers the agent handed
//! over (or that the merchant took over), the fake Graph API (a real HTTP server speaking
//! Meta's protocol) receives exactly what was sent, and the agent stays silent until the
//! conversation is resolved.

mod guards;
mod story;
mod window;

use recete_testkit::{TestDatabase, TestRedis};
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::MockServer;

use crate::followups::{graph_accepts, sent_bodies, spawn_messaging_app_on};
use crate::helpers::{PHONE_NUMBER_ID, TestApp};
use crate::knowledge::{Shop, WAIT_SECS, ask, reply_to, shop};

/// The agent with the local model, sending through the fake Graph API at `graph`, which
/// accepts every message.
pub async fn spawn_replies_app(graph: &MockServer) -> (TestApp, Shop) {
    graph_accepts(graph).await;
    let db = TestDatabase::create().await.expect("test database");
    let model_dir = format!("{}/models/all-MiniLM-L6-v2", env!("CARGO_MANIFEST_DIR"));
    let app = spawn_messaging_app_on(graph, db, TestRedis::new(), move |figment| {
        figment.merge(("embedding.model_dir", model_dir))
    })
    .await;
    let shop = shop(&app).await;
    (app, shop)
}

/// The customer asks for a person; returns the conversation, handed over, once the agent's
/// notice went out.
pub async fn handed_over(app: &TestApp, shop: &Shop) -> Uuid {
    ask(app, shop, "I want to talk to a real person", "wamid.PERSON").await;
    let notice = reply_to(app, shop, "wamid.PERSON").await;
    notice.conversation_id.expect("a conversation")
}

pub fn reply_path(conversation: Uuid) -> String {
    format!("/api/conversations/{conversation}/messages")
}

/// POSTs a reply as `shop`, with an `Idempotency-Key` when given.
pub async fn post_reply(
    app: &TestApp,
    api_key: &str,
    conversation: Uuid,
    body: &Value,
    key: Option<&str>,
) -> reqwest::Response {
    let mut request = app.client.post(app.url(&reply_path(conversation))).bearer_auth(api_key).json(body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    request.send().await.expect("request sent")
}

/// Waits until message `id` has `status`, polling as the superuser.
pub async fn wait_for_status(app: &TestApp, id: &str, status: &str) {
    app.wait_for_count(
        &format!("SELECT count(*) FROM messages WHERE id = '{id}' AND status = '{status}'"),
        1,
        WAIT_SECS,
    )
    .await;
}

/// The bodies the fake Graph API received with `type` text, as their text.
pub async fn texts_sent(graph: &MockServer) -> Vec<String> {
    sent_bodies(graph)
        .await
        .iter()
        .filter(|body| body["type"] == "text")
        .filter_map(|body| body["text"]["body"].as_str().map(str::to_owned))
        .collect()
}

/// Meta reporting `status` for the message we sent as `wamid` (our id in the callback data).
pub fn status_webhook(wamid: &str, message_id: &str, status: &str) -> Vec<u8> {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "statuses": [{"id": wamid, "status": status, "timestamp": chrono::Utc::now().timestamp().to_string(),
                          "recipient_id": crate::knowledge::CUSTOMER_WA_ID, "biz_opaque_callback_data": message_id}]
        }}]}]
    })
    .to_string()
    .into_bytes()
}

/// The thread's message with `id`.
pub fn message<'a>(thread: &'a Value, id: &str) -> &'a Value {
    thread["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|message| message["id"] == id)
        .unwrap_or_else(|| panic!("message {id} in {thread}"))
}

//! Follow-ups end to end: planning on delivery, sending through a fake Graph API (a real HTTP
//! server speaking Meta's protocol), statuses, STOP, and the merchant's view.

mod cloud_api;
mod flows;
mod meta_webhooks;

use chrono::{Duration, Utc};
use recete_platform::ids::MerchantId;
use recete_shared::integrations::{CreatedIntegration, IntegrationKind};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use figment::Figment;
use recete_testkit::{TestDatabase, TestRedis};

use crate::helpers::{PHONE_NUMBER_ID, TestApp, spawn_app_on, spawn_app_with};

pub const CUSTOMER_PHONE: &str = "+905551234567";
pub const CUSTOMER_WA_ID: &str = "905551234567";

pub async fn spawn_messaging_app(graph: &MockServer) -> TestApp {
    spawn_app_with(messaging_settings(graph)).await
}

/// Like [`spawn_messaging_app`], on backends the test made; `customize` comes last.
pub async fn spawn_messaging_app_on(
    graph: &MockServer,
    db: TestDatabase,
    redis: TestRedis,
    customize: impl FnOnce(Figment) -> Figment,
) -> TestApp {
    let messaging = messaging_settings(graph);
    spawn_app_on(db, redis, move |figment| customize(messaging(figment))).await
}

fn messaging_settings(graph: &MockServer) -> impl FnOnce(Figment) -> Figment + use<> {
    let uri = graph.uri();
    move |figment| {
        figment
            .merge(("whatsapp.graph_base_url", uri))
            .merge(("whatsapp.access_token", "test-token"))
            .merge(("whatsapp.request_timeout_ms", 700))
            .merge(("whatsapp.unknown_outcome_wait_secs", 2))
            .merge(("whatsapp.customer_gap_secs", 0))
    }
}

pub struct Shop {
    pub merchant: MerchantId,
    pub generic: CreatedIntegration,
    pub whatsapp: CreatedIntegration,
}

/// A merchant with a WhatsApp number and a two-step plan (at delivery, and an hour later), no
/// quiet hours unless the test sets them.
pub async fn shop(app: &TestApp) -> Shop {
    let merchant = app.merchant().await;
    let generic = app.integration(merchant, IntegrationKind::Generic).await;
    let whatsapp = app.integration(merchant, IntegrationKind::WhatsApp).await;
    let settings = json!({
        "quiet_hours": {"start": "00:00:00", "end": "00:00:00"},
        "follow_up_plan": [
            {"key": "t0", "offset_hours": 0, "window_text": "How is your serum?",
             "template": {"name": "recete_how_to_use", "language": "en", "category": "utility",
                          "parameters": ["customer_first_name", "product_title"]}},
            {"key": "t1", "offset_hours": 1,
             "template": {"name": "recete_check_in", "language": "en", "category": "utility", "parameters": ["order_number"]}}
        ]
    });
    sqlx::query("UPDATE merchants SET settings = $2 WHERE id = $1")
        .bind(merchant.as_uuid())
        .bind(settings)
        .execute(&app.admin)
        .await
        .expect("settings");
    Shop { merchant, generic, whatsapp }
}

/// An order delivered two hours ago (both plan steps due), customer with WhatsApp consent.
pub async fn deliver(app: &TestApp, shop: &Shop, order_id: &str) {
    let body = json!({
        "id": format!("delivered-{order_id}"), "type": "order.delivered",
        "occurred_at": (Utc::now() - Duration::hours(2)).to_rfc3339(),
        "order": {"id": order_id, "currency": "TRY", "total": "749.90",
                  "customer": {"name": "Ada Yilmaz", "phone": CUSTOMER_PHONE, "country": "TR", "whatsapp_consent": true},
                  "items": [{"id": "1", "sku": "SERUM-30", "title": "Vitamin C Serum", "quantity": 1}]}
    });
    let response = app.post_generic(&shop.generic, Utc::now().timestamp(), body.to_string().as_bytes()).await;
    assert_eq!(response.status(), 202);
}

pub async fn post_generic_event(app: &TestApp, shop: &Shop, id: &str, kind: &str, order_id: &str) {
    let body = json!({
        "id": id, "type": kind, "occurred_at": Utc::now().to_rfc3339(),
        "order": {"id": order_id}
    });
    let response = app.post_generic(&shop.generic, Utc::now().timestamp(), body.to_string().as_bytes()).await;
    assert_eq!(response.status(), 202);
}

/// Meta accepting every message, each under its own wamid.
pub async fn graph_accepts(graph: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!("/v21.0/{PHONE_NUMBER_ID}/messages")))
        .and(header("authorization", "Bearer test-token"))
        .respond_with(|request: &wiremock::Request| {
            let id = format!("wamid.{}", uuid::Uuid::new_v4().simple());
            let to = serde_json::from_slice::<serde_json::Value>(&request.body).ok().and_then(|b| b["to"].as_str().map(str::to_owned));
            ResponseTemplate::new(200)
                .set_body_json(json!({"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}], "messages": [{"id": id}]}))
        })
        .mount(graph)
        .await;
}

/// The bodies Meta received, in order.
pub async fn sent_bodies(graph: &MockServer) -> Vec<serde_json::Value> {
    graph
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|request| serde_json::from_slice(&request.body).expect("JSON body"))
        .collect()
}

pub const SENT: &str =
    "SELECT count(*) FROM messages WHERE direction = 'outbound' AND status IN ('sent', 'delivered', 'read')";

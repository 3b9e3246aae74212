//! The job payload on the board shows only what each source's allowlist names: a field no one
//! expected, at the top of a payload or deep inside it, is hidden, while ids, states, totals and
//! line items stay readable.

use chrono::Utc;
use recete_ops::operators::Role;
use recete_shared::integrations::IntegrationKind;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{signed_in, spawn_board};
use crate::helpers::{PHONE_NUMBER_ID, fixture};

const TOP_SECRET: &str = "P-1234567-TOP";
const NESTED_SECRET: &str = "P-7654321-NESTED";

/// A fixture with a field nobody listed added at the top and inside the object at `nested`.
fn with_surprises(name: &str, nested: &str) -> Vec<u8> {
    let text = String::from_utf8(fixture(name))
        .expect("utf8")
        .replace("PHONE_NUMBER_ID", PHONE_NUMBER_ID)
        .replace("OCCURRED_AT", &Utc::now().to_rfc3339());
    let mut body: Value = serde_json::from_str(&text).expect("fixture JSON");
    body["passport_number"] = json!(TOP_SECRET);
    body.pointer_mut(nested)
        .and_then(Value::as_object_mut)
        .expect("nested object")
        .insert("national_id".to_owned(), json!(NESTED_SECRET));
    serde_json::to_vec(&body).expect("JSON")
}

#[tokio::test]
async fn unexpected_personal_fields_are_hidden_for_every_source_and_listed_ones_stay_readable() {
    let board = spawn_board().await;
    let app = &board.app;
    let (_, shopify) = app.merchant_with(IntegrationKind::Shopify).await;
    let (_, woo) = app.merchant_with(IntegrationKind::WooCommerce).await;
    let (_, generic) = app.merchant_with(IntegrationKind::Generic).await;
    let (_, whatsapp) = app.merchant_with(IntegrationKind::WhatsApp).await;
    let shopify_body = with_surprises("shopify_orders_create.json", "/customer");
    assert_eq!(app.post_shopify(&shopify, "orders/create", "redact-1", &shopify_body).await.status(), 202);
    let woo_body = with_surprises("woocommerce_order_updated.json", "/line_items/0");
    assert_eq!(app.post_woocommerce(&woo, "order.updated", "redact-2", &woo_body).await.status(), 202);
    let generic_body = with_surprises("generic_order_delivered.json", "/order/items/0");
    assert_eq!(app.post_generic(&generic, Utc::now().timestamp(), &generic_body).await.status(), 202);
    let meta_body = with_surprises("whatsapp_inbound.json", "/entry/0/changes/0/value/messages/0");
    assert_eq!(app.post_whatsapp(&whatsapp.secret, &meta_body).await.status(), 200);

    let events: Vec<(Uuid, String)> = sqlx::query_as("SELECT id, source FROM external_events ORDER BY source")
        .fetch_all(&app.admin)
        .await
        .expect("events");
    let sources: Vec<&str> = events.iter().map(|(_, source)| source.as_str()).collect();
    for wanted in ["generic", "shopify", "whatsapp", "woocommerce"] {
        assert!(sources.contains(&wanted), "a {wanted} event was stored: {sources:?}");
    }
    let operator = signed_in(&board, "ops", Role::Operator).await;
    for (id, source) in &events {
        let view: Value =
            board.get(&operator, &format!("/ops/jobs/{id}/payload")).await.json().await.expect("payload json");
        assert_eq!(view["redacted"], true, "{source}: {view}");
        let text = view["text"].as_str().expect("text");
        assert!(!text.contains(TOP_SECRET) && !text.contains(NESTED_SECRET), "{source} shows a surprise: {text}");
        for personal in ["ada@example.com", "+90555", "Sheena", "16505551234", "How often"] {
            assert!(!text.contains(personal), "{source} shows {personal}: {text}");
        }
        let readable = match source.as_str() {
            "shopify" => vec!["\"currency\": \"USD\"", "IPOD2008PINK", "\"financial_status\""],
            "woocommerce" => vec!["\"currency\": \"EUR\"", "\"status\": \"processing\"", "\"quantity\""],
            "generic" => vec!["SERUM-30", "\"total\": \"749.90\"", "evt_1001_delivered"],
            _ => vec!["wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=", "\"type\": \"text\""],
        };
        for shown in readable {
            assert!(text.contains(shown), "{source} hides {shown}: {text}");
        }
        assert!(view["redacted_values"].as_u64().is_some_and(|n| n >= 2), "{source}: {view}");
    }
}

//! The analytics page over real traffic: deliveries through a signed store webhook, follow-ups
//! sent to a mock Meta, statuses and answers through signed WhatsApp webhooks, then the rollup.
//! The page draws each daily figure as an SVG chart whose bars and table hold those numbers, in
//! the merchant's time zone, over the range asked for.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use recete_analytics as analytics;
use recete_console::users::Role;
use recete_shared::integrations::IntegrationKind;
use recete_workers::Pool;
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{spawn_console, spawn_console_with};
use crate::helpers::{PHONE_NUMBER_ID, TestApp};
use crate::merchant_api_reads::{Shop, shop};

const ADA: &str = "905551234567";
const BORA: &str = "905557654321";
const SENT: &str =
    "SELECT count(*) FROM messages WHERE direction = 'outbound' AND status IN ('sent', 'delivered', 'read')";

/// A fixed-offset zone where it is about noon now, so the test never crosses a local midnight.
fn noon_zone(now: DateTime<Utc>) -> String {
    match 12 - i64::from(now.hour()) {
        0 => "Etc/GMT".to_owned(),
        ahead if ahead > 0 => format!("Etc/GMT-{ahead}"),
        behind => format!("Etc/GMT+{}", -behind),
    }
}

fn today_in(zone: &str) -> NaiveDate {
    let tz: chrono_tz::Tz = zone.parse().expect("zone");
    Utc::now().with_timezone(&tz).date_naive()
}

fn whatsapp_change(value: Value) -> Vec<u8> {
    json!({"object": "whatsapp_business_account",
           "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}]})
    .to_string()
    .into_bytes()
}

fn metadata() -> Value {
    json!({"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID})
}

fn inbound(from: &str, text: &str, wamid: &str) -> Vec<u8> {
    whatsapp_change(json!({
        "messaging_product": "whatsapp", "metadata": metadata(),
        "contacts": [{"profile": {"name": "Customer"}, "wa_id": from}],
        "messages": [{"from": from, "id": wamid, "timestamp": Utc::now().timestamp().to_string(),
                      "type": "text", "text": {"body": text}}]
    }))
}

fn status(to: &str, message_id: &str, wamid: &str, state: &str) -> Vec<u8> {
    whatsapp_change(json!({
        "messaging_product": "whatsapp", "metadata": metadata(),
        "statuses": [{"id": wamid, "status": state, "timestamp": Utc::now().timestamp().to_string(),
                      "recipient_id": to, "biz_opaque_callback_data": message_id}]
    }))
}

async fn deliver(app: &TestApp, shop: &Shop, order_id: &str, phone: &str) {
    let body = json!({
        "id": format!("delivered-{order_id}"), "type": "order.delivered",
        "occurred_at": (Utc::now() - chrono::Duration::minutes(1)).to_rfc3339(),
        "order": {"id": order_id, "currency": "TRY", "total": "749.90",
                  "customer": {"name": "Ada Yilmaz", "phone": phone, "country": "TR", "whatsapp_consent": true},
                  "items": [{"id": "1", "sku": "SERUM-30", "title": "Vitamin C Serum", "quantity": 1}]}
    });
    let response = app.post_generic(&shop.generic, Utc::now().timestamp(), body.to_string().as_bytes()).await;
    assert_eq!(response.status(), 202);
}

async fn follow_up_of(app: &TestApp, order_id: &str) -> (String, String) {
    let (id, wamid): (uuid::Uuid, String) = sqlx::query_as(
        "SELECT m.id, m.wa_message_id FROM messages m JOIN orders o ON o.id = m.order_id
         WHERE o.external_order_id = $1 AND m.direction = 'outbound' AND m.proactive",
    )
    .bind(order_id)
    .fetch_one(&app.admin)
    .await
    .expect("follow-up message");
    (id.to_string(), wamid)
}

/// The markup of chart `id`: from its `<figure>` to the end of its table.
fn chart<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page.find(&format!(r#"<figure class="chart" id="{id}">"#)).expect("the chart");
    let end = page[start..].find("</figure>").expect("the chart ends") + start;
    &page[start..end]
}

/// Each bar's (day, value) of a chart, in order.
fn bars(chart: &str) -> Vec<(String, i64)> {
    chart
        .split(r#"data-day=""#)
        .skip(1)
        .map(|rest| {
            let (day, rest) = rest.split_once('"').expect("day");
            let value = rest.split(r#"data-value=""#).nth(1).and_then(|v| v.split('"').next()).expect("value");
            (day.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

#[tokio::test]
async fn the_page_charts_each_daily_figure_of_real_traffic_with_its_table() {
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v21.0/{PHONE_NUMBER_ID}/messages")))
        .respond_with(|_: &wiremock::Request| {
            let id = format!("wamid.{}", uuid::Uuid::new_v4().simple());
            ResponseTemplate::new(200).set_body_json(json!({"messaging_product": "whatsapp", "messages": [{"id": id}]}))
        })
        .mount(&graph)
        .await;
    let embeddings = MockServer::start().await;
    let (graph_uri, embeddings_uri) = (graph.uri(), embeddings.uri());
    let console = spawn_console_with(move |figment| {
        figment
            .merge(("whatsapp.graph_base_url", graph_uri))
            .merge(("whatsapp.access_token", "test-token"))
            .merge(("whatsapp.customer_gap_secs", 0))
            .merge(("embedding.provider", "openai"))
            .merge(("embedding.base_url", embeddings_uri))
            .merge(("embedding.model", "test-embedder"))
    })
    .await;
    let app = &console.app;
    let zone = noon_zone(Utc::now());
    let shop = shop(app, "Glow Store", &zone).await;
    let whatsapp = app.integration(shop.merchant, IntegrationKind::WhatsApp).await;
    shop.set_settings(
        app,
        json!({
            "quiet_hours": {"start": "00:00:00", "end": "00:00:00"},
            "follow_up_plan": [
                {"key": "t0", "offset_hours": 0, "window_text": "How is your serum?",
                 "template": {"name": "recete_how_to_use", "language": "en", "category": "utility",
                              "parameters": ["customer_first_name", "product_title"]}},
                {"key": "t1", "offset_hours": 72,
                 "template": {"name": "recete_check_in", "language": "en", "category": "utility", "parameters": []}}
            ]
        }),
    )
    .await;
    let viewer = console.user(shop.merchant, "viewer@shop.example", Role::Viewer).await;
    let workers = app.start_pools(&[Pool::OrderEvents, Pool::WhatsAppEvents, Pool::Messages, Pool::Conversations]);

    // Two deliveries: both follow-ups go out; Meta reports Ada's delivered and read, Bora's delivered.
    deliver(app, &shop, "3001", &format!("+{ADA}")).await;
    deliver(app, &shop, "3002", &format!("+{BORA}")).await;
    app.wait_for_count(SENT, 2, 30).await;
    let (ada_message, ada_wamid) = follow_up_of(app, "3001").await;
    let (bora_message, bora_wamid) = follow_up_of(app, "3002").await;
    for (to, message, wamid, state) in [
        (ADA, &ada_message, &ada_wamid, "delivered"),
        (ADA, &ada_message, &ada_wamid, "read"),
        (BORA, &bora_message, &bora_wamid, "delivered"),
    ] {
        assert_eq!(app.post_whatsapp(&whatsapp.secret, &status(to, message, wamid, state)).await.status(), 200);
    }
    app.wait_for_count("SELECT count(*) FROM external_events WHERE source = 'whatsapp' AND state = 'processed'", 3, 30)
        .await;
    // Ada asks for a person (a hand-over), Bora says STOP (an opt-out); each gets a reply.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let asked = inbound(ADA, "I want to talk to a real person", "wamid.ADA-ASKS");
    assert_eq!(app.post_whatsapp(&whatsapp.secret, &asked).await.status(), 200);
    app.wait_for_count("SELECT count(*) FROM audit_log WHERE action = 'conversation.handed_over'", 1, 30).await;
    assert_eq!(app.post_whatsapp(&whatsapp.secret, &inbound(BORA, "STOP", "wamid.BORA-STOPS")).await.status(), 200);
    app.wait_for_count("SELECT count(*) FROM customers WHERE whatsapp_consent = 'revoked'", 1, 30).await;
    app.wait_for_count(SENT, 4, 30).await;
    // Ada orders again after her follow-up reached her: an attributed order.
    let placed = Utc::now().to_rfc3339();
    let again = json!({
        "id": "created-3003", "type": "order.created", "occurred_at": placed,
        "order": {"id": "3003", "placed_at": placed, "currency": "TRY", "total": "100.00",
                  "customer": {"name": "Ada Yilmaz", "phone": format!("+{ADA}"), "country": "TR", "whatsapp_consent": true},
                  "items": [{"id": "1", "sku": "SERUM-30", "title": "Vitamin C Serum", "quantity": 1}]}
    });
    let response = app.post_generic(&shop.generic, Utc::now().timestamp(), again.to_string().as_bytes()).await;
    assert_eq!(response.status(), 202);
    app.wait_for_count("SELECT count(*) FROM orders WHERE external_order_id = '3003'", 1, 30).await;
    workers.stop().await;
    analytics::recompute(&app.pool, None).await.expect("rollup");

    let today = today_in(&zone).to_string();
    let page = console.get_html(&viewer, "/console/analytics").await;
    assert!(page.contains(r#"href="/console/analytics" aria-current="page""#), "Analytics is in the navigation");
    assert!(page.contains(&format!("Days are counted in {zone}.")));
    for (id, title, expected) in [
        ("sent", "Sent", 4),
        ("delivered", "Delivered", 2),
        ("read", "Read", 1),
        ("replied", "Replied", 2),
        ("opt-outs", "Opt-outs", 1),
        ("hand-overs", "Hand-overs", 1),
    ] {
        let chart = chart(&page, id);
        assert!(chart.contains(r#"<svg role="img""#), "{id} is an SVG image");
        assert!(chart.contains(&format!(r#"<title id="{id}-title">{title}</title>"#)), "{id} has a title");
        assert!(chart.contains(&format!(r#"<desc id="{id}-desc">"#)), "{id} has a description");
        let bars = bars(chart);
        assert_eq!(bars.len(), 30, "{id}: the last 30 days by default");
        assert_eq!(bars.last(), Some(&(today.clone(), expected)), "{id}: today");
        assert!(bars[..29].iter().all(|(_, value)| *value == 0), "{id}: nothing before today");
        assert!(chart.contains(&format!(r#"<th scope="row">{today}</th><td>{expected}</td>"#)), "{id}: the table");
        assert!(chart.contains(&format!("{expected} in total")), "{id}: the table's caption");
    }
    assert!(page.contains(r#"<th scope="row">t0</th>"#), "per step figures");

    // What the follow-ups brought back: Ada's second order, in its currency; Ada ordered twice
    // of the two customers with follow-ups.
    assert!(page.contains(r#"<th scope="row">TRY</th><td data-label="Revenue">100.00 TRY</td>"#), "{page}");
    assert_eq!(bars(chart(&page, "attributed-orders")).last(), Some(&(today.clone(), 1)));
    assert!(
        page.contains(r#"<th scope="row">With follow-ups</th><td data-label="Ordered">2</td><td data-label="Ordered again">1</td><td data-label="Repeat rate">50.0%</td>"#),
        "{page}"
    );

    let week_ago = (today_in(&zone) - chrono::Days::new(6)).to_string();
    let week = console.get_html(&viewer, &format!("/console/analytics?from={week_ago}&to={today}")).await;
    let sent = bars(chart(&week, "sent"));
    assert_eq!(sent.len(), 7);
    assert_eq!(sent.first().map(|(day, _)| day.as_str()), Some(week_ago.as_str()));
}

#[tokio::test]
async fn a_bad_range_is_named_beside_its_field() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await;
    let viewer = console.user(merchant, "viewer@shop.example", Role::Viewer).await;
    let refused = console.get(&viewer, "/console/analytics?from=2026-03-02&to=2026-03-01").await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let page = refused.text().await.expect("page");
    assert!(
        page.contains(r#"id="from-error""#) && page.contains("From must not be after `to` (2026-03-01)."),
        "{page}"
    );
    let refused = console.get(&viewer, "/console/analytics?to=yesterday").await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.text().await.expect("page").contains("`yesterday` is not a day (YYYY-MM-DD)"));
    let empty = console.get_html(&viewer, "/console/analytics").await;
    assert_eq!(bars(chart(&empty, "sent")).len(), 30, "a store with no traffic gets zeros");
}

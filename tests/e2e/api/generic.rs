use chrono::Utc;
use recete_shared::integrations::IntegrationKind;

use crate::helpers::{assert_problem, fixture, spawn_app};

fn event_body(occurred_at: &str) -> Vec<u8> {
    String::from_utf8(fixture("generic_order_delivered.json"))
        .expect("utf8")
        .replace("OCCURRED_AT", occurred_at)
        .into_bytes()
}

#[tokio::test]
async fn a_signed_event_is_stored_once() {
    let app = spawn_app().await;
    let (_, api) = app.merchant_with(IntegrationKind::Generic).await;
    let body = event_body("2026-11-20T10:00:00Z");
    let response = app.post_generic(&api, Utc::now().timestamp(), &body).await;
    assert_eq!(response.status().as_u16(), 202);
    let retry = app.post_generic(&api, Utc::now().timestamp(), &body).await;
    assert_eq!(retry.status().as_u16(), 200);
    let events = app.events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].kind.as_str(), events[0].dedup_key.as_str()),
        ("order_delivered", "event:evt_1001_delivered")
    );
}

#[tokio::test]
async fn a_signature_outside_the_tolerance_is_refused_as_a_replay() {
    let app = spawn_app().await;
    let (_, api) = app.merchant_with(IntegrationKind::Generic).await;
    let body = event_body("2026-11-20T10:00:00Z");
    for skew in [-301, 301] {
        let response = app.post_generic(&api, Utc::now().timestamp() + skew, &body).await;
        let problem = assert_problem(response, 401).await;
        assert!(problem["detail"].as_str().is_some_and(|d| d.contains("tolerance")), "{problem}");
    }
    assert_eq!(app.event_count().await, 0);
}

#[tokio::test]
async fn malformed_signatures_and_fields_are_named() {
    let app = spawn_app().await;
    let (_, api) = app.merchant_with(IntegrationKind::Generic).await;
    let body = event_body("2026-11-20T10:00:00Z");
    let response = app
        .client
        .post(app.url(&api.webhook_path))
        .header("recete-signature", format!("v1={}", "ab".repeat(32)))
        .body(body.clone())
        .send()
        .await
        .expect("sent");
    let problem = assert_problem(response, 401).await;
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("t= is missing")), "{problem}");

    let bad_type = String::from_utf8(body).expect("utf8").replace("order.delivered", "order.teleported");
    let response = app.post_generic(&api, Utc::now().timestamp(), bad_type.as_bytes()).await;
    let problem = assert_problem(response, 422).await;
    assert_eq!(problem["field"], "type");

    let bad_time = event_body("the day before yesterday");
    let response = app.post_generic(&api, Utc::now().timestamp(), &bad_time).await;
    let problem = assert_problem(response, 422).await;
    assert_eq!(problem["field"], "occurred_at");
    assert_eq!(app.event_count().await, 0);
}

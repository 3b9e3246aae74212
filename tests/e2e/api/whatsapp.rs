use recete_shared::integrations::IntegrationKind;

use crate::helpers::{PHONE_NUMBER_ID, assert_problem, fixture, spawn_app};

fn payload(name: &str) -> Vec<u8> {
    String::from_utf8(fixture(name)).expect("utf8").replace("PHONE_NUMBER_ID", PHONE_NUMBER_ID).into_bytes()
}

#[tokio::test]
async fn the_verification_handshake_echoes_the_challenge_only_for_a_known_token() {
    let app = spawn_app().await;
    let (_, whatsapp) = app.merchant_with(IntegrationKind::WhatsApp).await;
    let token = whatsapp.verify_token.clone().expect("whatsapp integrations have a verify token");

    let ok =
        app.client
            .get(app.url(&format!(
                "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"
            )))
            .send()
            .await
            .expect("sent");
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(ok.text().await.expect("text"), "1158201444");

    let wrong_token = app
        .client
        .get(app.url("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1"))
        .send()
        .await
        .expect("sent");
    assert_problem(wrong_token, 403).await;

    let wrong_mode = app
        .client
        .get(app.url(&format!("/webhooks/whatsapp?hub.mode=unsubscribe&hub.verify_token={token}&hub.challenge=1")))
        .send()
        .await
        .expect("sent");
    assert_problem(wrong_mode, 400).await;
}

#[tokio::test]
async fn each_message_and_each_status_is_its_own_event_stored_once() {
    let app = spawn_app().await;
    let (merchant, whatsapp) = app.merchant_with(IntegrationKind::WhatsApp).await;

    let inbound = app.post_whatsapp(&whatsapp.secret, &payload("whatsapp_inbound.json")).await;
    assert_eq!(inbound.status().as_u16(), 200);
    let statuses = app.post_whatsapp(&whatsapp.secret, &payload("whatsapp_statuses.json")).await;
    assert_eq!(statuses.status().as_u16(), 200);
    let answer: serde_json::Value = statuses.json().await.expect("json");
    assert_eq!(answer["stored"].as_array().map(Vec::len), Some(2));

    let repeated = app.post_whatsapp(&whatsapp.secret, &payload("whatsapp_statuses.json")).await;
    assert_eq!(repeated.status().as_u16(), 200);

    let events = app.events().await;
    let keys: Vec<(&str, &str)> = events.iter().map(|e| (e.kind.as_str(), e.dedup_key.as_str())).collect();
    assert_eq!(
        keys,
        [
            ("message_inbound", "message:wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="),
            ("message_status", "status:wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI1QjJGRjI1RjI0N0Q1QkVCMzQA:delivered"),
            ("message_status", "status:wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI1QjJGRjI1RjI0N0Q1QkVCMzQA:read"),
        ]
    );
    assert!(events.iter().all(|e| e.merchant_id == merchant.as_uuid()));
}

#[tokio::test]
async fn a_wrong_signature_or_unknown_number_is_refused() {
    let app = spawn_app().await;
    let (_, whatsapp) = app.merchant_with(IntegrationKind::WhatsApp).await;
    let body = payload("whatsapp_inbound.json");

    let wrong_secret = app.post_whatsapp("not-the-app-secret", &body).await;
    assert_problem(wrong_secret, 401).await;

    let unsigned = app.client.post(app.url("/webhooks/whatsapp")).body(body.clone()).send().await.expect("sent");
    assert_problem(unsigned, 401).await;

    let other_number = String::from_utf8(body).expect("utf8").replace(PHONE_NUMBER_ID, "999999999");
    let unknown = app.post_whatsapp(&whatsapp.secret, other_number.as_bytes()).await;
    let problem = assert_problem(unknown, 401).await;
    assert_eq!(problem["detail"], "X-Hub-Signature-256 does not verify for this phone number");

    let not_json = app.post_whatsapp(&whatsapp.secret, b"<xml/>").await;
    assert_problem(not_json, 400).await;
    assert_eq!(app.event_count().await, 0);
}

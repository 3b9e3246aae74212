//! Deliveries as a merchant's receiver sees them: signed so the official library verifies them,
//! retried after a failure or a hang with the same `webhook-id`, replayed on request, dead-lettered
//! after the last attempt, and an endpoint failing for too long disabled with the reason.

use recete_workers::Pool;
use serde_json::{Value, json};

use super::{
    CUSTOMER_WA_ID, Receiver, deliveries, inbound_text, opt_out, register, shop, spawn_webhook_app,
    spawn_webhook_app_with, wait_for_delivery_state,
};
use crate::helpers::assert_problem;
use crate::merchant_api::json_with;

const POOLS: &[Pool] = &[Pool::WhatsAppEvents, Pool::Webhooks];

fn verified_by_first_secret(request: &Value) -> bool {
    request["verified_with"].as_array().is_some_and(|secrets| secrets.contains(&json!(0)))
}

#[tokio::test]
async fn an_opt_out_reaches_the_endpoint_signed_as_the_official_library_verifies() {
    let app = spawn_webhook_app().await;
    let shop = shop(&app, "Serum Shop").await;
    let receiver = Receiver::start();
    let (endpoint, secret) =
        register(&app, &shop.tenant, &receiver.url("/ok"), &["customer.opted_out", "message.failed"]).await;
    receiver.trust(&[&secret]);
    let _workers = app.start_pools(POOLS);

    opt_out(&app, &shop, "wamid.STOP1").await;
    let received = receiver.wait_for(1, 30).await;
    let request = &received[0];
    assert!(verified_by_first_secret(request), "{request:#}");
    assert_eq!(request["answered"], 204);
    assert_eq!(request["signatures"], 1);
    assert_eq!(request["content_type"], "application/json");
    let event_id: String = sqlx::query_scalar("SELECT id::text FROM merchant_events WHERE type = 'customer.opted_out'")
        .fetch_one(&app.admin)
        .await
        .expect("one event");
    assert_eq!(request["webhook_id"], event_id.as_str(), "the event's id is the webhook-id");
    let body = &request["body"];
    assert_eq!(body["type"], "customer.opted_out");
    assert!(body["timestamp"].as_str().is_some_and(|at| at.ends_with('Z')), "{body}");
    let data = &body["data"];
    assert_eq!(data["source"], "whatsapp:STOP");
    assert_eq!(data["customer"]["name"], "Ada Yilmaz");
    assert_eq!(data["customer"]["phone"], "+90 ****67", "only the masked phone leaves");
    assert_eq!(data["customer"]["id"], data["customer_id"]);
    assert!(!request.to_string().contains(CUSTOMER_WA_ID), "the full number is never sent");

    let delivered = wait_for_delivery_state(&app, &shop.tenant, &endpoint, "delivered").await;
    assert_eq!(delivered["webhook_id"], event_id.as_str());
    assert_eq!(delivered["event_type"], "customer.opted_out");
    assert_eq!((delivered["attempts"].clone(), delivered["last_status_code"].clone()), (json!(1), json!(204)));
    assert_eq!(receiver.received().len(), 1, "delivered once");
}

#[tokio::test]
async fn a_customer_writing_during_a_hand_over_is_sent_with_their_words() {
    let app = spawn_webhook_app().await;
    let shop = shop(&app, "Serum Shop").await;
    let receiver = Receiver::start();
    let (_, secret) = register(&app, &shop.tenant, &receiver.url("/ok"), &["conversation.message_received"]).await;
    receiver.trust(&[&secret]);
    let _workers = app.start_pools(POOLS);

    let first = app.post_whatsapp(&shop.whatsapp.secret, &inbound_text("Is the serum vegan?", "wamid.Q1")).await;
    assert_eq!(first.status(), 200);
    app.wait_for_count("SELECT count(*) FROM conversations", 1, 20).await;
    sqlx::query(
        "UPDATE conversations SET state = 'handed_over', handed_over_at = now(), handover_reason = 'unsupported'",
    )
    .execute(&app.admin)
    .await
    .expect("handed over");
    let second = app.post_whatsapp(&shop.whatsapp.secret, &inbound_text("Any news?", "wamid.Q2")).await;
    assert_eq!(second.status(), 200);

    let received = receiver.wait_for(1, 30).await;
    let request = &received[0];
    assert!(verified_by_first_secret(request), "{request:#}");
    let data = &request["body"]["data"];
    assert_eq!(request["body"]["type"], "conversation.message_received");
    assert_eq!(data["text"], "Any news?");
    assert_eq!(data["message_type"], "text");
    assert_eq!(data["customer"]["phone"], "+90 ****67");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 1, "the message before the hand-over raised no event");
}

#[tokio::test]
async fn a_receiver_that_fails_once_gets_the_event_once_more_with_the_same_webhook_id() {
    let app = spawn_webhook_app().await;
    let shop = shop(&app, "Serum Shop").await;
    let receiver = Receiver::start();
    let (endpoint, secret) = register(&app, &shop.tenant, &receiver.url("/flaky"), &["customer.opted_out"]).await;
    receiver.trust(&[&secret]);
    let _workers = app.start_pools(POOLS);

    opt_out(&app, &shop, "wamid.STOP1").await;
    let delivered = wait_for_delivery_state(&app, &shop.tenant, &endpoint, "delivered").await;
    let received = receiver.received();
    assert_eq!(received.len(), 2, "{received:#?}");
    assert_eq!(
        received.iter().map(|request| request["answered"].clone()).collect::<Vec<_>>(),
        vec![json!(500), json!(204)]
    );
    assert_eq!(received[0]["webhook_id"], received[1]["webhook_id"]);
    assert!(received.iter().all(verified_by_first_secret), "{received:#?}");
    assert_eq!(delivered["attempts"], 2);
    assert_eq!(delivered["last_error"], json!(null));
    let attempts: Vec<String> =
        sqlx::query_scalar("SELECT outcome FROM job_attempts WHERE queue = 'webhooks' ORDER BY started_at")
            .fetch_all(&app.admin)
            .await
            .expect("attempt history");
    assert_eq!(attempts, ["failed", "succeeded"]);
}

#[tokio::test]
async fn a_receiver_that_hangs_is_timed_out_and_tried_again() {
    let app = spawn_webhook_app().await;
    let shop = shop(&app, "Serum Shop").await;
    let receiver = Receiver::start();
    let (endpoint, secret) = register(&app, &shop.tenant, &receiver.url("/hang"), &["customer.opted_out"]).await;
    receiver.trust(&[&secret]);
    let _workers = app.start_pools(POOLS);

    opt_out(&app, &shop, "wamid.STOP1").await;
    let delivered = wait_for_delivery_state(&app, &shop.tenant, &endpoint, "delivered").await;
    let received = receiver.received();
    assert_eq!(received.len(), 2, "{received:#?}");
    assert_eq!(received[0]["answered"], "hang");
    assert_eq!(received[0]["webhook_id"], received[1]["webhook_id"]);
    let waited = received[1]["received_at"].as_f64().unwrap_or_default()
        - received[0]["received_at"].as_f64().unwrap_or_default();
    assert!(waited < 10.0, "the hung attempt was cut off at the 1.5 s timeout, not after 30 s: {waited}");
    assert_eq!(delivered["attempts"], 2);
    let first_error: String =
        sqlx::query_scalar("SELECT error FROM job_attempts WHERE queue = 'webhooks' AND outcome = 'failed'")
            .fetch_one(&app.admin)
            .await
            .expect("the failed attempt");
    assert!(first_error.contains("timed out"), "{first_error}");
}

#[tokio::test]
async fn a_replayed_delivery_keeps_its_webhook_id_and_a_rotated_secret_still_signs_during_the_overlap() {
    let app = spawn_webhook_app().await;
    let shop = shop(&app, "Serum Shop").await;
    let receiver = Receiver::start();
    let (endpoint, old_secret) = register(&app, &shop.tenant, &receiver.url("/ok"), &["customer.opted_out"]).await;
    receiver.trust(&[&old_secret]);
    let _workers = app.start_pools(POOLS);

    opt_out(&app, &shop, "wamid.STOP1").await;
    let delivered = wait_for_delivery_state(&app, &shop.tenant, &endpoint, "delivered").await;
    let delivery = delivered["id"].as_str().expect("delivery id");

    let rotated = json_with(
        shop.tenant.post(&app, &format!("/api/webhook-endpoints/{endpoint}/rotate-secret"), &json!({})).await,
        200,
    )
    .await;
    let new_secret = rotated["secret"].as_str().expect("new secret");
    receiver.trust(&[new_secret, &old_secret]);
    let retried = json_with(
        shop.tenant
            .post(&app, &format!("/api/webhook-endpoints/{endpoint}/deliveries/{delivery}/retry"), &json!({}))
            .await,
        202,
    )
    .await;
    assert_eq!(retried["state"], "pending");

    let received = receiver.wait_for(2, 30).await;
    assert_eq!(received[1]["webhook_id"], received[0]["webhook_id"], "a replay keeps the webhook-id");
    assert_eq!(
        received[1]["verified_with"],
        json!([0, 1]),
        "signed with the new and the old secret: {:#}",
        received[1]
    );
    assert_eq!(received[1]["signatures"], 2);
    let replayed = wait_for_delivery_state(&app, &shop.tenant, &endpoint, "delivered").await;
    assert_eq!(replayed["attempts"], 2);
    assert_eq!(deliveries(&app, &shop.tenant, &endpoint).await.len(), 1, "a replay is the same delivery");

    let missing = uuid::Uuid::now_v7();
    assert_problem(
        shop.tenant
            .post(&app, &format!("/api/webhook-endpoints/{endpoint}/deliveries/{missing}/retry"), &json!({}))
            .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn a_delivery_failing_every_attempt_is_dead_lettered_and_can_be_replayed() {
    let app = spawn_webhook_app().await;
    let shop = shop(&app, "Serum Shop").await;
    let receiver = Receiver::start();
    let (endpoint, secret) = register(&app, &shop.tenant, &receiver.url("/fail"), &["customer.opted_out"]).await;
    receiver.trust(&[&secret]);
    let _workers = app.start_pools(POOLS);

    opt_out(&app, &shop, "wamid.STOP1").await;
    let dead = wait_for_delivery_state(&app, &shop.tenant, &endpoint, "dead").await;
    assert_eq!(dead["attempts"], 3, "pools.webhooks.max_attempts");
    assert_eq!(dead["last_status_code"], 500);
    assert!(dead["last_error"].as_str().is_some_and(|error| error.contains("500")), "{dead}");
    assert_eq!(dead["next_attempt_at"], json!(null));
    assert_eq!(receiver.received().len(), 3);
    let endpoint_view = shop.tenant.get_json(&app, &format!("/api/webhook-endpoints/{endpoint}")).await;
    assert_eq!(endpoint_view["enabled"], true, "a day of failures is not days");
    assert!(endpoint_view["failing_since"].is_string(), "{endpoint_view}");

    let delivery = dead["id"].as_str().expect("id");
    let retry = format!("/api/webhook-endpoints/{endpoint}/deliveries/{delivery}/retry");
    json_with(shop.tenant.post(&app, &retry, &json!({})).await, 202).await;
    receiver.wait_for(4, 30).await;
}

#[tokio::test]
async fn an_endpoint_failing_for_too_long_is_disabled_with_the_reason_and_can_be_enabled_again() {
    let app = spawn_webhook_app_with(|figment| {
        // A retry can start up to a second before it is due (jobs are scheduled in whole seconds),
        // so the backoff leaves more than that beyond the one-second failure streak.
        figment.merge(("webhooks.disable_after_secs", 1)).merge(("pools.webhooks.backoff_base_ms", 3000))
    })
    .await;
    let shop = shop(&app, "Serum Shop").await;
    let receiver = Receiver::start();
    let (endpoint, secret) = register(&app, &shop.tenant, &receiver.url("/fail"), &["customer.opted_out"]).await;
    receiver.trust(&[&secret]);
    let _workers = app.start_pools(POOLS);

    opt_out(&app, &shop, "wamid.STOP1").await;
    let cancelled = wait_for_delivery_state(&app, &shop.tenant, &endpoint, "cancelled").await;
    assert_eq!(cancelled["last_error"], "not sent: the endpoint is disabled");
    assert_eq!(receiver.received().len(), 2, "failed once, failed again past the limit, then nothing");
    let disabled = shop.tenant.get_json(&app, &format!("/api/webhook-endpoints/{endpoint}")).await;
    assert_eq!(disabled["enabled"], false);
    let reason = disabled["disabled_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("every delivery failed since") && reason.contains("500"), "{reason}");

    let delivery = cancelled["id"].as_str().expect("id");
    let retry = format!("/api/webhook-endpoints/{endpoint}/deliveries/{delivery}/retry");
    assert_problem(shop.tenant.post(&app, &retry, &json!({})).await, 409).await;
    let enabled = json_with(
        shop.tenant.patch(&app, &format!("/api/webhook-endpoints/{endpoint}"), &json!({"enabled": true})).await,
        200,
    )
    .await;
    assert_eq!((enabled["enabled"].clone(), enabled["failing_since"].clone()), (json!(true), json!(null)));
    json_with(shop.tenant.post(&app, &retry, &json!({})).await, 202).await;
    receiver.wait_for(3, 30).await;
}

#[tokio::test]
async fn a_hand_over_reaches_the_endpoint_with_the_question_and_the_reason_then_the_customers_next_words() {
    let model_dir = format!("{}/models/all-MiniLM-L6-v2", env!("CARGO_MANIFEST_DIR"));
    let app = spawn_webhook_app_with(|figment| figment.merge(("embedding.model_dir", model_dir))).await;
    let shop = shop(&app, "Serum Shop").await;
    let receiver = Receiver::start();
    let (_, secret) = register(
        &app,
        &shop.tenant,
        &receiver.url("/ok"),
        &["conversation.handed_over", "conversation.message_received"],
    )
    .await;
    receiver.trust(&[&secret]);
    let _workers = app.start_pools(&[Pool::WhatsAppEvents, Pool::Conversations, Pool::Webhooks]);

    let asked = inbound_text("I want to talk to a real person", "wamid.PERSON");
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &asked).await.status(), 200);
    let received = receiver.wait_for(1, 60).await;
    let handed_over = &received[0];
    assert!(verified_by_first_secret(handed_over), "{handed_over:#}");
    assert_eq!(handed_over["body"]["type"], "conversation.handed_over");
    let data = &handed_over["body"]["data"];
    assert_eq!(data["question"], "I want to talk to a real person");
    assert_eq!(data["reason"], "the customer asked for a person");
    assert_eq!(data["guardrail"], json!(null));
    assert_eq!(
        (data["customer"]["name"].clone(), data["customer"]["phone"].clone()),
        (json!("Ada Yilmaz"), json!("+90 ****67"))
    );
    let conversation: String = sqlx::query_scalar("SELECT id::text FROM conversations WHERE state = 'handed_over'")
        .fetch_one(&app.admin)
        .await
        .expect("the conversation is with a person");
    assert_eq!(data["conversation_id"], conversation.as_str());

    let follow_up = inbound_text("Hello? Anyone there?", "wamid.WAITING");
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &follow_up).await.status(), 200);
    let received = receiver.wait_for(2, 30).await;
    assert_eq!(received[1]["body"]["type"], "conversation.message_received");
    assert_eq!(received[1]["body"]["data"]["text"], "Hello? Anyone there?");
    assert_eq!(received[1]["body"]["data"]["conversation_id"], conversation.as_str());
    assert!(verified_by_first_secret(&received[1]), "{:#}", received[1]);
}

//! The hand-over story end to end: a question the catalogue cannot answer is handed over; the
//! merchant's webhook endpoint receives `conversation.handed_over` (checked by the official
//! Standard Webhooks library) and the live stream shows the same event; the merchant replies
//! through the API and the fake Graph API receives exactly that one text; the customer answers
//! (on the stream too); once resolved, the agent answers the next question again.

use recete_testkit::{TestDatabase, TestRedis};
use serde_json::json;
use wiremock::MockServer;

use super::open;
use crate::followups::{graph_accepts, sent_bodies, spawn_messaging_app_on};
use crate::knowledge::{WAIT_SECS, ask, embedded_serum, reply_to, shop};
use crate::replies::{reply_path, texts_sent, wait_for_status};
use crate::webhooks::Receiver;

/// What the agent says in English when the store's text does not answer.
fn dont_know() -> &'static str {
    recete_shared::languages::Language::English.phrases().dont_know
}

const MARS_ANSWER: &str = "Yes, we ship to Mars: about three days by rocket.";

#[tokio::test]
async fn a_hand_over_reaches_the_endpoint_and_the_stream_the_merchant_replies_and_the_agent_answers_after_resolve() {
    let graph = MockServer::start().await;
    graph_accepts(&graph).await;
    let model_dir = format!("{}/models/all-MiniLM-L6-v2", env!("CARGO_MANIFEST_DIR"));
    let app = spawn_messaging_app_on(&graph, TestDatabase::create().await.expect("database"), TestRedis::new(), |f| {
        f.merge(("embedding.model_dir", model_dir))
            .merge(("webhooks.allow_loopback", true))
            .merge(("webhooks.request_timeout_ms", 1500))
            .merge(("pools.webhooks.timeout_secs", 10))
            .merge(("events.stream_heartbeat_secs", 1))
    })
    .await;
    let shop = shop(&app).await;
    let receiver = Receiver::start();
    let created = shop
        .post(
            &app,
            "/api/webhook-endpoints",
            &json!({"url": receiver.url("/ok"), "event_types": ["conversation.handed_over"]}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let created: serde_json::Value = created.json().await.expect("JSON body");
    receiver.trust(&[created["secret"].as_str().expect("secret shown once")]);
    let mut stream = open(&app, &shop.api_key, None).await;
    let _workers = app.start_workers();
    embedded_serum(&app, &shop).await;

    // A question the catalogue cannot answer: the agent says so and hands over.
    ask(&app, &shop, "do you ship to mars?", "wamid.MARS").await;
    let notice = reply_to(&app, &shop, "wamid.MARS").await;
    assert_eq!(notice.text, dont_know());
    let conversation = notice.conversation_id.expect("conversation").to_string();

    // The endpoint receives it, verified by the official library...
    let delivered = &receiver.wait_for(1, 60).await[0];
    assert_eq!(delivered["verified_with"], json!([0]), "{delivered:#}");
    assert_eq!(delivered["body"]["type"], "conversation.handed_over");
    assert_eq!(delivered["body"]["data"]["question"], "do you ship to mars?");
    assert_eq!(delivered["body"]["data"]["conversation_id"], conversation.as_str());
    // ...and the stream shows the same event: its id is the webhook-id, its data the same body.
    let streamed = stream.next_event(60).await;
    assert_eq!(streamed.event.as_deref(), Some("conversation.handed_over"));
    assert_eq!(streamed.id.as_ref(), delivered["webhook_id"].as_str().map(str::to_owned).as_ref());
    assert_eq!(streamed.json(), delivered["body"]);

    // The merchant replies; the fake Graph API receives exactly that one text.
    let response =
        shop.post(&app, &reply_path(notice.conversation_id.expect("id")), &json!({"text": MARS_ANSWER})).await;
    assert_eq!(response.status(), 202);
    let queued: serde_json::Value = response.json().await.expect("JSON body");
    wait_for_status(&app, queued["id"].as_str().expect("message id"), "sent").await;
    assert_eq!(sent_bodies(&graph).await.len(), 2, "the agent's notice and the merchant's reply");
    assert_eq!(texts_sent(&graph).await.iter().filter(|text| *text == MARS_ANSWER).count(), 1);

    // The customer answers the person: on the stream, and the agent stays silent.
    ask(&app, &shop, "great, thank you!", "wamid.THANKS").await;
    let answered = stream.next_event(WAIT_SECS).await;
    assert_eq!(answered.event.as_deref(), Some("conversation.message_received"));
    assert_eq!(answered.json()["data"]["text"], "great, thank you!");
    assert_eq!(answered.json()["data"]["conversation_id"], conversation.as_str());
    app.wait_for_count(
        "SELECT count(*) FROM scheduled_tasks WHERE kind = 'answer' AND state = 'cancelled'
           AND cancel_reason = 'the conversation is with a person'",
        1,
        WAIT_SECS,
    )
    .await;
    assert_eq!(sent_bodies(&graph).await.len(), 2, "the agent stayed silent");

    // Resolved, the conversation is the agent's again.
    let resolved = shop.post(&app, &format!("/api/conversations/{conversation}/resolve"), &json!({})).await;
    assert_eq!(resolved.status(), 200);
    ask(&app, &shop, "how many drops of the serum should i use?", "wamid.DROPS").await;
    let answer = reply_to(&app, &shop, "wamid.DROPS").await;
    assert!(answer.text.contains("four drops"), "{}", answer.text);
    assert_eq!(answer.conversation_id.map(|id| id.to_string()), Some(conversation));
    let bodies = sent_bodies(&graph).await;
    assert_eq!(bodies.len(), 3, "the notice, the reply, the agent's answer, nothing else: {bodies:#?}");
    assert_eq!(receiver.received().len(), 1, "one hand-over, delivered once");
}

//! What keeps a reply safe: a retried request sends once, a merchant may silence the agent by
//! taking a conversation over, and nobody replies to a conversation that is not theirs.

use serde_json::{Value, json};
use wiremock::MockServer;

use super::{handed_over, post_reply, reply_path, spawn_replies_app, texts_sent, wait_for_status};
use crate::followups::sent_bodies;
use crate::helpers::assert_problem;
use crate::knowledge::{WAIT_SECS, ask, embedded_serum, reply_to};

const DROPS_QUESTION: &str = "how many drops of the serum should i use?";

#[tokio::test]
async fn the_same_idempotency_key_twice_sends_once_and_answers_the_same() {
    let graph = MockServer::start().await;
    let (app, shop) = spawn_replies_app(&graph).await;
    let _workers = app.start_workers();
    let conversation = handed_over(&app, &shop).await;
    let body = json!({"text": "Hello, this is Deniz from the shop. How can I help?"});

    // Two copies at once, as a client retrying a timed-out request might send them.
    let (first, second) = tokio::join!(
        post_reply(&app, &shop.api_key, conversation, &body, Some("reply-7f3a")),
        post_reply(&app, &shop.api_key, conversation, &body, Some("reply-7f3a")),
    );
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (202, 202));
    let replayed = [&first, &second]
        .iter()
        .filter(|r| r.headers().get("idempotent-replayed").is_some_and(|v| v == "true"))
        .count();
    assert_eq!(replayed, 1, "one did the work, the other answered its answer");
    let first: Value = first.json().await.expect("JSON body");
    let second: Value = second.json().await.expect("JSON body");
    assert_eq!(first, second);
    let id = first["id"].as_str().expect("id").to_owned();
    wait_for_status(&app, &id, "sent").await;

    // Later, the same key again: the same answer, nothing sent.
    let again = post_reply(&app, &shop.api_key, conversation, &body, Some("reply-7f3a")).await;
    assert_eq!(again.status(), 202);
    assert_eq!(again.json::<Value>().await.expect("JSON body"), first);
    // The same key with another text is a mistake the client must hear about.
    let other =
        post_reply(&app, &shop.api_key, conversation, &json!({"text": "Something else"}), Some("reply-7f3a")).await;
    let problem = assert_problem(other, 422).await;
    assert_eq!(problem["field"], "Idempotency-Key");
    let bad_key = post_reply(&app, &shop.api_key, conversation, &body, Some("has spaces in it")).await;
    assert_eq!(assert_problem(bad_key, 422).await["field"], "Idempotency-Key");
    // Without a key, a second request is a second reply.
    let unkeyed = post_reply(&app, &shop.api_key, conversation, &body, None).await;
    assert_eq!(unkeyed.status(), 202);
    let unkeyed: Value = unkeyed.json().await.expect("JSON body");
    assert_ne!(unkeyed["id"], first["id"]);
    wait_for_status(&app, unkeyed["id"].as_str().expect("id"), "sent").await;

    let texts = texts_sent(&graph).await;
    assert_eq!(texts.iter().filter(|t| t.starts_with("Hello, this is Deniz")).count(), 2, "{texts:#?}");
    assert_eq!(app.count("SELECT count(*) FROM messages WHERE author LIKE 'merchant:%'").await, 2);
    assert_eq!(
        app.count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'reply' AND unique_key LIKE 'merchant-reply:%'")
            .await,
        2
    );

    assert_eq!(app.count("SELECT count(*) FROM idempotency_keys").await, 1, "one key, kept with its answer");
    // A day later the answer is gone: housekeeping prunes it, and the key may be used afresh.
    sqlx::query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
        .execute(&app.admin)
        .await
        .expect("age the key");
    recete_workers::housekeeping::tick(&app.worker_deps()).await;
    assert_eq!(app.count("SELECT count(*) FROM idempotency_keys").await, 0);
}

#[tokio::test]
async fn taking_a_conversation_over_silences_the_agent_until_it_is_resolved() {
    let graph = MockServer::start().await;
    let (app, shop) = spawn_replies_app(&graph).await;
    let _workers = app.start_workers();
    embedded_serum(&app, &shop).await;
    ask(&app, &shop, DROPS_QUESTION, "wamid.FIRST").await;
    let answer = reply_to(&app, &shop, "wamid.FIRST").await;
    let conversation = answer.conversation_id.expect("conversation");

    let take_over = format!("/api/conversations/{conversation}/take-over");
    let taken = shop.post(&app, &take_over, &json!({})).await;
    assert_eq!(taken.status(), 200);
    let taken: Value = taken.json().await.expect("JSON body");
    assert_eq!((&taken["state"], &taken["handed_over"]), (&json!("handed_over"), &json!(true)));
    assert_eq!(taken["handover_reason"], "taken over by the merchant");
    let twice = assert_problem(shop.post(&app, &take_over, &json!({})).await, 409).await;
    assert!(twice["detail"].as_str().is_some_and(|d| d.contains("already with a person")), "{twice}");
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE action = 'conversation.taken_over'").await, 1);

    // The customer asks again: stored, not answered by the agent.
    ask(&app, &shop, DROPS_QUESTION, "wamid.SECOND").await;
    app.wait_for_count(
        "SELECT count(*) FROM scheduled_tasks WHERE kind = 'answer' AND state = 'cancelled'
           AND cancel_reason = 'the conversation is with a person'",
        1,
        WAIT_SECS,
    )
    .await;
    assert_eq!(sent_bodies(&graph).await.len(), 1, "only the agent's first answer");

    let reply = shop.post(&app, &reply_path(conversation), &json!({"text": "Four drops, every morning."})).await;
    assert_eq!(reply.status(), 202);
    let reply: Value = reply.json().await.expect("JSON body");
    wait_for_status(&app, reply["id"].as_str().expect("id"), "sent").await;
    assert_eq!(texts_sent(&graph).await.last().map(String::as_str), Some("Four drops, every morning."));

    assert_eq!(shop.post(&app, &format!("/api/conversations/{conversation}/resolve"), &json!({})).await.status(), 200);
    ask(&app, &shop, DROPS_QUESTION, "wamid.THIRD").await;
    let again = reply_to(&app, &shop, "wamid.THIRD").await;
    assert!(again.text.contains("four drops"), "{}", again.text);
    assert_eq!(sent_bodies(&graph).await.len(), 3);
}

#[tokio::test]
async fn another_merchants_conversation_is_not_found_and_nothing_is_sent() {
    let graph = MockServer::start().await;
    let (app, shop) = spawn_replies_app(&graph).await;
    let _workers = app.start_workers();
    let conversation = handed_over(&app, &shop).await;
    let before = sent_bodies(&graph).await.len();

    let other = recete_shared::merchants::create(&app.pool, "Other Store", "UTC").await.expect("other merchant");
    let body = json!({"text": "Send me your address"});
    let foreign = post_reply(&app, &other.api_key, conversation, &body, Some("foreign-1")).await;
    assert_problem(foreign, 404).await;
    let template = json!({"template": {"name": "order_update", "language": "en"}});
    assert_problem(post_reply(&app, &other.api_key, conversation, &template, None).await, 404).await;
    let take_over = app
        .client
        .post(app.url(&format!("/api/conversations/{conversation}/take-over")))
        .bearer_auth(&other.api_key)
        .send()
        .await
        .expect("sent");
    assert_problem(take_over, 404).await;

    // A key that may only read cannot reply either.
    let created = shop.post(&app, "/api/api-keys", &json!({"name": "dashboard", "scopes": ["read"]})).await;
    assert_eq!(created.status(), 201);
    let read_key = created.json::<Value>().await.expect("JSON body")["key"].as_str().expect("key").to_owned();
    let refused = assert_problem(post_reply(&app, &read_key, conversation, &body, None).await, 403).await;
    assert!(refused["detail"].as_str().is_some_and(|d| d.contains("`write` scope")), "{refused}");

    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(sent_bodies(&graph).await.len(), before, "nothing more went to Meta");
    assert_eq!(app.count("SELECT count(*) FROM messages WHERE author LIKE 'merchant:%'").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM scheduled_tasks WHERE unique_key LIKE 'merchant-reply:%'").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM idempotency_keys").await, 0, "a refused request keeps no key");
    assert_eq!(app.count("SELECT count(*) FROM conversations WHERE state = 'handed_over'").await, 1);
}

#[tokio::test]
async fn a_reply_that_cannot_go_out_says_why_instead_of_staying_queued() {
    let graph = MockServer::start().await;
    let (app, shop) = spawn_replies_app(&graph).await;
    let _workers = app.start_workers();
    let conversation = handed_over(&app, &shop).await;
    let disable = format!("/api/integrations/{}/disable", shop.whatsapp.integration_id);
    assert_eq!(shop.post(&app, &disable, &json!({})).await.status(), 200);

    let reply = shop.post(&app, &reply_path(conversation), &json!({"text": "Are you still there?"})).await;
    assert_eq!(reply.status(), 202);
    let id = reply.json::<Value>().await.expect("JSON body")["id"].as_str().expect("id").to_owned();
    wait_for_status(&app, &id, "skipped").await;
    let thread = shop.get_json(&app, &reply_path(conversation)).await;
    let skipped = super::message(&thread, &id);
    assert_eq!(skipped["error_reason"], "the merchant has no active WhatsApp integration");
    assert_eq!(sent_bodies(&graph).await.len(), 1, "only the agent's notice, sent before");
}

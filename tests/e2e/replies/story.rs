//! The whole story: a question the catalogue cannot answer is handed over, the merchant answers
//! through the API, the customer writes back to the person (the agent silent), and once the
//! conversation is resolved the agent answers the next question again.

use serde_json::{Value, json};
use wiremock::MockServer;

use super::{message, reply_path, spawn_replies_app, status_webhook, texts_sent, wait_for_status};
use crate::followups::sent_bodies;
use crate::helpers::fixture;
use crate::knowledge::{CUSTOMER_WA_ID, WAIT_SECS, ask, embedded_serum, reply_to};

/// What the agent says in English when the store's text does not answer.
fn dont_know() -> &'static str {
    recete_shared::languages::Language::English.phrases().dont_know
}

const MARS_ANSWER: &str = "Yes, we ship to Mars: about three days by rocket. I'll send you the tracking link.";

#[tokio::test]
async fn a_handed_over_customer_gets_the_merchants_reply_and_the_agent_answers_again_after_resolve() {
    let graph = MockServer::start().await;
    let (app, shop) = spawn_replies_app(&graph).await;
    let _workers = app.start_workers();
    embedded_serum(&app, &shop).await;

    // A question the catalogue cannot answer: the agent says so and hands over.
    ask(&app, &shop, "do you ship to mars?", "wamid.MARS").await;
    let notice = reply_to(&app, &shop, "wamid.MARS").await;
    assert_eq!(notice.text, dont_know());
    let conversation = notice.conversation_id.expect("conversation");
    let listed = shop.get_json(&app, "/api/conversations?state=handed_over").await;
    assert_eq!(listed["conversations"][0]["id"], conversation.to_string(), "{listed}");
    assert_eq!(sent_bodies(&graph).await.len(), 1, "the agent's notice only");

    // The merchant replies through the API.
    let response = shop.post(&app, &reply_path(conversation), &json!({ "text": MARS_ANSWER })).await;
    assert_eq!(response.status(), 202);
    let queued: Value = response.json().await.expect("JSON body");
    let reply_id = queued["id"].as_str().expect("message id").to_owned();
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["kind"], "text");
    assert_eq!(queued["conversation_id"], conversation.to_string());
    let author = queued["author"].as_str().expect("author").to_owned();
    let key_id: String =
        sqlx::query_scalar("SELECT id::text FROM api_keys").fetch_one(&app.admin).await.expect("the shop's one key");
    assert_eq!(author, format!("merchant:{key_id}"));
    assert!(queued.get("text").is_none(), "the answer repeats no message text: {queued}");
    wait_for_status(&app, &reply_id, "sent").await;

    // Meta received exactly one text: the merchant's, to the customer.
    let bodies = sent_bodies(&graph).await;
    assert_eq!(bodies.len(), 2, "{bodies:#?}");
    assert_eq!(bodies[1]["type"], "text");
    assert_eq!(bodies[1]["to"], CUSTOMER_WA_ID);
    assert_eq!(bodies[1]["text"]["body"], MARS_ANSWER);
    assert_eq!(bodies[1]["biz_opaque_callback_data"], reply_id);
    assert_eq!(texts_sent(&graph).await.iter().filter(|text| *text == MARS_ANSWER).count(), 1);

    // Its status moves as Meta reports it.
    let wamid: String = sqlx::query_scalar("SELECT wa_message_id FROM messages WHERE id = $1::uuid")
        .bind(&reply_id)
        .fetch_one(&app.admin)
        .await
        .expect("the reply's WhatsApp id");
    let delivered = status_webhook(&wamid, &reply_id, "delivered");
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &delivered).await.status(), 200);
    wait_for_status(&app, &reply_id, "delivered").await;
    let read = status_webhook(&wamid, &reply_id, "read");
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &read).await.status(), 200);
    wait_for_status(&app, &reply_id, "read").await;

    // The reply did not resolve the hand-over: the customer's answer is stored, the agent silent,
    // and it opens the window again.
    let window_before =
        shop.get_json(&app, &reply_path(conversation)).await["conversation"]["window_expires_at"].clone();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    ask(&app, &shop, "great, and how much does shipping cost?", "wamid.THANKS").await;
    app.wait_for_count(
        "SELECT count(*) FROM scheduled_tasks WHERE kind = 'answer' AND state = 'cancelled'
           AND cancel_reason = 'the conversation is with a person'",
        1,
        WAIT_SECS,
    )
    .await;
    // A photo with a caption is kept and shown as what it is.
    let photo = String::from_utf8(fixture("whatsapp/image.json"))
        .expect("utf8")
        .replace("PHONE_NUMBER_ID", crate::helpers::PHONE_NUMBER_ID)
        .replace("WA_ID", CUSTOMER_WA_ID)
        .replace("TIMESTAMP", &chrono::Utc::now().timestamp().to_string())
        .replace(r#""caption": """#, r#""caption": "the box arrived dented""#);
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, photo.as_bytes()).await.status(), 200);
    app.wait_for_count("SELECT count(*) FROM messages WHERE kind = 'image'", 1, WAIT_SECS).await;
    assert_eq!(sent_bodies(&graph).await.len(), 2, "the agent stayed silent");

    let thread = shop.get_json(&app, &reply_path(conversation)).await;
    assert_eq!(thread["conversation"]["state"], "handed_over", "a reply does not resolve");
    let window_after = &thread["conversation"]["window_expires_at"];
    let at = |value: &Value| {
        value.as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).expect("a window end")
    };
    assert!(at(window_after) > at(&window_before), "{window_before} -> {window_after}");
    let shown: Vec<(&str, &str, &str)> = thread["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (m["author"].as_str().unwrap_or("?"), m["kind"].as_str().unwrap_or("?"), m["text"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("customer", "text", "do you ship to mars?"),
            ("agent", "text", dont_know()),
            (author.as_str(), "text", MARS_ANSWER),
            ("customer", "text", "great, and how much does shipping cost?"),
            ("customer", "image", "the box arrived dented"),
        ]
    );
    assert_eq!(message(&thread, &reply_id)["status"], "read");
    assert_eq!(message(&thread, &reply_id)["direction"], "outbound");

    // Resolved, the conversation is the agent's again.
    let resolved = shop.post(&app, &format!("/api/conversations/{conversation}/resolve"), &json!({})).await;
    assert_eq!(resolved.status(), 200);
    ask(&app, &shop, "how many drops of the serum should i use?", "wamid.DROPS").await;
    let answer = reply_to(&app, &shop, "wamid.DROPS").await;
    assert!(answer.text.contains("four drops"), "{}", answer.text);
    assert_eq!(answer.conversation_id, Some(conversation));
    assert_eq!(sent_bodies(&graph).await.len(), 3);
    let thread = shop.get_json(&app, &reply_path(conversation)).await;
    let last = thread["messages"].as_array().and_then(|m| m.last()).expect("a last message");
    assert_eq!((&last["author"], &last["status"]), (&json!("agent"), &json!("sent")));
}

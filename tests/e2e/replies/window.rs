//! After the customer's 24-hour window has closed, free-form text is refused with the time it
//! closed, and an approved template goes out instead.

use chrono::{Duration, SecondsFormat, TimeZone, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{message, post_reply, reply_path, spawn_replies_app, wait_for_status};
use crate::followups::sent_bodies;
use crate::helpers::assert_problem;
use crate::knowledge::{CUSTOMER_WA_ID, WAIT_SECS, inbound};

#[tokio::test]
async fn after_the_window_closed_a_text_is_refused_naming_the_time_and_a_template_goes_out() {
    let graph = MockServer::start().await;
    let (app, shop) = spawn_replies_app(&graph).await;
    let _workers = app.start_workers();

    // The customer last wrote 25 hours ago: the window closed an hour ago, unanswered.
    let wrote_at = Utc::now().timestamp() - 25 * 3600;
    let old = inbound(CUSTOMER_WA_ID, "is my order on its way?", "wamid.OLD", wrote_at);
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &old).await.status(), 200);
    app.wait_for_count(
        "SELECT count(*) FROM scheduled_tasks WHERE kind = 'answer' AND state = 'cancelled'
           AND cancel_reason = 'the 24-hour window closed before an answer'",
        1,
        WAIT_SECS,
    )
    .await;
    let conversation: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM conversations").fetch_one(&app.admin).await.expect("one conversation");
    let closed_at = Utc.timestamp_opt(wrote_at, 0).single().expect("a time") + Duration::hours(24);

    let refused = post_reply(&app, &shop.api_key, conversation, &json!({"text": "Yes, it ships today."}), None).await;
    let problem = assert_problem(refused, 409).await;
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains(&closed_at.to_rfc3339_opts(SecondsFormat::Secs, true)), "{detail}");
    assert!(detail.contains("template"), "{detail}");
    assert_eq!(app.count("SELECT count(*) FROM messages WHERE direction = 'outbound'").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'reply'").await, 0);

    let template = json!({"template": {"name": "order_update", "language": "en", "parameters": ["Ada", "#1001"]}});
    let response = post_reply(&app, &shop.api_key, conversation, &template, None).await;
    assert_eq!(response.status(), 202);
    let queued: Value = response.json().await.expect("JSON body");
    assert_eq!((&queued["kind"], &queued["template_name"]), (&json!("template"), &json!("order_update")));
    let id = queued["id"].as_str().expect("id").to_owned();
    wait_for_status(&app, &id, "sent").await;

    let bodies = sent_bodies(&graph).await;
    assert_eq!(bodies.len(), 1, "{bodies:#?}");
    assert_eq!(bodies[0]["type"], "template");
    assert_eq!(bodies[0]["to"], CUSTOMER_WA_ID);
    assert_eq!(bodies[0]["template"]["name"], "order_update");
    assert_eq!(bodies[0]["template"]["language"]["code"], "en");
    let parameters: Vec<&str> = bodies[0]["template"]["components"][0]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["text"].as_str())
        .collect();
    assert_eq!(parameters, ["Ada", "#1001"]);
    let payload = app.count("SELECT count(*) FROM scheduled_tasks WHERE payload::text LIKE '%#1001%'").await;
    assert_eq!(payload, 0, "template parameters are sealed in the task");

    let thread = shop.get_json(&app, &reply_path(conversation)).await;
    let sent = message(&thread, &id);
    assert_eq!(
        (&sent["kind"], &sent["template_name"], &sent["status"]),
        (&json!("template"), &json!("order_update"), &json!("sent"))
    );
    assert!(sent["author"].as_str().is_some_and(|a| a.starts_with("merchant:")), "{sent}");

    // A template Meta does not know fails, and the thread says why.
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"template": {"name": "no_such_template"}})))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "(#132001) Template name does not exist in the translation", "type": "OAuthException",
            "code": 132001, "error_data": {"messaging_product": "whatsapp", "details": "template name (no_such_template) does not exist in en"},
            "fbtrace_id": "AbCdEf"}})))
        .with_priority(1)
        .mount(&graph)
        .await;
    let unknown = json!({"template": {"name": "no_such_template", "language": "en"}});
    let response = post_reply(&app, &shop.api_key, conversation, &unknown, None).await;
    assert_eq!(response.status(), 202);
    let failed_id = response.json::<Value>().await.expect("JSON body")["id"].as_str().expect("id").to_owned();
    wait_for_status(&app, &failed_id, "failed").await;
    let thread = shop.get_json(&app, &reply_path(conversation)).await;
    let failed = message(&thread, &failed_id);
    assert_eq!(failed["error_code"], "132001");
    assert!(failed["error_reason"].as_str().is_some_and(|r| r.contains("template")), "{failed}");
    assert_eq!(
        app.count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'reply' AND state = 'done'").await,
        2,
        "a permanent refusal ends the task: it is not retried"
    );
}

//! The agent with a language model: a fake OpenAI-compatible endpoint that calls the order tool
//! and answers from its result, and one too slow to wait for, where the product text answers.

use std::time::Duration;

use chrono::Utc;
use recete_shared::integrations::IntegrationKind;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::{CUSTOMER_WA_ID, ask, audited, embedded_serum, reply_to, shop, spawn_knowledge_app};
use crate::helpers::TestApp;

const COMPLETIONS: &str = "/v1/chat/completions";

async fn spawn_with_model(server: &MockServer, timeout_ms: u64) -> TestApp {
    let base_url = format!("{}/v1", server.uri());
    spawn_knowledge_app(move |figment| {
        figment
            .merge(("llm.base_url", base_url))
            .merge(("llm.model", "test-model"))
            .merge(("llm.api_key", "k"))
            .merge(("llm.request_timeout_ms", timeout_ms))
    })
    .await
}

/// A chat completion as OpenAI sends it.
fn completion(message: Value, finish_reason: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()),
        "object": "chat.completion",
        "created": Utc::now().timestamp(),
        "model": "test-model",
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 420, "completion_tokens": 24, "total_tokens": 444}
    }))
}

fn text(content: &str) -> ResponseTemplate {
    completion(json!({"role": "assistant", "content": content, "refusal": null}), "stop")
}

/// The tool result the request carries back to the model, if any.
fn tool_result(request: &Request) -> Option<Value> {
    let body: Value = serde_json::from_slice(&request.body).ok()?;
    let content = body["messages"].as_array()?.iter().find(|m| m["role"] == "tool")?["content"].as_str()?.to_owned();
    serde_json::from_str(&content).ok()
}

/// First asks for the customer's orders, then answers with the summary the tool returned.
fn order_desk(request: &Request) -> ResponseTemplate {
    match tool_result(request) {
        None => completion(
            json!({"role": "assistant", "content": null, "refusal": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "order_status", "arguments": "{\"order_number\": null}"}}
            ]}),
            "tool_calls",
        ),
        Some(result) => text(result["orders"][0]["summary"].as_str().unwrap_or("the tool returned no order")),
    }
}

fn bodies(requests: &[Request]) -> Vec<Value> {
    requests.iter().map(|request| serde_json::from_slice(&request.body).expect("JSON request")).collect()
}

#[tokio::test]
async fn the_model_looks_up_the_customers_order_with_a_tool_and_the_call_is_audited() {
    let model = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(COMPLETIONS))
        .and(header("authorization", "Bearer k"))
        .respond_with(order_desk)
        .mount(&model)
        .await;
    let app = spawn_with_model(&model, 20_000).await;
    let shop = shop(&app).await;
    let _workers = app.start_workers();

    // The customer's order, shipped, from the shop's platform.
    let generic = app.integration(shop.merchant, IntegrationKind::Generic).await;
    let order = json!({
        "id": "evt-2001-fulfilled", "type": "order.fulfilled", "occurred_at": Utc::now().to_rfc3339(),
        "order": {"id": "2001", "number": "#2001", "currency": "TRY", "total": "249.90", "tracking_number": "TR123",
                  "customer": {"name": "Ada Yilmaz", "phone": format!("+{CUSTOMER_WA_ID}"), "country": "TR", "whatsapp_consent": true}}
    });
    assert_eq!(app.post_generic(&generic, Utc::now().timestamp(), order.to_string().as_bytes()).await.status(), 202);
    app.wait_for_count("SELECT count(*) FROM orders WHERE order_number = '#2001' AND customer_id IS NOT NULL", 1, 30)
        .await;

    ask(&app, &shop, "can you check on my purchase for me?", "wamid.PURCHASE").await;
    let reply = reply_to(&app, &shop, "wamid.PURCHASE").await;

    let requests = model.received_requests().await.unwrap_or_default();
    let bodies = bodies(&requests);
    assert_eq!(bodies.len(), 2, "one call for the tool, one for the answer");
    assert_eq!(bodies[0]["model"], "test-model");
    assert_eq!(
        bodies[0]["messages"].as_array().and_then(|m| m.last()).map(|m| &m["content"]),
        Some(&json!("can you check on my purchase for me?"))
    );
    let result = tool_result(&requests[1]).expect("the tool's result reached the model");
    let summary = result["orders"][0]["summary"].as_str().expect("an order summary");
    assert!(summary.starts_with("Your order #2001 was shipped"), "{summary}");
    assert_eq!(result["orders"][0]["status"], "fulfilled");

    assert_eq!(reply.text, summary, "the model's answer went out as written");
    assert_eq!(reply.agent["mode"], "order_lookup");
    assert_eq!(reply.agent["guardrail"], Value::Null);
    assert_eq!(reply.agent["handoff"], Value::Null);
    assert_eq!(reply.agent["model_error"], Value::Null);
    let calls = audited(&app, "agent.tool_called").await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["tool"], "order_status");
    assert_eq!(calls[0]["arguments"], json!({"order_number": null}));
    assert_eq!(calls[0]["outcome"], "Ran");
    assert!(audited(&app, "agent.answer_blocked").await.is_empty());
    let state: String =
        sqlx::query_scalar("SELECT state FROM conversations").fetch_one(&app.admin).await.expect("state");
    assert_eq!(state, "open");
}

#[tokio::test]
async fn a_model_too_slow_to_answer_leaves_the_answer_to_the_product_text() {
    let model = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(COMPLETIONS))
        .respond_with(text("Use it whenever you like.").set_delay(Duration::from_secs(3)))
        .mount(&model)
        .await;
    let app = spawn_with_model(&model, 500).await;
    let shop = shop(&app).await;
    let _workers = app.start_workers();
    embedded_serum(&app, &shop).await;

    ask(&app, &shop, "how many drops of the serum should i use?", "wamid.SLOWMODEL").await;
    let reply = reply_to(&app, &shop, "wamid.SLOWMODEL").await;

    assert!(!model.received_requests().await.unwrap_or_default().is_empty(), "the model was asked");
    assert!(reply.text.contains("four drops"), "{}", reply.text);
    assert!(!reply.text.contains("whenever you like"));
    assert_eq!(reply.agent["mode"], "extractive");
    let error = reply.agent["model_error"].as_str().expect("the model's failure is recorded");
    assert!(error.contains("500 ms"), "{error}");
    assert!(reply.agent["citations"].as_array().is_some_and(|c| !c.is_empty()), "{}", reply.agent);
    assert_eq!(reply.agent["handoff"], Value::Null);
}

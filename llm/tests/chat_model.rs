//! The model loop against a fake OpenAI-compatible endpoint.

mod support;

use std::time::{Duration, Instant};

use recete_llm::{
    ATTEMPTS_PER_MODEL_CALL, AnswerOutcome, AnswerRequest, ChatModel, HandoffArgs, HistoryTurn, LlmError,
    OrderStatusArgs, ProductInfoArgs, ToolCall, ToolRecord, ToolRecordOutcome,
};
use serde_json::{Value, json};
use support::*;
use wiremock::{Mock, MockServer, ResponseTemplate};

const SHOP_PROMPT: &str = "You are the assistant of Lumi Cosmetics. Be warm and brief.";
const QUESTION: &str = "How often should I use the serum?";

fn request<'a>(context: &'a [recete_knowledge::RetrievedChunk], history: &'a [HistoryTurn]) -> AnswerRequest<'a> {
    AnswerRequest { system_prompt: SHOP_PROMPT, history, question: QUESTION, context }
}

fn model(server: &MockServer, timeout: Duration, max_rounds: usize) -> ChatModel {
    ChatModel::new(&settings(server, timeout, max_rounds)).expect("test settings are valid")
}

fn messages(body: &Value) -> &Vec<Value> {
    body["messages"].as_array().expect("request has messages")
}

fn tool_messages(body: &Value) -> Vec<&Value> {
    messages(body).iter().filter(|message| message["role"] == "tool").collect()
}

#[tokio::test]
async fn a_plain_answer_keeps_its_cited_sources_and_loses_the_markers() {
    let server = MockServer::start().await;
    reply_once(&server, text_reply("Apply 2-3 drops every evening [1]. Keep it away from your eyes [3].")).await;
    let context = serum_context();
    let history = [HistoryTurn { from_customer: true, text: "Hi! My serum arrived today.".into() }];
    let host = RecordingHost::answering(json!({}));
    let model = model(&server, RELAXED_TIMEOUT, 4);

    let outcome = model.answer(&request(&context, &history), &host).await;

    assert_eq!(
        outcome,
        AnswerOutcome::Answer {
            text: "Apply 2-3 drops every evening. Keep it away from your eyes.".into(),
            cited_chunks: vec![context[0].id, context[2].id],
            tools: vec![],
        }
    );
    assert!(host.calls().is_empty());
    let received = server.received_requests().await.expect("recording is on");
    assert_eq!(received.len(), 1);
    let authorization = received[0].headers.get("authorization").expect("the key is sent");
    assert_eq!(authorization.to_str().expect("ascii header"), format!("Bearer {API_KEY}"));
    let body: Value = received[0].body_json().expect("JSON body");
    assert_eq!(body["model"], MODEL);
    let tool_names: Vec<&str> = body["tools"]
        .as_array()
        .expect("tools are offered")
        .iter()
        .filter_map(|tool| tool["function"]["name"].as_str())
        .collect();
    assert_eq!(tool_names, ["order_status", "product_info", "handoff_to_human"]);
    assert!(body.get("tool_choice").is_none(), "the model chooses freely in early rounds");
    let messages = messages(&body);
    assert!(messages[0]["content"].as_str().expect("text").starts_with(SHOP_PROMPT));
    let sources = messages[1]["content"].as_str().expect("text");
    assert!(sources.contains("[1] Glow Vitamin C Serum — usage: Apply 2-3 drops every evening on clean skin."));
    assert!(sources.contains("[3] Glow Vitamin C Serum — warnings: Avoid the eye area."));
    assert_eq!(messages[2], json!({ "role": "user", "content": "Hi! My serum arrived today." }));
    assert_eq!(messages.last(), Some(&json!({ "role": "user", "content": QUESTION })));
}

#[tokio::test]
async fn an_order_status_call_runs_once_and_its_result_reaches_the_model() {
    let server = MockServer::start().await;
    reply_once(
        &server,
        tool_calls_reply(vec![function_call("call_order_1", "order_status", r##"{"order_number":"#1042"}"##)]),
    )
    .await;
    reply_once(&server, text_reply("Your order #1042 has shipped and should arrive on Friday.")).await;
    let order = json!({ "order_number": "#1042", "status": "shipped", "estimated_delivery": "2026-01-09" });
    let host = RecordingHost::answering(order.clone());
    let context = serum_context();

    let outcome = model(&server, RELAXED_TIMEOUT, 4).answer(&request(&context, &[]), &host).await;

    assert_eq!(
        host.calls(),
        [ToolCall::OrderStatus(OrderStatusArgs { order_number: Some("#1042".into()) })],
        "the host ran exactly once, with typed arguments"
    );
    assert_eq!(
        outcome,
        AnswerOutcome::Answer {
            text: "Your order #1042 has shipped and should arrive on Friday.".into(),
            cited_chunks: vec![],
            tools: vec![ToolRecord {
                name: "order_status".into(),
                arguments: json!({ "order_number": "#1042" }),
                outcome: ToolRecordOutcome::Ran,
            }],
        }
    );
    let bodies = request_bodies(&server).await;
    assert_eq!(bodies.len(), 2);
    let second = messages(&bodies[1]);
    let assistant = &second[second.len() - 2];
    assert_eq!(assistant["role"], "assistant");
    assert_eq!(assistant["tool_calls"][0]["id"], "call_order_1");
    let tool = &second[second.len() - 1];
    assert_eq!(tool["role"], "tool");
    assert_eq!(tool["tool_call_id"], "call_order_1");
    let content: Value = serde_json::from_str(tool["content"].as_str().expect("text")).expect("JSON result");
    assert_eq!(content, order);
}

#[tokio::test]
async fn malformed_calls_are_not_run_and_the_model_reads_why() {
    let server = MockServer::start().await;
    let too_long = "x".repeat(201);
    reply_once(
        &server,
        tool_calls_reply(vec![
            function_call("call_broken", "product_info", r#"{"product": "Glow"#),
            function_call("call_extra", "order_status", r#"{"order_number": "1042", "email": "ayse@example.com"}"#),
            function_call("call_long", "product_info", &json!({ "product": too_long }).to_string()),
            function_call("call_unknown", "cancel_order", r#"{"order_number": "1042"}"#),
        ]),
    )
    .await;
    reply_once(&server, text_reply("Apply 2-3 drops every evening [1].")).await;
    let host = RecordingHost::answering(json!({ "never": "used" }));
    let context = serum_context();

    let outcome = model(&server, RELAXED_TIMEOUT, 4).answer(&request(&context, &[]), &host).await;

    assert!(host.calls().is_empty(), "no invalid call reached the host");
    let AnswerOutcome::Answer { text, cited_chunks, tools } = outcome else {
        panic!("expected an answer, got {outcome:?}");
    };
    assert_eq!(text, "Apply 2-3 drops every evening.");
    assert_eq!(cited_chunks, [context[0].id]);
    let outcomes: Vec<&ToolRecordOutcome> = tools.iter().map(|record| &record.outcome).collect();
    assert!(matches!(outcomes[0], ToolRecordOutcome::InvalidArguments(problem) if problem.contains("EOF")));
    assert!(
        matches!(outcomes[1], ToolRecordOutcome::InvalidArguments(problem) if problem.contains("unknown field `email`"))
    );
    assert!(matches!(outcomes[2], ToolRecordOutcome::InvalidArguments(problem) if problem.contains("at most 200")));
    assert_eq!(outcomes[3], &ToolRecordOutcome::UnknownTool);
    assert_eq!(tools[0].arguments, json!(r#"{"product": "Glow"#), "unparseable arguments are kept as text");

    let bodies = request_bodies(&server).await;
    let results = tool_messages(&bodies[1]);
    let ids: Vec<&str> = results.iter().filter_map(|message| message["tool_call_id"].as_str()).collect();
    assert_eq!(ids, ["call_broken", "call_extra", "call_long", "call_unknown"]);
    for result in results {
        let content: Value = serde_json::from_str(result["content"].as_str().expect("text")).expect("JSON result");
        assert!(content["error"].as_str().is_some_and(|error| !error.is_empty()), "{content}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_reported_as_such_from_a_spawned_task() {
    let server = MockServer::start().await;
    let refusal = json!({ "role": "assistant", "content": null, "refusal": "I can't help with that request.", "annotations": [] });
    reply_once(&server, completion(refusal, "stop")).await;
    let context = serum_context();
    let model = model(&server, RELAXED_TIMEOUT, 4);
    let host = RecordingHost::answering(json!({}));

    // Workers answer on spawned tasks, so the answer future must be `Send + 'static`-able.
    let outcome = tokio::spawn(async move { model.answer(&request(&context, &[]), &host).await })
        .await
        .expect("the answer task completes");

    assert_eq!(outcome, AnswerOutcome::Refused { reason: "I can't help with that request.".into() });
}

#[tokio::test]
async fn a_content_filter_stop_is_a_refusal() {
    let server = MockServer::start().await;
    let filtered = json!({ "role": "assistant", "content": "", "refusal": null, "annotations": [] });
    reply_once(&server, completion(filtered, "content_filter")).await;
    let context = serum_context();

    let outcome =
        model(&server, RELAXED_TIMEOUT, 4).answer(&request(&context, &[]), &RecordingHost::answering(json!({}))).await;

    assert!(matches!(outcome, AnswerOutcome::Refused { reason } if reason.contains("content filter")));
}

#[tokio::test]
async fn a_handoff_ends_the_loop_with_its_reason() {
    let server = MockServer::start().await;
    let reason = "The customer wants to return an opened serum.";
    let arguments = json!({ "reason": reason }).to_string();
    reply_once(&server, tool_calls_reply(vec![function_call("call_handoff", "handoff_to_human", &arguments)])).await;
    let host = RecordingHost::answering(json!({ "queued": true }));
    let context = serum_context();

    let outcome = model(&server, RELAXED_TIMEOUT, 4).answer(&request(&context, &[]), &host).await;

    assert_eq!(
        outcome,
        AnswerOutcome::Handoff {
            reason: reason.into(),
            tools: vec![ToolRecord {
                name: "handoff_to_human".into(),
                arguments: json!({ "reason": reason }),
                outcome: ToolRecordOutcome::Ran,
            }],
        }
    );
    assert_eq!(host.calls(), [ToolCall::HandoffToHuman(HandoffArgs { reason: reason.into() })]);
    assert_eq!(request_bodies(&server).await.len(), 1, "no model call after the hand-over");
}

#[tokio::test]
async fn a_slow_model_fails_retryably_close_to_the_timeout() {
    let server = MockServer::start().await;
    let timeout = Duration::from_millis(500);
    reply_always(
        &server,
        ResponseTemplate::new(200).set_body_json(text_reply("too late [1]")).set_delay(Duration::from_secs(30)),
    )
    .await;
    let context = serum_context();
    let model = model(&server, timeout, 4);

    let started = Instant::now();
    let outcome = model.answer(&request(&context, &[]), &RecordingHost::answering(json!({}))).await;
    let elapsed = started.elapsed();

    let AnswerOutcome::Failed { reason, retryable, tools } = outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert!(retryable);
    assert!(reason.contains("500 ms"), "{reason}");
    assert!(tools.is_empty());
    assert!(elapsed >= Duration::from_millis(450), "gave up after {elapsed:?}, before the timeout");
    assert!(elapsed < timeout + Duration::from_secs(5), "took {elapsed:?}");
    assert_eq!(request_bodies(&server).await.len(), 1, "a timed-out call is not repeated within its budget");
}

#[tokio::test]
async fn a_model_that_only_calls_tools_fails_after_max_rounds_calls() {
    let server = MockServer::start().await;
    let lookup = function_call("call_lookup", "product_info", r#"{"product": "Glow Vitamin C Serum"}"#);
    reply_always(&server, ResponseTemplate::new(200).set_body_json(tool_calls_reply(vec![lookup]))).await;
    let host = RecordingHost::answering(json!({ "found": false }));
    let context = serum_context();
    let max_rounds = 3;

    let outcome = model(&server, RELAXED_TIMEOUT, max_rounds).answer(&request(&context, &[]), &host).await;

    let AnswerOutcome::Failed { reason, retryable, tools } = outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert!(!retryable);
    assert!(reason.contains("3 model calls") && reason.contains("max_rounds"), "{reason}");
    let bodies = request_bodies(&server).await;
    assert_eq!(bodies.len(), max_rounds);
    assert_eq!(tools.len(), max_rounds);
    assert_eq!(host.calls().len(), max_rounds);
    assert!(
        host.calls()
            .iter()
            .all(|call| call == &ToolCall::ProductInfo(ProductInfoArgs { product: "Glow Vitamin C Serum".into() }))
    );
    assert!(bodies[1].get("tool_choice").is_none());
    assert_eq!(bodies[2]["tool_choice"], "none", "the last call asks for text");
    assert_eq!(tool_messages(&bodies[2]).len(), 2, "each round's result is passed on");
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times_then_reported_retryable() {
    let server = MockServer::start().await;
    reply_always(&server, ResponseTemplate::new(500).set_body_string("upstream overloaded")).await;
    let context = serum_context();

    let outcome =
        model(&server, RELAXED_TIMEOUT, 4).answer(&request(&context, &[]), &RecordingHost::answering(json!({}))).await;

    let AnswerOutcome::Failed { reason, retryable, .. } = outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert!(retryable);
    assert!(reason.contains("500") && reason.contains("upstream overloaded"), "{reason}");
    assert_eq!(request_bodies(&server).await.len(), ATTEMPTS_PER_MODEL_CALL);
}

#[tokio::test]
async fn a_rejected_request_is_not_retried() {
    let server = MockServer::start().await;
    let error = json!({ "error": {
        "message": "Invalid schema for function 'order_status'.",
        "type": "invalid_request_error",
        "param": "tools[0].function.parameters",
        "code": "invalid_function_parameters"
    }});
    reply_always(&server, ResponseTemplate::new(400).set_body_json(error)).await;
    let context = serum_context();

    let outcome =
        model(&server, RELAXED_TIMEOUT, 4).answer(&request(&context, &[]), &RecordingHost::answering(json!({}))).await;

    let AnswerOutcome::Failed { reason, retryable, .. } = outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert!(!retryable);
    assert_eq!(reason, "the model endpoint answered 400 Bad Request: Invalid schema for function 'order_status'.");
    assert_eq!(request_bodies(&server).await.len(), 1);
}

#[tokio::test]
async fn an_exhausted_quota_is_not_retryable_but_a_rate_limit_is() {
    let server = MockServer::start().await;
    let quota = json!({ "error": { "message": "You exceeded your current quota.", "type": "insufficient_quota", "param": null, "code": "insufficient_quota" }});
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(ResponseTemplate::new(429).set_body_json(quota))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let rate_limit = json!({ "error": { "message": "Rate limit reached.", "type": "requests", "param": null, "code": "rate_limit_exceeded" }});
    reply_always(&server, ResponseTemplate::new(429).insert_header("retry-after", "0").set_body_json(rate_limit)).await;
    let context = serum_context();
    let model = model(&server, RELAXED_TIMEOUT, 4);
    let host = RecordingHost::answering(json!({}));

    let quota_outcome = model.answer(&request(&context, &[]), &host).await;
    let rate_limited_outcome = model.answer(&request(&context, &[]), &host).await;

    assert!(matches!(quota_outcome, AnswerOutcome::Failed { retryable: false, .. }), "{quota_outcome:?}");
    assert!(matches!(rate_limited_outcome, AnswerOutcome::Failed { retryable: true, .. }), "{rate_limited_outcome:?}");
    assert_eq!(request_bodies(&server).await.len(), 1 + ATTEMPTS_PER_MODEL_CALL);
}

#[tokio::test]
async fn a_body_that_is_not_a_chat_completion_fails_naming_the_problem() {
    let server = MockServer::start().await;
    reply_once(&server, json!({ "id": "chatcmpl-1", "object": "chat.completion", "model": MODEL, "choices": [] }))
        .await;
    let context = serum_context();

    let outcome =
        model(&server, RELAXED_TIMEOUT, 4).answer(&request(&context, &[]), &RecordingHost::answering(json!({}))).await;

    let AnswerOutcome::Failed { reason, retryable, .. } = outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert!(!retryable);
    assert!(reason.contains("not a chat completion") && reason.contains("created"), "{reason}");
}

#[tokio::test]
async fn an_answer_made_only_of_markers_is_a_failure() {
    let server = MockServer::start().await;
    reply_once(&server, text_reply("  [1] [2]  ")).await;
    let context = serum_context();

    let outcome =
        model(&server, RELAXED_TIMEOUT, 4).answer(&request(&context, &[]), &RecordingHost::answering(json!({}))).await;

    assert!(matches!(&outcome, AnswerOutcome::Failed { retryable: false, reason, .. } if reason.contains("empty")));
}

#[test]
fn settings_are_checked_when_the_model_is_built() {
    let server_uri = "http://127.0.0.1:9/v1";
    let base = recete_llm::LlmSettings {
        base_url: server_uri.into(),
        model: MODEL.into(),
        api_key: secrecy::SecretString::from(API_KEY),
        request_timeout_ms: 1_000,
        max_rounds: 4,
        temperature: 0.2,
    };
    assert!(ChatModel::new(&base).is_ok());
    let unconfigured = recete_llm::LlmSettings { base_url: " ".into(), ..base.clone() };
    assert!(matches!(ChatModel::new(&unconfigured), Err(LlmError::NotConfigured)));
    let cases = [
        ("base_url", recete_llm::LlmSettings { base_url: "ftp://models.internal/v1".into(), ..base.clone() }),
        ("model", recete_llm::LlmSettings { model: String::new(), ..base.clone() }),
        ("request_timeout_ms", recete_llm::LlmSettings { request_timeout_ms: 0, ..base.clone() }),
        ("max_rounds", recete_llm::LlmSettings { max_rounds: 0, ..base.clone() }),
        ("temperature", recete_llm::LlmSettings { temperature: f32::NAN, ..base.clone() }),
    ];
    for (setting, settings) in cases {
        match ChatModel::new(&settings) {
            Err(LlmError::InvalidSetting { setting: named, .. }) => assert_eq!(named, setting),
            other => panic!("expected llm.{setting} to be rejected, got {other:?}"),
        }
    }
}

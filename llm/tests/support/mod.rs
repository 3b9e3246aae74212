//! A fake OpenAI-compatible endpoint, its response bodies, and a tool host that records calls.

use std::sync::Mutex;
use std::time::Duration;

use recete_knowledge::{RetrievedChunk, SectionKind};
use recete_llm::LlmSettings;
use recete_llm::{ToolCall, ToolFailure, ToolHost};
use secrecy::SecretString;
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const MODEL: &str = "gpt-test-mini";
pub const API_KEY: &str = "sk-test-key";
pub const COMPLETIONS_PATH: &str = "/v1/chat/completions";
/// Long enough that a slow machine never hits it in tests that are not about timeouts.
pub const RELAXED_TIMEOUT: Duration = Duration::from_secs(10);

pub fn settings(server: &MockServer, timeout: Duration, max_rounds: usize) -> LlmSettings {
    LlmSettings {
        base_url: format!("{}/v1", server.uri()),
        model: MODEL.into(),
        api_key: SecretString::from(API_KEY),
        request_timeout_ms: u64::try_from(timeout.as_millis()).expect("timeout fits in u64"),
        max_rounds,
        temperature: 0.2,
    }
}

pub fn chunk(title: &str, section: SectionKind, content: &str) -> RetrievedChunk {
    RetrievedChunk {
        id: Uuid::new_v4(),
        product_id: Uuid::new_v4(),
        product_title: title.into(),
        section,
        content: content.into(),
        similarity: 0.82,
        sentences: None,
    }
}

/// What a serum's knowledge retrieval typically returns.
pub fn serum_context() -> Vec<RetrievedChunk> {
    vec![
        chunk("Glow Vitamin C Serum", SectionKind::Usage, "Apply 2-3 drops every evening on clean skin."),
        chunk("Glow Vitamin C Serum", SectionKind::Ingredients, "Ascorbic acid 15%, hyaluronic acid."),
        chunk("Glow Vitamin C Serum", SectionKind::Warnings, "Avoid the eye area. Use sunscreen during the day."),
    ]
}

/// A full chat completion body as OpenAI sends it.
pub fn completion(message: Value, finish_reason: &str) -> Value {
    json!({
        "id": format!("chatcmpl-{}", Uuid::new_v4().simple()),
        "object": "chat.completion",
        "created": 1_767_225_600,
        "model": "gpt-test-mini-2025-01-01",
        "choices": [{ "index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason }],
        "usage": { "prompt_tokens": 512, "completion_tokens": 41, "total_tokens": 553 },
        "service_tier": "default",
        "system_fingerprint": "fp_0123456789"
    })
}

pub fn text_reply(content: &str) -> Value {
    completion(json!({ "role": "assistant", "content": content, "refusal": null, "annotations": [] }), "stop")
}

pub fn function_call(id: &str, name: &str, arguments: &str) -> Value {
    json!({ "id": id, "type": "function", "function": { "name": name, "arguments": arguments } })
}

pub fn tool_calls_reply(calls: Vec<Value>) -> Value {
    completion(
        json!({ "role": "assistant", "content": null, "tool_calls": calls, "refusal": null, "annotations": [] }),
        "tool_calls",
    )
}

/// Answers the next chat completion request with `body`, once.
pub async fn reply_once(server: &MockServer, body: Value) {
    Mock::given(method("POST"))
        .and(path(COMPLETIONS_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .up_to_n_times(1)
        .mount(server)
        .await;
}

/// Answers every chat completion request with `template`.
pub async fn reply_always(server: &MockServer, template: ResponseTemplate) {
    Mock::given(method("POST")).and(path(COMPLETIONS_PATH)).respond_with(template).mount(server).await;
}

/// The JSON bodies of the chat completion requests the fake received, in order.
pub async fn request_bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
        .iter()
        .filter(|request| request.url.path() == COMPLETIONS_PATH)
        .map(|request| request.body_json::<Value>().expect("requests carry JSON"))
        .collect()
}

/// A tool host that records every call it runs and answers with a fixed result.
pub struct RecordingHost {
    calls: Mutex<Vec<ToolCall>>,
    result: Result<Value, ToolFailure>,
}

impl RecordingHost {
    pub fn answering(result: Value) -> Self {
        Self { calls: Mutex::new(Vec::new()), result: Ok(result) }
    }

    pub fn calls(&self) -> Vec<ToolCall> {
        self.calls.lock().expect("no test thread panicked while holding the lock").clone()
    }
}

impl ToolHost for RecordingHost {
    async fn run(&self, call: &ToolCall) -> Result<Value, ToolFailure> {
        self.calls.lock().expect("no test thread panicked while holding the lock").push(call.clone());
        self.result.clone()
    }
}

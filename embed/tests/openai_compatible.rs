//! `OpenAiEmbedder` against a local HTTP server playing an OpenAI-compatible `/embeddings`
//! endpoint.

use std::time::{Duration, Instant};

use recete_embed::OpenAiEmbedder;
use recete_embed::{EmbeddingProvider, EmbeddingSettings};
use recete_knowledge::{DIMENSIONS, EmbedError, Embedder};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MODEL: &str = "text-embedding-3-small";
const API_KEY: &str = "sk-test-embeddings";

fn settings(base_url: &str) -> EmbeddingSettings {
    EmbeddingSettings {
        provider: EmbeddingProvider::Openai,
        model_dir: "models/all-MiniLM-L6-v2".into(),
        batch_size: 32,
        base_url: base_url.to_owned(),
        model: MODEL.to_owned(),
        api_key: SecretString::from(API_KEY),
        request_timeout_ms: 2_000,
    }
}

fn embedder(server: &MockServer) -> OpenAiEmbedder {
    OpenAiEmbedder::new(&settings(&format!("{}/v1", server.uri()))).expect("valid settings")
}

fn texts(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|text| (*text).to_owned()).collect()
}

/// A vector of `dimensions` floats with `scale` at position `hot`: after normalisation, 1.0 there.
fn spike(hot: usize, scale: f32, dimensions: usize) -> Vec<f32> {
    let mut vector = vec![0.0; dimensions];
    vector[hot] = scale;
    vector
}

fn embeddings_body(vectors: &[(usize, Vec<f32>)]) -> Value {
    let data: Vec<Value> = vectors
        .iter()
        .map(|(index, vector)| json!({ "object": "embedding", "index": index, "embedding": vector }))
        .collect();
    json!({ "object": "list", "model": MODEL, "data": data, "usage": { "prompt_tokens": 8, "total_tokens": 8 } })
}

async fn request_bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
        .iter()
        .map(|request| serde_json::from_slice(&request.body).expect("JSON request body"))
        .collect()
}

#[tokio::test]
async fn vectors_come_back_in_input_order_and_unit_length() {
    let server = MockServer::start().await;
    // Returned out of order and not normalised, as some servers do.
    let body = embeddings_body(&[(1, spike(1, 7.0, DIMENSIONS)), (0, spike(0, 3.0, DIMENSIONS))]);
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .and(header("authorization", format!("Bearer {API_KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;

    let embedder = embedder(&server);
    let input = texts(&["How many drops?", "Apply four drops every morning."]);
    let vectors = embedder.embed(&input).await.expect("embedding succeeds");

    assert_eq!(vectors, vec![spike(0, 1.0, DIMENSIONS), spike(1, 1.0, DIMENSIONS)]);
    assert_eq!(embedder.model_name(), MODEL);
    let sent = request_bodies(&server).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["model"], MODEL);
    assert_eq!(sent[0]["input"], json!(input));
    assert_eq!(sent[0]["dimensions"], DIMENSIONS);
    assert_eq!(sent[0]["encoding_format"], "float");
}

#[tokio::test]
async fn texts_beyond_the_batch_size_go_in_further_requests() {
    let server = MockServer::start().await;
    let body = embeddings_body(&[(0, spike(5, 1.0, DIMENSIONS)), (1, spike(6, 1.0, DIMENSIONS))]);
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    let single = embeddings_body(&[(0, spike(7, 1.0, DIMENSIONS))]);
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .and(wiremock::matchers::body_partial_json(json!({ "input": ["third"] })))
        .respond_with(ResponseTemplate::new(200).set_body_json(single))
        .with_priority(1)
        .mount(&server)
        .await;

    let mut settings = settings(&format!("{}/v1", server.uri()));
    settings.batch_size = 2;
    let embedder = OpenAiEmbedder::new(&settings).expect("valid settings");
    let vectors = embedder.embed(&texts(&["first", "second", "third"])).await.expect("embedding succeeds");

    assert_eq!(vectors, vec![spike(5, 1.0, DIMENSIONS), spike(6, 1.0, DIMENSIONS), spike(7, 1.0, DIMENSIONS)]);
    let inputs: Vec<Value> = request_bodies(&server).await.into_iter().map(|body| body["input"].clone()).collect();
    assert_eq!(inputs, vec![json!(["first", "second"]), json!(["third"])]);
}

#[tokio::test]
async fn no_texts_make_no_request() {
    let server = MockServer::start().await;
    let vectors = embedder(&server).embed(&[]).await.expect("nothing to embed");
    assert!(vectors.is_empty());
    assert!(request_bodies(&server).await.is_empty());
}

#[tokio::test]
async fn an_empty_key_sends_no_authorization() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(embeddings_body(&[(0, spike(0, 1.0, DIMENSIONS))])))
        .mount(&server)
        .await;
    let mut settings = settings(&format!("{}/v1/", server.uri()));
    settings.api_key = SecretString::from("");
    let embedder = OpenAiEmbedder::new(&settings).expect("valid settings");
    embedder.embed(&texts(&["hello"])).await.expect("embedding succeeds");
    let requests = server.received_requests().await.expect("recording on");
    assert_eq!(requests[0].url.path(), "/v1/embeddings", "the trailing slash of base_url is not doubled");
    assert!(!requests[0].headers.contains_key("authorization"));
}

#[tokio::test]
async fn vectors_of_another_width_are_refused() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(embeddings_body(&[(0, spike(0, 1.0, 1536))])))
        .mount(&server)
        .await;
    let error = embedder(&server).embed(&texts(&["hello"])).await.expect_err("1536 dimensions");
    assert!(matches!(error, EmbedError::Dimensions { expected: DIMENSIONS, got: 1536 }), "{error:?}");
}

#[tokio::test]
async fn a_missing_vector_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(embeddings_body(&[(0, spike(0, 1.0, DIMENSIONS))])))
        .mount(&server)
        .await;
    let error = embedder(&server).embed(&texts(&["one", "two"])).await.expect_err("one vector for two texts");
    assert!(matches!(error, EmbedError::Count { expected: 2, got: 1 }), "{error:?}");
}

/// One request, no hidden retries: the job queue owns retrying, with its own backoff and limit.
#[tokio::test]
async fn a_server_error_is_retryable_and_tried_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream overloaded"))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    let error = embedder(&server).embed(&texts(&["hello"])).await.expect_err("server error");
    assert!(matches!(error, EmbedError::Remote { retryable: true, .. }), "{error:?}");
    assert!(error.to_string().contains("500") && error.to_string().contains("upstream overloaded"), "{error}");
    assert_eq!(server.received_requests().await.expect("recording on").len(), 1);
    assert!(started.elapsed() < Duration::from_secs(1), "no backoff inside the call");
}

#[tokio::test]
async fn a_rate_limit_is_retryable() {
    let server = MockServer::start().await;
    let body =
        json!({ "error": { "message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded" } });
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(429).set_body_json(body)).mount(&server).await;
    let error = embedder(&server).embed(&texts(&["hello"])).await.expect_err("rate limited");
    assert!(error.is_retryable(), "{error:?}");
    assert!(error.to_string().contains("Rate limit reached"), "{error}");
    assert_eq!(server.received_requests().await.expect("recording on").len(), 1);
}

#[tokio::test]
async fn a_rejected_key_is_final() {
    let server = MockServer::start().await;
    let body = json!({ "error": { "message": "Incorrect API key provided", "type": "invalid_request_error" } });
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(401).set_body_json(body)).mount(&server).await;
    let error = embedder(&server).embed(&texts(&["hello"])).await.expect_err("unauthorized");
    assert!(matches!(error, EmbedError::Remote { retryable: false, .. }), "{error:?}");
    assert!(error.to_string().contains("401") && error.to_string().contains("Incorrect API key"), "{error}");
    assert!(!error.to_string().contains(API_KEY), "the key never appears in errors: {error}");
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(embeddings_body(&[(0, spike(0, 1.0, DIMENSIONS))]))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let mut settings = settings(&format!("{}/v1", server.uri()));
    settings.request_timeout_ms = 300;
    let embedder = OpenAiEmbedder::new(&settings).expect("valid settings");
    let started = Instant::now();
    let error = embedder.embed(&texts(&["hello"])).await.expect_err("too slow");
    assert!(matches!(error, EmbedError::Timeout(300)), "{error:?}");
    assert!(error.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(2), "gave up after {:?}", started.elapsed());
}

#[tokio::test]
async fn an_unreachable_endpoint_is_retryable() {
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let address = listener.local_addr().expect("local address");
    drop(listener);
    let embedder = OpenAiEmbedder::new(&settings(&format!("http://{address}/v1"))).expect("valid settings");
    let error = embedder.embed(&texts(&["hello"])).await.expect_err("connection refused");
    assert!(matches!(error, EmbedError::Remote { retryable: true, .. }), "{error:?}");
    assert!(error.to_string().contains(&address.to_string()), "{error}");
}

#[test]
fn unusable_settings_are_refused_up_front() {
    for (base_url, model, timeout_ms) in [("", MODEL, 2_000), ("not a url", MODEL, 2_000), ("http://x/v1", " ", 2_000)]
        .into_iter()
        .chain([("http://x/v1", MODEL, 0)])
    {
        let mut settings = settings(base_url);
        settings.model = model.to_owned();
        settings.request_timeout_ms = timeout_ms;
        let error = OpenAiEmbedder::new(&settings).expect_err("unusable settings");
        assert!(matches!(error, EmbedError::Remote { retryable: false, .. }), "{base_url:?}: {error:?}");
        assert!(error.to_string().contains("embedding."), "names the setting: {error}");
    }
}

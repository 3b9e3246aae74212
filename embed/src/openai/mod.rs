//! Any OpenAI-compatible `/embeddings` endpoint (OpenAI itself, or a self-hosted server), asked
//! for [`DIMENSIONS`]-float vectors so they sit in the same column as the local model's.
//!
//! Each call makes exactly one HTTP request per batch and never retries by itself: a failure is
//! reported with whether it is worth retrying, and the job queue, which already retries with
//! backoff and a limit, decides when. The request body is async-openai's `CreateEmbeddingRequest`,
//! but the request is sent with reqwest directly: async-openai's client retries rate limits and
//! server errors on its own for up to 15 minutes and drops the HTTP status from the errors it
//! returns, so a rejected key could not be told from an overloaded server.

mod failure;
mod response;

use std::fmt;
use std::time::Duration;

use async_openai::types::embeddings::{CreateEmbeddingRequest, EmbeddingInput, EncodingFormat};
use futures::future::BoxFuture;
use recete_knowledge::{DIMENSIONS, EmbedError, Embedder};
use reqwest::{Client, Url, redirect};
use secrecy::{ExposeSecret, SecretString};

use crate::settings::EmbeddingSettings;

/// Longest wait for a connection; the request timeout still bounds the whole call.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// `dimensions` asked of the endpoint; models that cannot shorten their vectors return their
/// full size, which [`response::vectors`] refuses.
const REQUESTED_DIMENSIONS: u32 = DIMENSIONS as u32;

pub struct OpenAiEmbedder {
    http: Client,
    endpoint: Url,
    model: String,
    api_key: SecretString,
    request_timeout_ms: u64,
    batch_size: usize,
}

impl OpenAiEmbedder {
    /// An embedder for `settings.base_url` (the API root, such as `https://host/v1`) and
    /// `settings.model`. An empty `api_key` sends no Authorization header, for local servers.
    pub fn new(settings: &EmbeddingSettings) -> Result<Self, EmbedError> {
        let misconfigured = |message: String| EmbedError::Remote { message, retryable: false };
        let base_url = settings.base_url.trim().trim_end_matches('/');
        if base_url.is_empty() {
            return Err(misconfigured("embedding.base_url is empty".to_owned()));
        }
        let endpoint = Url::parse(&format!("{base_url}/embeddings"))
            .map_err(|e| misconfigured(format!("embedding.base_url {base_url:?} is not a URL: {e}")))?;
        if settings.model.trim().is_empty() {
            return Err(misconfigured("embedding.model is empty".to_owned()));
        }
        if settings.request_timeout_ms == 0 {
            return Err(misconfigured("embedding.request_timeout_ms must be positive".to_owned()));
        }
        let request_timeout = Duration::from_millis(settings.request_timeout_ms);
        let http = Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(request_timeout))
            .timeout(request_timeout)
            // A redirected POST would arrive as a GET; a moved endpoint is a configuration error.
            .redirect(redirect::Policy::none())
            .build()
            .map_err(|e| misconfigured(format!("HTTP client for {endpoint}: {e}")))?;
        Ok(Self {
            http,
            endpoint,
            model: settings.model.trim().to_owned(),
            api_key: settings.api_key.clone(),
            request_timeout_ms: settings.request_timeout_ms,
            batch_size: settings.batch_size.max(1),
        })
    }

    async fn embed_all(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut vectors = Vec::with_capacity(texts.len());
        for batch in texts.chunks(self.batch_size) {
            vectors.extend(self.embed_batch(batch).await?);
        }
        Ok(vectors)
    }

    async fn embed_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let request = CreateEmbeddingRequest {
            model: self.model.clone(),
            input: EmbeddingInput::StringArray(texts.to_vec()),
            encoding_format: Some(EncodingFormat::Float),
            user: None,
            dimensions: Some(REQUESTED_DIMENSIONS),
        };
        let endpoint = self.endpoint.as_str();
        let mut call = self.http.post(self.endpoint.clone()).json(&request);
        let api_key = self.api_key.expose_secret();
        if !api_key.is_empty() {
            call = call.bearer_auth(api_key);
        }
        let transport = |e: reqwest::Error| failure::from_transport(&e, endpoint, self.request_timeout_ms);
        let response = call.send().await.map_err(transport)?;
        let status = response.status();
        let body = response.bytes().await.map_err(transport)?;
        if !status.is_success() {
            return Err(failure::from_status(status, &body, endpoint));
        }
        response::vectors(&body, texts.len(), endpoint)
    }
}

impl Embedder for OpenAiEmbedder {
    fn model_name(&self) -> &str {
        &self.model
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
        Box::pin(self.embed_all(texts))
    }
}

impl fmt::Debug for OpenAiEmbedder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiEmbedder")
            .field("endpoint", &self.endpoint.as_str())
            .field("model", &self.model)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

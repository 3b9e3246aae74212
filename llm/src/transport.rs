//! One chat-completion call over HTTP, within a fixed time budget.
//!
//! The call is made with `reqwest` directly (the request and response bodies are async-openai's
//! types) because the status code decides what happens next: 429 and 5xx are worth trying again,
//! other 4xx are not, and async-openai's client does not report the status of a failed call. Its
//! built-in retry, which may keep going for minutes, is therefore not in the path at all. Instead
//! a call makes at most [`ATTEMPTS_PER_MODEL_CALL`] attempts, all inside the one
//! `request_timeout_ms` budget; longer waits belong to the job queue, which retries with its own
//! backoff.

use std::time::Duration;

use async_openai::types::chat::{CreateChatCompletionRequest, CreateChatCompletionResponse};
use reqwest::header::RETRY_AFTER;
use reqwest::{Response, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::time::Instant;

use crate::error::LlmError;
use crate::settings::LlmSettings;

/// Attempts one model call may make when the endpoint answers 408, 429 or 5xx, or the connection
/// fails; the second one happens only if the time budget still allows it.
pub const ATTEMPTS_PER_MODEL_CALL: usize = 2;
/// Wait before the second attempt unless the endpoint sent `Retry-After`; doubled per attempt.
const RETRY_DELAY: Duration = Duration::from_millis(250);
/// Connecting never takes more than this, even with a long overall budget.
const CONNECT_TIMEOUT_CAP: Duration = Duration::from_secs(5);
/// A chat completion is a few kilobytes; anything far larger is not one.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Error details kept from an endpoint's error body.
const MAX_ERROR_DETAIL_CHARS: usize = 300;

#[derive(Clone, Debug)]
pub(crate) struct Transport {
    http: reqwest::Client,
    endpoint: Url,
    api_key: SecretString,
    budget: Duration,
}

/// Why a model call produced no response, and whether the same call may succeed later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallFailure {
    pub reason: String,
    pub retryable: bool,
}

/// A failed attempt, with the wait the endpoint asked for before the next one.
struct AttemptFailure {
    failure: CallFailure,
    retry_after: Option<Duration>,
}

impl From<CallFailure> for AttemptFailure {
    fn from(failure: CallFailure) -> Self {
        Self { failure, retry_after: None }
    }
}

impl Transport {
    pub(crate) fn new(settings: &LlmSettings) -> Result<Self, LlmError> {
        let base_url = settings.base_url.trim();
        if base_url.is_empty() {
            return Err(LlmError::NotConfigured);
        }
        let endpoint = Url::parse(&format!("{}/chat/completions", base_url.trim_end_matches('/')))
            .map_err(|error| LlmError::invalid("base_url", format!("`{base_url}` is not a URL: {error}")))?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(LlmError::invalid("base_url", format!("`{base_url}` must start with http:// or https://")));
        }
        if settings.request_timeout_ms == 0 {
            return Err(LlmError::invalid("request_timeout_ms", "must be greater than 0"));
        }
        let budget = Duration::from_millis(settings.request_timeout_ms);
        let http = reqwest::Client::builder()
            .connect_timeout(budget.min(CONNECT_TIMEOUT_CAP))
            .timeout(budget)
            .build()
            .map_err(LlmError::HttpClient)?;
        Ok(Self { http, endpoint, api_key: settings.api_key.clone(), budget })
    }

    pub(crate) fn budget(&self) -> Duration {
        self.budget
    }

    /// Sends the request, trying once more on a transient failure if the budget allows.
    pub(crate) async fn complete(
        &self,
        request: &CreateChatCompletionRequest,
    ) -> Result<CreateChatCompletionResponse, CallFailure> {
        let deadline = Instant::now() + self.budget;
        let mut attempt = 1;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let failed = match tokio::time::timeout(remaining, self.attempt(request, remaining)).await {
                Ok(Ok(response)) => return Ok(response),
                Ok(Err(failed)) => failed,
                Err(_elapsed) => return Err(self.timed_out()),
            };
            if !failed.failure.retryable || attempt >= ATTEMPTS_PER_MODEL_CALL {
                return Err(failed.failure);
            }
            let delay = failed.retry_after.unwrap_or(RETRY_DELAY * 2u32.pow(attempt as u32 - 1));
            if Instant::now() + delay >= deadline {
                return Err(failed.failure);
            }
            tracing::warn!(attempt, delay_ms = delay.as_millis() as u64, reason = %failed.failure.reason, "model call failed; trying again");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        request: &CreateChatCompletionRequest,
        remaining: Duration,
    ) -> Result<CreateChatCompletionResponse, AttemptFailure> {
        let mut builder = self.http.post(self.endpoint.clone()).timeout(remaining).json(request);
        let api_key = self.api_key.expose_secret();
        if !api_key.trim().is_empty() {
            builder = builder.bearer_auth(api_key);
        }
        let response = builder.send().await.map_err(|error| self.request_failed(&error))?;
        let status = response.status();
        let retry_after = retry_after(&response);
        let body = self.read_body(response).await?;
        if !status.is_success() {
            return Err(AttemptFailure { failure: status_failure(status, &body), retry_after });
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&body);
        serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            AttemptFailure::from(CallFailure {
                reason: format!(
                    "the model endpoint's response is not a chat completion (at `{}`: {})",
                    error.path(),
                    error.inner()
                ),
                retryable: false,
            })
        })
    }

    async fn read_body(&self, mut response: Response) -> Result<Vec<u8>, AttemptFailure> {
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|error| self.request_failed(&error))? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(CallFailure {
                    reason: format!("the model endpoint's response is larger than {MAX_RESPONSE_BYTES} bytes"),
                    retryable: false,
                }
                .into());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn request_failed(&self, error: &reqwest::Error) -> AttemptFailure {
        let failure = if error.is_timeout() {
            self.timed_out()
        } else if error.is_connect() {
            CallFailure { reason: format!("cannot connect to the model endpoint {}", self.endpoint), retryable: true }
        } else {
            CallFailure { reason: format!("the request to the model endpoint failed: {error}"), retryable: true }
        };
        failure.into()
    }

    fn timed_out(&self) -> CallFailure {
        CallFailure {
            reason: format!("the model did not answer within {} ms (llm.request_timeout_ms)", self.budget.as_millis()),
            retryable: true,
        }
    }
}

/// 408, 429 and 5xx may pass; an exhausted quota and other 4xx will not until someone acts.
fn status_failure(status: StatusCode, body: &[u8]) -> CallFailure {
    let detail = ErrorDetail::from_body(body);
    let transient = matches!(status, StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS);
    let retryable = (transient && !detail.quota_exhausted) || status.is_server_error();
    let reason = match detail.message {
        Some(message) => format!("the model endpoint answered {status}: {message}"),
        None => format!("the model endpoint answered {status}"),
    };
    CallFailure { reason, retryable }
}

fn retry_after(response: &Response) -> Option<Duration> {
    let seconds: u64 = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// What an error body says, in OpenAI's shape (`{"error": {...}}`), the flat shape some compatible
/// servers use, or plain text.
struct ErrorDetail {
    message: Option<String>,
    quota_exhausted: bool,
}

impl ErrorDetail {
    fn from_body(body: &[u8]) -> Self {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Body {
            Wrapped { error: Inner },
            Flat(Inner),
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Inner {
            Object {
                message: Option<String>,
                #[serde(rename = "type")]
                kind: Option<serde_json::Value>,
                code: Option<serde_json::Value>,
            },
            Text(String),
        }
        const QUOTA_EXHAUSTED: &str = "insufficient_quota";
        match serde_json::from_slice::<Body>(body) {
            Ok(
                Body::Wrapped { error: Inner::Object { message, kind, code } }
                | Body::Flat(Inner::Object { message, kind, code }),
            ) => {
                let is_quota = |value: &Option<serde_json::Value>| {
                    value.as_ref().and_then(|v| v.as_str()) == Some(QUOTA_EXHAUSTED)
                };
                Self {
                    message: message.map(|message| shorten(&message)),
                    quota_exhausted: is_quota(&kind) || is_quota(&code),
                }
            }
            Ok(Body::Wrapped { error: Inner::Text(message) } | Body::Flat(Inner::Text(message))) => {
                Self { message: Some(shorten(&message)), quota_exhausted: false }
            }
            Err(_) => {
                let text = String::from_utf8_lossy(body);
                let text = text.trim();
                Self { message: (!text.is_empty()).then(|| shorten(text)), quota_exhausted: false }
            }
        }
    }
}

fn shorten(text: &str) -> String {
    let mut chars = text.chars();
    let short: String = chars.by_ref().take(MAX_ERROR_DETAIL_CHARS).collect();
    if chars.next().is_some() { format!("{short}…") } else { short }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_and_server_errors_are_retryable_other_client_errors_not() {
        let rate_limited =
            br#"{"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}"#;
        assert!(status_failure(StatusCode::TOO_MANY_REQUESTS, rate_limited).retryable);
        assert!(status_failure(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>").retryable);
        assert!(status_failure(StatusCode::REQUEST_TIMEOUT, b"").retryable);
        assert!(!status_failure(StatusCode::UNAUTHORIZED, br#"{"error": {"message": "bad key"}}"#).retryable);
        let quota = br#"{"error": {"message": "You exceeded your quota", "type": "insufficient_quota", "code": "insufficient_quota"}}"#;
        assert!(!status_failure(StatusCode::TOO_MANY_REQUESTS, quota).retryable);
    }

    #[test]
    fn reasons_carry_the_status_and_the_endpoint_message() {
        let openai = br#"{"error": {"message": "Invalid value for 'model'", "type": "invalid_request_error", "param": null, "code": null}}"#;
        assert_eq!(
            status_failure(StatusCode::BAD_REQUEST, openai).reason,
            "the model endpoint answered 400 Bad Request: Invalid value for 'model'"
        );
        let flat = br#"{"object": "error", "message": "max context exceeded", "type": "BadRequestError", "code": 400}"#;
        assert!(status_failure(StatusCode::BAD_REQUEST, flat).reason.ends_with("max context exceeded"));
        let long = "x".repeat(MAX_ERROR_DETAIL_CHARS + 50);
        let reason = status_failure(StatusCode::INTERNAL_SERVER_ERROR, long.as_bytes()).reason;
        let kept = "x".repeat(MAX_ERROR_DETAIL_CHARS);
        assert_eq!(reason, format!("the model endpoint answered 500 Internal Server Error: {kept}…"));
        assert_eq!(status_failure(StatusCode::NOT_FOUND, b"").reason, "the model endpoint answered 404 Not Found");
    }
}

//! The demo's HTTP client: the merchant API with the demo key, and webhooks signed the way
//! Shopify and Meta sign them, all sent to the running API like any store or Meta would.

use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use recete_platform::crypto::hmac_sha256;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Every request gives up after this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// A call refused by a rate limit is tried again after its `Retry-After`, at most this often.
const MAX_RATE_LIMIT_WAITS: u32 = 5;
/// The longest `Retry-After` obeyed.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct DemoClient {
    http: reqwest::Client,
    /// The API's own address, `http://127.0.0.1:8080`, without a trailing slash.
    base_url: String,
}

impl DemoClient {
    pub fn new(base_url: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(3))
            .build()
            .context("cannot build the demo's HTTP client")?;
        Ok(Self { http, base_url: base_url.trim_end_matches('/').to_owned() })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Whether the API answers `/readyz` with 200.
    pub async fn ready(&self) -> bool {
        matches!(self.http.get(self.url("/readyz")).send().await, Ok(response) if response.status().is_success())
    }

    /// A merchant API call with `api_key`: the status and the JSON body (`Null` when empty).
    pub async fn call(
        &self,
        api_key: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut refusals = 0;
        let response = loop {
            let mut request = self.http.request(method.clone(), self.url(path)).bearer_auth(api_key);
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request.send().await.with_context(|| format!("{method} {path} did not answer"))?;
            // The per-address quota is shared with whoever else calls from this machine: wait as
            // told and ask again, a few times.
            if response.status() != StatusCode::TOO_MANY_REQUESTS || refusals == MAX_RATE_LIMIT_WAITS {
                break response;
            }
            refusals += 1;
            tokio::time::sleep(retry_after(&response)).await;
        };
        let status = response.status();
        let text = response.text().await.with_context(|| format!("{method} {path}: the body did not arrive"))?;
        let json = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).with_context(|| format!("{method} {path} answered {status} with no JSON"))?
        };
        Ok((status, json))
    }

    /// Like [`Self::call`], failing with the problem's detail unless the status is `expected`.
    pub async fn expect(
        &self,
        api_key: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        expected: StatusCode,
    ) -> anyhow::Result<Value> {
        let (status, json) = self.call(api_key, method.clone(), path, body).await?;
        if status != expected {
            bail!("{method} {path} answered {status} (expected {expected}): {}", problem_detail(&json));
        }
        Ok(json)
    }

    /// Sends a Shopify webhook signed with the app's secret (`X-Shopify-Hmac-Sha256`).
    pub async fn shopify(&self, webhook: ShopifyWebhook<'_>, body: &Value) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec(body)?;
        let signature = STANDARD.encode(hmac_sha256(webhook.secret.as_bytes(), &bytes));
        let response = self
            .http
            .post(self.url(webhook.path))
            .header("content-type", "application/json")
            .header("x-shopify-topic", webhook.topic)
            .header("x-shopify-webhook-id", webhook.webhook_id)
            .header("x-shopify-shop-domain", webhook.shop_domain)
            .header("x-shopify-api-version", "2025-01")
            .header("x-shopify-hmac-sha256", signature)
            .body(bytes)
            .send()
            .await
            .with_context(|| format!("the Shopify {} webhook did not arrive", webhook.topic))?;
        accepted(response, &format!("the Shopify {} webhook", webhook.topic)).await
    }

    /// Sends a WhatsApp webhook signed with the Meta app secret (`X-Hub-Signature-256`).
    pub async fn whatsapp(&self, app_secret: &str, body: &Value) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec(body)?;
        let signature = format!("sha256={}", hex::encode(hmac_sha256(app_secret.as_bytes(), &bytes)));
        let response = self
            .http
            .post(self.url("/webhooks/whatsapp"))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature)
            .body(bytes)
            .send()
            .await
            .context("the WhatsApp webhook did not arrive")?;
        accepted(response, "the WhatsApp webhook").await
    }
}

/// Where and how one Shopify delivery is sent.
pub struct ShopifyWebhook<'a> {
    pub path: &'a str,
    pub secret: &'a str,
    pub shop_domain: &'a str,
    pub topic: &'a str,
    /// Shopify's delivery id: the same id twice is one delivery, stored once.
    pub webhook_id: &'a str,
}

/// A webhook is taken when the API answers 2xx (a repeated delivery included).
async fn accepted(response: reqwest::Response, what: &str) -> anyhow::Result<()> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body: Value = response.json().await.unwrap_or(Value::Null);
    bail!("{what} was refused with {status}: {}", problem_detail(&body))
}

/// The wait a 429 asks for (whole seconds), one second when it names none.
fn retry_after(response: &reqwest::Response) -> Duration {
    let seconds = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .unwrap_or(1);
    Duration::from_secs(seconds.max(1)).min(MAX_RETRY_AFTER)
}

fn problem_detail(body: &Value) -> String {
    body["detail"].as_str().map_or_else(|| body.to_string(), str::to_owned)
}

//! The webhooks pool: one attempt to deliver one merchant event to one endpoint.
//!
//! An attempt holds its delivery's task and row locked from the claim to the commit, so a second
//! copy of the job finds them locked and does nothing. It renders the event as of now, signs it
//! with the endpoint's secrets (the previous one too while a rotation overlaps) and POSTs it
//! through the address guard with `webhooks.request_timeout_ms`. A 2xx answer delivers it;
//! anything else (another status, a redirect, a refused address, a timeout) is recorded on the
//! delivery and counted as a failed attempt on the task, which retries with the pool's
//! exponential backoff and dead-letters after `pools.webhooks.max_attempts`. An endpoint whose
//! attempts have all failed for `webhooks.disable_after_secs` is disabled with the reason; a
//! delivery whose endpoint is disabled when its turn comes is cancelled (the merchant can replay
//! it after enabling the endpoint).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use apalis::prelude::{BoxDynError, Data};
use chrono::Utc;
use recete_jobs::TaskJob;
use recete_jobs::execution::{self as jobs, JobContext, JobRow, Outcome};
use recete_platform::config::{PoolSettings, WebhookSettings};
use recete_platform::crypto::Keyring;
use recete_platform::db;
use recete_platform::ids::TaskId;
use recete_shared::merchant_events::{self, render};
use recete_shared::tasks::{self, finish};
use recete_shared::webhooks::deliveries::{self, AttemptResult};
use recete_shared::webhooks::{endpoints, secret};
use sqlx::PgPool;

use crate::WorkerDeps;

/// Bytes of an error response kept to explain a failure.
const RESPONSE_EXCERPT: usize = 200;

#[derive(Clone)]
pub struct WebhookDeps {
    pub pool: PgPool,
    pub keyring: Arc<Keyring>,
    pub settings: PoolSettings,
    pub client: reqwest::Client,
    pub allow_loopback: bool,
    pub disable_after: chrono::Duration,
}

impl WebhookDeps {
    pub fn new(deps: &WorkerDeps, settings: PoolSettings) -> anyhow::Result<Self> {
        let webhooks: &WebhookSettings = &deps.settings.webhooks;
        let client = recete_scrape::outbound::guarded_client_builder(
            webhooks.allow_loopback,
            Duration::from_millis(webhooks.connect_timeout_ms),
        )
        .timeout(Duration::from_millis(webhooks.request_timeout_ms))
        .user_agent(webhooks.user_agent.as_str())
        .build()
        .context("Failed to build the webhook HTTP client")?;
        Ok(Self {
            pool: deps.pool.clone(),
            keyring: deps.keyring.clone(),
            settings,
            client,
            allow_loopback: webhooks.allow_loopback,
            disable_after: chrono::Duration::seconds(
                i64::try_from(webhooks.disable_after_secs).unwrap_or(i64::MAX / 2),
            ),
        })
    }
}

/// The apalis handler.
pub async fn process(job: TaskJob, deps: Data<WebhookDeps>, context: Data<JobContext>) -> Result<(), BoxDynError> {
    let task_id = job.task_id();
    jobs::run(&context, JobRow::Task(task_id), handle_task(task_id, &deps)).await;
    if let Err(error) = deliveries::settle(&deps.pool, task_id.as_uuid()).await {
        tracing::warn!(%task_id, %error, "a webhook delivery's next attempt could not be recorded");
    }
    Ok(())
}

/// One attempt; an error is a failed attempt (already recorded on the delivery).
pub async fn handle_task(task_id: TaskId, deps: &WebhookDeps) -> anyhow::Result<Outcome> {
    let mut tx = db::system_tx(&deps.pool).await.context("Failed to begin the task transaction")?;
    let Some(task) = jobs::claim_task(&mut tx, task_id).await? else {
        return Ok(Outcome::Skipped);
    };
    anyhow::ensure!(task.kind == tasks::WEBHOOK, "a `{}` task reached the webhooks queue", task.kind);
    let merchant = task.merchant_id;
    let Some(delivery) = deliveries::lock_for_attempt(&mut tx, task_id.as_uuid()).await? else {
        finish(&mut tx, task_id, "cancelled", "the endpoint was deleted").await?;
        tx.commit().await?;
        return Ok(Outcome::Done);
    };
    let endpoint = endpoints::for_signing(&mut tx, &deps.keyring, merchant, delivery.endpoint_id)
        .await
        .context("Failed to read the endpoint")?;
    let Some(endpoint) = endpoint.filter(|endpoint| !endpoint.disabled) else {
        let reason = "not sent: the endpoint is disabled";
        deliveries::cancel(&mut tx, delivery.id, reason).await?;
        finish(&mut tx, task_id, "cancelled", reason).await?;
        tx.commit().await?;
        return Ok(Outcome::Done);
    };
    let event = merchant_events::find(&mut tx, delivery.event_id).await?.context("the delivery's event is gone")?;
    let body = render::render(&mut tx, &deps.keyring, &event).await.context("Failed to render the event")?;
    let webhook_id = event.id.to_string();
    let result = send(deps, &endpoint.url, &webhook_id, &endpoint.secrets, body).await;
    deliveries::record_attempt(&mut tx, delivery.id, &result).await?;
    let outcome = if result.succeeded() { "delivered" } else { "failed" };
    metrics::counter!("recete_webhook_attempts_total", "outcome" => outcome).increment(1);
    if result.succeeded() {
        endpoints::note_success(&mut tx, delivery.endpoint_id).await?;
        let code = result.status_code.unwrap_or_default();
        finish(&mut tx, task_id, "done", &format!("delivered ({code})")).await?;
        tx.commit().await.context("Failed to commit the delivery")?;
        return Ok(Outcome::Done);
    }
    let error = result.error.clone().unwrap_or_else(|| "failed".to_owned());
    if endpoints::note_failure(&mut tx, delivery.endpoint_id, deps.disable_after, &error).await? {
        tracing::warn!(endpoint = %delivery.endpoint_id, %error, "webhook endpoint disabled after failing for too long");
        metrics::counter!("recete_webhook_endpoints_disabled_total").increment(1);
    }
    tx.commit().await.context("Failed to record the failed attempt")?;
    anyhow::bail!("{error}")
}

/// POSTs `body` to `url` as a Standard Webhooks message.
async fn send(
    deps: &WebhookDeps,
    url: &str,
    webhook_id: &str,
    secrets: &[secret::WebhookSecret],
    body: Vec<u8>,
) -> AttemptResult {
    let started = Instant::now();
    let failed = |status_code: Option<u16>, error: String| AttemptResult {
        status_code,
        error: Some(error),
        duration_ms: started.elapsed().as_millis() as u64,
    };
    let parsed = match url::Url::parse(url) {
        Ok(parsed) => parsed,
        Err(error) => return failed(None, format!("the endpoint URL is not valid: {error}")),
    };
    if let Err(refusal) = recete_scrape::outbound::check_literal(&parsed, deps.allow_loopback) {
        return failed(None, format!("refused: {refusal}"));
    }
    let timestamp = Utc::now().timestamp();
    let signature = secret::signature_header(secrets, webhook_id, timestamp, &body);
    let response = deps
        .client
        .post(parsed)
        .header("content-type", "application/json")
        .header("webhook-id", webhook_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let response = match response {
        Ok(response) => response,
        Err(error) => return failed(None, describe(&error)),
    };
    let status = response.status();
    if status.is_success() {
        return AttemptResult {
            status_code: Some(status.as_u16()),
            error: None,
            duration_ms: started.elapsed().as_millis() as u64,
        };
    }
    // A short excerpt of what the receiver said, read within the same time bound.
    let excerpt = match tokio::time::timeout(Duration::from_secs(1), response.bytes()).await {
        Ok(Ok(bytes)) => String::from_utf8_lossy(&bytes[..bytes.len().min(RESPONSE_EXCERPT)]).trim().to_owned(),
        _ => String::new(),
    };
    let mut error = if status.is_redirection() {
        format!("the endpoint answered {status} (redirects are not followed)")
    } else {
        format!("the endpoint answered {status}")
    };
    if !excerpt.is_empty() {
        error.push_str(&format!(": {excerpt}"));
    }
    failed(Some(status.as_u16()), error)
}

/// A transport error in words: a timeout, a refused address or connection, with its causes.
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out waiting for the endpoint".to_owned();
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

//! The process-wide limiter: names each client's key, asks Redis, and fails open.

use std::net::IpAddr;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use tokio::sync::OnceCell;

use super::gcra::{self, Mode};
use super::{Limit, LimitKind, Quota, Verdict, describe_metrics};
use crate::client_ip::{Cidr, canonical};
use crate::config::RateLimitSettings;
use crate::ids::{ApiKeyId, IntegrationId, MerchantId};
use crate::redis_client::RedisClient;

/// After Redis failed to answer, checks are skipped for this long, so an outage costs each
/// request nothing instead of a timeout.
const PAUSE_AFTER_FAILURE: Duration = Duration::from_secs(1);
/// At most one warning about an unreachable Redis per this interval.
const WARNING_INTERVAL: Duration = Duration::from_secs(5);

static METRICS_DESCRIBED: Once = Once::new();

#[derive(Debug, thiserror::Error)]
pub enum RateLimitError {
    #[error("Redis did not answer the rate limit check within {0:?}")]
    Timeout(Duration),
    #[error("Redis failed the rate limit check: {0}")]
    Redis(#[from] redis::RedisError),
}

pub struct RateLimiter {
    enabled: bool,
    trusted_proxies: Vec<Cidr>,
    ip: Quota,
    api_key: Quota,
    merchant: Quota,
    integration: Quota,
    whatsapp_number: Quota,
    webhook_auth_failures: Quota,
    redis: RedisClient,
    /// Made on first use, so the API starts even while Redis is down; it reconnects by itself.
    connection: OnceCell<ConnectionManager>,
    timeout: Duration,
    paused_until: Mutex<Option<Instant>>,
    last_warning: Mutex<Option<Instant>>,
}

impl RateLimiter {
    pub fn new(settings: &RateLimitSettings, redis: RedisClient) -> Self {
        Self {
            enabled: settings.enabled,
            trusted_proxies: settings.trusted_proxies.clone(),
            ip: Quota::from(&settings.ip),
            api_key: Quota::from(&settings.api_key),
            merchant: Quota::from(&settings.merchant),
            integration: Quota::from(&settings.integration),
            whatsapp_number: Quota::from(&settings.whatsapp_number),
            webhook_auth_failures: Quota::from(&settings.webhook_auth_failures),
            redis,
            connection: OnceCell::new(),
            timeout: Duration::from_millis(settings.redis_timeout_ms),
            paused_until: Mutex::new(None),
            last_warning: Mutex::new(None),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Proxies whose `X-Forwarded-For` names the client.
    pub fn trusted_proxies(&self) -> &[Cidr] {
        &self.trusted_proxies
    }

    fn limit(&self, kind: LimitKind, quota: Quota, subject: &str) -> Limit {
        Limit { kind, quota, key: self.redis.key(&format!("ratelimit:http:{subject}")) }
    }

    /// Per client address. An IPv6 client is counted by its /64, the block one subscriber
    /// usually holds, so rotating addresses within it buys nothing.
    pub fn client_ip_limit(&self, ip: IpAddr) -> Limit {
        self.limit(LimitKind::Ip, self.ip, &format!("ip:{}", address_subject(ip)))
    }

    /// Per client address (IPv6 per /64, as [`Self::client_ip_limit`]): webhook deliveries from
    /// it that failed to verify.
    pub fn webhook_auth_failures_limit(&self, ip: IpAddr) -> Limit {
        let subject = format!("webhook-auth-failures:{}", address_subject(ip));
        self.limit(LimitKind::WebhookAuthFailures, self.webhook_auth_failures, &subject)
    }

    /// The key's own quota and its merchant's, checked together. Both keys carry the merchant as
    /// a hash tag, so they live in one Redis Cluster slot and one script may touch both.
    pub fn api_key_limits(&self, merchant: MerchantId, api_key: ApiKeyId) -> [Limit; 2] {
        [
            self.limit(LimitKind::ApiKey, self.api_key, &format!("{{{merchant}}}:api-key:{api_key}")),
            self.limit(LimitKind::Merchant, self.merchant, &format!("{{{merchant}}}:merchant")),
        ]
    }

    pub fn integration_limit(&self, integration: IntegrationId) -> Limit {
        self.limit(LimitKind::Integration, self.integration, &format!("integration:{integration}"))
    }

    /// Per business phone number of Meta's webhooks; the caller passes Meta's numeric id only.
    pub fn whatsapp_number_limit(&self, phone_number_id: &str) -> Limit {
        self.limit(LimitKind::WhatsAppNumber, self.whatsapp_number, &format!("whatsapp-number:{phone_number_id}"))
    }

    /// Checks and charges `limits` together. `None` means the request is served unchecked:
    /// limiting is off, or Redis did not answer in time (logged at most every few seconds and
    /// counted in `recete_rate_limit_unavailable_total`).
    pub async fn check(&self, limits: &[Limit]) -> Option<Verdict> {
        self.evaluate(limits, Mode::Charge).await
    }

    /// Where `limits` stand, as [`Self::check`] would answer, without charging any of them.
    pub async fn peek(&self, limits: &[Limit]) -> Option<Verdict> {
        self.evaluate(limits, Mode::Peek).await
    }

    async fn evaluate(&self, limits: &[Limit], mode: Mode) -> Option<Verdict> {
        if !self.enabled || limits.is_empty() {
            return None;
        }
        // Described on first use, when the process's recorder is certainly installed.
        METRICS_DESCRIBED.call_once(describe_metrics);
        if self.is_paused() {
            metrics::counter!("recete_rate_limit_unavailable_total").increment(1);
            return None;
        }
        match self.try_evaluate(limits, mode).await {
            Ok(verdict) => {
                if let Some(refusal) = verdict.refusal() {
                    metrics::counter!("recete_rate_limited_total", "limit" => refusal.kind.as_str()).increment(1);
                }
                Some(verdict)
            }
            Err(error) => {
                self.pause();
                metrics::counter!("recete_rate_limit_unavailable_total").increment(1);
                self.warn(&error);
                None
            }
        }
    }

    /// One check against Redis, within the configured timeout, with its error.
    pub async fn try_check(&self, limits: &[Limit]) -> Result<Verdict, RateLimitError> {
        self.try_evaluate(limits, Mode::Charge).await
    }

    async fn try_evaluate(&self, limits: &[Limit], mode: Mode) -> Result<Verdict, RateLimitError> {
        let attempt = async {
            let connection = self.connection.get_or_try_init(|| self.redis.connection()).await?;
            let mut connection = connection.clone();
            gcra::evaluate(&mut connection, limits, mode).await
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(RateLimitError::Timeout(self.timeout)),
        }
    }

    fn is_paused(&self) -> bool {
        let paused_until = self.paused_until.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        paused_until.is_some_and(|until| Instant::now() < until)
    }

    fn pause(&self) {
        let mut paused_until = self.paused_until.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *paused_until = Some(Instant::now() + PAUSE_AFTER_FAILURE);
    }

    fn warn(&self, error: &RateLimitError) {
        let now = Instant::now();
        let mut last = self.last_warning.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if last.is_none_or(|at| now.duration_since(at) >= WARNING_INTERVAL) {
            *last = Some(now);
            tracing::warn!(error = %error, "rate limits are not enforced: Redis is unavailable; serving requests unchecked");
        }
    }
}

/// How a client address is named in a limit's key: IPv4 as is, IPv6 by its /64.
fn address_subject(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
    }
}

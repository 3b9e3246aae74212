//! Request rate limits shared by every API replica through Redis.
//!
//! Every limit is a quota of `quantity` requests per `window`, enforced with the generic cell rate
//! algorithm (GCRA): a client with nothing used may send the whole quantity at once, and then
//! earns one request back every `window / quantity`. The state is one timestamp per client in
//! Redis, checked and charged by one Lua script that takes its time from Redis, so any number of
//! replicas share each quota exactly. The limits of one request (an API key and its merchant) are
//! checked together in one round trip: all admit it and are charged, or none is.
//!
//! Which limits exist, and why the webhook ones are separate:
//! - `ip`: per client address, before authentication, so a flood of bad keys stops here.
//! - `api_key` and `merchant`: after authentication; two keys of a merchant share its quota.
//! - `integration` (store webhooks) and `whatsapp_number` (Meta's webhooks, per business phone
//!   number): stores and Meta send from shared addresses, so webhooks are counted per sender,
//!   never per address, with quotas high enough for their bursts. They are charged only once the
//!   signature verifies: a forger cannot spend a real sender's quota.
//! - `webhook_auth_failures`: per client address, webhook deliveries that did not verify. It is
//!   looked at without being charged ([`RateLimiter::peek`]) before a delivery is read, and
//!   charged only when the delivery fails to verify.
//!
//! When Redis cannot answer in time the request is served (fail open): losing Redis must not take
//! the API down with it.

mod gcra;
mod limiter;
#[cfg(test)]
mod tests;

use std::time::Duration;

pub use limiter::{RateLimitError, RateLimiter};

use crate::config::QuotaSettings;

/// Which quota a limit draws from; the names appear in `RateLimit` headers and metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitKind {
    Ip,
    ApiKey,
    Merchant,
    Integration,
    WhatsAppNumber,
    WebhookAuthFailures,
}

impl LimitKind {
    pub const ALL: [Self; 6] =
        [Self::Ip, Self::ApiKey, Self::Merchant, Self::Integration, Self::WhatsAppNumber, Self::WebhookAuthFailures];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ip => "ip",
            Self::ApiKey => "api_key",
            Self::Merchant => "merchant",
            Self::Integration => "integration",
            Self::WhatsAppNumber => "whatsapp_number",
            Self::WebhookAuthFailures => "webhook_auth_failures",
        }
    }

    /// What the quota is counted per, in words for a problem detail.
    pub const fn counted_per(self) -> &'static str {
        match self {
            Self::Ip => "client address",
            Self::ApiKey => "API key",
            Self::Merchant => "merchant (all its API keys together)",
            Self::Integration => "store integration",
            Self::WhatsAppNumber => "WhatsApp business phone number",
            Self::WebhookAuthFailures => "client address (webhook deliveries that failed to verify)",
        }
    }
}

/// `quantity` requests per `window`, all of which may come at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub quantity: u64,
    pub window: Duration,
}

impl From<&QuotaSettings> for Quota {
    fn from(settings: &QuotaSettings) -> Self {
        Self { quantity: settings.quantity, window: Duration::from_secs(settings.window_secs) }
    }
}

impl Quota {
    /// Microseconds between two requests at the steady rate, rounded up so the quota is never
    /// exceeded.
    fn interval_micros(&self) -> u64 {
        let window = u64::try_from(self.window.as_micros()).unwrap_or(u64::MAX);
        window.div_ceil(self.quantity.max(1)).max(1)
    }

    /// Microseconds of credit a client with nothing used holds: the whole quantity.
    fn capacity_micros(&self) -> u64 {
        self.interval_micros().saturating_mul(self.quantity.max(1))
    }
}

/// One quota as applied to one client: the Redis key holding its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub kind: LimitKind,
    pub quota: Quota,
    key: String,
}

impl Limit {
    /// The Redis key of this client's state, under the configured prefix.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// Where one limit stood after a request was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitStatus {
    pub kind: LimitKind,
    pub quota: Quota,
    /// This limit refused the request.
    pub refused: bool,
    /// Requests the limit would admit right now.
    pub available: u64,
    /// Time until the limit admits one more request than `available`.
    pub wait: Duration,
}

impl LimitStatus {
    /// `wait` in whole seconds, rounded up so a client waiting that long is admitted; at least 1.
    pub fn wait_secs(&self) -> u64 {
        self.wait.as_micros().div_ceil(1_000_000).max(1).try_into().unwrap_or(u64::MAX)
    }

    /// Ordering for "closest to refusing": refused first, then fewest requests left, then the
    /// longest wait.
    fn tightness(&self) -> (bool, std::cmp::Reverse<u64>, Duration) {
        (self.refused, std::cmp::Reverse(self.available), self.wait)
    }
}

/// The limit closest to refusing among `statuses`: the one a client should pace itself by.
pub fn tightest<'a>(statuses: impl IntoIterator<Item = &'a LimitStatus>) -> Option<LimitStatus> {
    statuses.into_iter().max_by_key(|status| status.tightness()).copied()
}

/// The outcome of checking the limits of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    statuses: Vec<LimitStatus>,
}

impl Verdict {
    pub fn statuses(&self) -> &[LimitStatus] {
        &self.statuses
    }

    /// The refused limit that takes longest to admit again (what a 429 reports), if any refused.
    pub fn refusal(&self) -> Option<LimitStatus> {
        self.statuses.iter().filter(|status| status.refused).max_by_key(|status| status.wait).copied()
    }

    pub fn is_admitted(&self) -> bool {
        self.statuses.iter().all(|status| !status.refused)
    }
}

/// Help text for the limiter's metrics.
fn describe_metrics() {
    metrics::describe_counter!(
        "recete_rate_limited_total",
        "Requests refused with 429 by a rate limit, by limit (ip, api_key, merchant, integration, whatsapp_number, webhook_auth_failures)."
    );
    metrics::describe_counter!(
        "recete_rate_limit_unavailable_total",
        "Requests served without a rate limit check because Redis did not answer in time."
    );
}

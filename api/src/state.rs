use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::FromRef;
use metrics_exporter_prometheus::PrometheusHandle;
use recete_platform::crypto::Keyring;
use recete_platform::rate_limit::RateLimiter;
use recete_platform::redis_client::RedisClient;
use recete_shared::events::store::EventWriter;
use recete_shared::integrations::IntegrationDirectory;
use sqlx::PgPool;

use crate::body::BodyLimit;

/// Everything a handler may use. Cloned per request, so every field is cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub pool: PgPool,
    pub redis: RedisClient,
    /// Opens message texts for the merchant's conversation view.
    pub keyring: Arc<Keyring>,
    pub integrations: Arc<IntegrationDirectory>,
    pub events: EventWriter,
    pub body_limit: BodyLimit,
    /// The largest CSV upload, and the pieces it is stored in.
    pub import_limits: recete_shared::imports::upload::UploadLimits,
    pub generic_tolerance_secs: i64,
    /// `api.default_key_expiry_days`: the life of an API key that does not say (0: none).
    pub default_key_expiry_days: u32,
    pub metrics: PrometheusHandle,
    /// Opens `/metrics` and the detailed `/readyz` on the public listener (`api.metrics_token`).
    pub metrics_token: crate::metrics_token::MetricsToken,
    pub draining: Draining,
    pub rate_limiter: Arc<RateLimiter>,
    /// What webhook endpoint URLs may be, and how long a rotated secret overlaps.
    pub webhooks: WebhookPolicy,
    /// The live event streams of this process.
    pub event_streams: recete_shared::merchant_events::live::LiveStreams,
}

/// Set once shutdown starts, so readiness fails at once and load balancers stop sending work.
#[derive(Clone, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    pub fn start(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What the API needs of `webhooks.*`.
#[derive(Debug, Clone)]
pub struct WebhookPolicy {
    /// Production: only `https` endpoints.
    pub require_https: bool,
    /// Tests only: loopback endpoints (and plain http) allowed.
    pub allow_loopback: bool,
    pub lookup_timeout: Duration,
    pub secret_overlap: chrono::Duration,
}

//! Building and running the API.
//!
//! `Application::build` binds the listener (port 0 in tests) so the caller knows the address
//! before serving; `run_until_stopped` serves until the cancellation token fires, then answers
//! 503 on `/readyz` while still serving for `api.readiness_drain_ms`, stops accepting, lets
//! in-flight requests finish within the grace period, and drains the event committers so every
//! acknowledged webhook is on disk.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use recete_jobs::stats::Sampler;
use recete_platform::config::{Environment, PlatformSettings};
use recete_platform::crypto::Keyring;
use recete_platform::db::listening::Listening;
use recete_platform::rate_limit::RateLimiter;
use recete_platform::redis_client::RedisClient;
use recete_shared::events::store::{EventWriter, WriterSettings};
use recete_shared::imports::upload::UploadLimits;
use recete_shared::integrations::IntegrationDirectory;
use recete_shared::merchant_events::wakeups::Wakeups;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::body::BodyLimit;
use crate::error::ApiError;
use crate::request_timeout::RequestTimeouts;
use crate::security_headers::SecurityHeaders;
use crate::state::{AppState, Draining};
use crate::{
    demo_pages, health, http_metrics, openapi, rate_limit, request_id, request_timeout, security_headers, webhooks,
};

/// Connections the API shares with the rest of the process.
#[derive(Clone)]
pub struct Dependencies {
    pub pool: PgPool,
    pub redis: RedisClient,
    pub keyring: Arc<Keyring>,
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    /// Health with details and metrics, for the operators' listener.
    operator_routes: Router,
    draining: Draining,
    committers: Vec<JoinHandle<()>>,
    grace: Duration,
    readiness_drain: Duration,
    queue_gauges: Sampler,
    /// Wakes the event streams; listens on its own connection while serving.
    stream_wakeups: (Arc<Wakeups>, Listening),
    /// The event streams' shared parts, for the console's inbox beside the API.
    live_streams: crate::merchant::event_stream::EventStreams,
    /// The webhooks' integration cache, for routes served beside the API that change
    /// integrations (the console) and must be seen at once.
    integrations: Arc<IntegrationDirectory>,
    /// The CSV uploads' limits and slots, shared with the console's upload page.
    upload_limits: UploadLimits,
}

impl Application {
    pub async fn build(settings: &PlatformSettings, listen: SocketAddr, deps: Dependencies) -> anyhow::Result<Self> {
        let listener =
            TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        let (events, committers) = EventWriter::start(
            deps.pool.clone(),
            deps.keyring.clone(),
            WriterSettings {
                max_batch: settings.ingest.max_batch,
                writers: settings.ingest.writers,
                queue_capacity: settings.ingest.queue_capacity,
            },
        );
        let draining = Draining::default();
        let queue_gauges = Sampler::new(deps.pool.clone(), &settings.metrics);
        let wakeups = Arc::new(Wakeups::new(settings.events.max_streams_per_merchant));
        let stream_wakeups = (wakeups.clone(), Listening::from_settings(&settings.database, &deps.pool)?);
        let live_streams = crate::merchant::event_stream::EventStreams {
            wakeups,
            heartbeat: Duration::from_secs(settings.events.stream_heartbeat_secs),
            poll: Duration::from_secs(settings.events.stream_poll_secs),
        };
        let upload_limits = UploadLimits::from_settings(&settings.imports);
        let state = AppState {
            rate_limiter: Arc::new(RateLimiter::new(&settings.rate_limits, deps.redis.clone())),
            integrations: Arc::new(IntegrationDirectory::new(
                deps.pool.clone(),
                deps.keyring.clone(),
                Duration::from_secs(settings.ingest.integration_cache_ttl_secs),
            )),
            pool: deps.pool,
            redis: deps.redis,
            keyring: deps.keyring,
            events,
            body_limit: BodyLimit(settings.api.body_limit_bytes),
            import_limits: upload_limits.clone(),
            generic_tolerance_secs: settings.ingest.generic_signature_tolerance_secs,
            default_key_expiry_days: settings.api.default_key_expiry_days,
            metrics: recete_platform::telemetry::metrics_handle(),
            metrics_token: health::MetricsToken::new(&settings.api.metrics_token),
            draining: draining.clone(),
            webhooks: crate::merchant::webhook_endpoints::WebhookPolicy {
                require_https: settings.app.environment == Environment::Production,
                allow_loopback: settings.webhooks.allow_loopback,
                lookup_timeout: Duration::from_millis(settings.webhooks.connect_timeout_ms),
                secret_overlap: chrono::Duration::seconds(
                    i64::try_from(settings.webhooks.secret_overlap_secs).unwrap_or(i64::MAX / 2),
                ),
            },
            event_streams: live_streams.clone(),
        };
        let operator_routes = health::operator_routes(health::HealthState::of(&state));
        let integrations = state.integrations.clone();
        Ok(Self {
            listener,
            operator_routes,
            router: router(
                state,
                RequestTimeouts { default: settings.api.request_timeout(), upload: settings.imports.upload_timeout() },
                SecurityHeaders::for_public_url(&settings.app.public_url),
                settings.app.environment == Environment::Development,
            ),
            draining,
            committers,
            grace: Duration::from_secs(settings.api.shutdown_grace_secs),
            readiness_drain: Duration::from_millis(settings.api.readiness_drain_ms)
                .min(Duration::from_secs(settings.api.shutdown_grace_secs) / 2),
            queue_gauges,
            stream_wakeups,
            live_streams,
            integrations,
            upload_limits,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Serves `routes` on the API's own listener beside the API: the merchants' web console,
    /// composed by the binary so this crate does not depend on it. They keep their own layers
    /// (the API's rate limits, timeouts and headers do not wrap them), must not overlap the
    /// API's paths, and must set no fallback (the API's answers unknown paths).
    pub fn with_routes(mut self, routes: Router) -> Self {
        self.router = self.router.merge(routes);
        self
    }

    /// The live event streams' wakeups and timings, so the console's inbox streams the same
    /// events, woken by the same `LISTEN` connection and counted in the same per-merchant bound.
    pub fn live_streams(&self) -> crate::merchant::event_stream::EventStreams {
        self.live_streams.clone()
    }

    /// The integration cache the webhooks read: whoever rotates or disables an integration
    /// beside the API tells it, so this process sees the change at once.
    pub fn integration_directory(&self) -> Arc<IntegrationDirectory> {
        self.integrations.clone()
    }

    /// The uploads' limits and the slots of uploads in progress on this process, for the
    /// console's uploads to count against the same bounds as the API's.
    pub fn upload_limits(&self) -> UploadLimits {
        self.upload_limits.clone()
    }

    /// `/readyz` with every dependency's details and `/metrics`, to serve on the operators'
    /// listener (`ops.listen`), never on the public one.
    pub fn operator_routes(&self) -> Router {
        self.operator_routes.clone()
    }

    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self {
            listener,
            router,
            operator_routes: _,
            draining,
            committers,
            grace,
            readiness_drain,
            queue_gauges,
            stream_wakeups: (wakeups, listening),
            live_streams: _,
            integrations: _,
            upload_limits: _,
        } = self;
        tracing::info!(address = %listener.local_addr()?, "api listening");
        tokio::spawn(queue_gauges.run_until(shutdown.clone().cancelled_owned()));
        tokio::spawn(wakeups.clone().listen(listening, shutdown.clone()));
        let stopping = shutdown.clone();
        // The peer address is what the per-address rate limit counts.
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let serve = axum::serve(listener, service).with_graceful_shutdown(async move {
            stopping.cancelled().await;
            draining.start();
            // Event streams never finish by themselves: end them now, their clients reconnect
            // (with Last-Event-ID) to a replica still serving.
            wakeups.close();
            tracing::info!(drain_ms = readiness_drain.as_millis() as u64, "api draining");
            // Keep accepting while /readyz says 503, so a load balancer notices before the
            // listener closes and no request meets a refused connection.
            tokio::time::sleep(readiness_drain).await;
        });
        let mut serve = Box::pin(serve.into_future());
        tokio::select! {
            result = &mut serve => result?,
            () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(grace_secs = grace.as_secs(), "api grace period over; closing remaining connections");
            }
        }
        // Serving is over and the router (holding every EventWriter handle) is dropped, so the
        // committers finish what is queued and stop.
        drop(serve);
        for committer in committers {
            let _ = committer.await;
        }
        tracing::info!("api stopped");
        Ok(())
    }
}

/// `serve_demo_pages`: serve the demo store's product pages (development only).
fn router(state: AppState, timeouts: RequestTimeouts, security: SecurityHeaders, serve_demo_pages: bool) -> Router {
    let demo = if serve_demo_pages { demo_pages::routes() } else { Router::new() };
    Router::new()
        .route("/webhooks/commerce/shopify/{integration_id}", post(webhooks::shopify::receive))
        .route("/webhooks/commerce/woocommerce/{integration_id}", post(webhooks::woocommerce::receive))
        .route("/webhooks/commerce/generic/{integration_id}", post(webhooks::generic::receive))
        .route("/webhooks/whatsapp", get(webhooks::whatsapp::verify).post(webhooks::whatsapp::receive))
        .merge(openapi::merchant_api())
        .route("/healthz", get(health::live))
        .route("/livez", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(health::metrics))
        .merge(demo)
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), rate_limit::enforce))
        .layer(axum::middleware::from_fn(http_metrics::record))
        .layer(axum::middleware::from_fn_with_state(timeouts, request_timeout::limit))
        .layer(axum::middleware::from_fn(request_id::assign))
        .layer(axum::middleware::from_fn_with_state(security, security_headers::add))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

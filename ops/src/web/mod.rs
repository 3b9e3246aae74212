//! The board over HTTP: its own listener (`ops.listen`), every page under `/ops`, served by the
//! API process and stopped with it.

mod assets;
pub mod auth;
pub mod bare;
mod bulk;
pub mod error;
mod jobs;
pub mod layout;
mod operators;
mod queues;
mod schedules;
mod signin;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use recete_platform::config::PlatformSettings;
use recete_platform::crypto::Keyring;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use self::error::PageError;

/// How long one board request may take; the database's statement timeout usually ends it first.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything a board handler may use; cheap to clone.
#[derive(Clone)]
pub struct BoardState {
    pub pool: PgPool,
    pub keyring: Arc<Keyring>,
    pub session_ttl: Duration,
    /// Cookies get `Secure` when the public URL is https.
    pub secure_cookies: bool,
    pub oldest_job_warning_secs: u64,
    pub bulk_batch_size: usize,
    pub payload_preview_bytes: usize,
    /// A worker process not seen for three of these is gone.
    pub heartbeat: Duration,
    /// How often periodic jobs get their chance to run.
    pub housekeeping_tick: Duration,
    /// Cancelled when the process stops: running bulk actions stop between batches and resume
    /// at the next start.
    pub stopping: CancellationToken,
}

/// The board, bound and ready to serve.
pub struct Board {
    listener: TcpListener,
    state: BoardState,
    /// Served beside the board without signing in (the API's `/metrics` and detailed `/readyz`).
    extra_routes: Option<Router>,
}

impl Board {
    /// Binds `listen` (port 0 picks a free port; [`Board::local_addr`] tells which).
    pub async fn build(
        settings: &PlatformSettings,
        listen: SocketAddr,
        pool: PgPool,
        keyring: Arc<Keyring>,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen} for the queue board (ops.listen): {e}"))?;
        let state = BoardState {
            pool,
            keyring,
            session_ttl: Duration::from_secs(settings.ops.session_ttl_secs),
            secure_cookies: settings.app.public_url.starts_with("https://"),
            oldest_job_warning_secs: settings.ops.oldest_job_warning_secs,
            bulk_batch_size: settings.ops.bulk_batch_size.max(1),
            payload_preview_bytes: settings.ops.payload_preview_bytes,
            heartbeat: Duration::from_secs(settings.metrics.heartbeat_interval_secs),
            housekeeping_tick: Duration::from_secs(settings.housekeeping.interval_secs),
            stopping: CancellationToken::new(),
        };
        Ok(Self { listener, state, extra_routes: None })
    }

    /// Adds routes served on the board's address without signing in, such as the API's health
    /// details and metrics for Prometheus. They must not overlap the board's own `/ops` paths.
    pub fn with_routes(mut self, routes: Router) -> Self {
        self.extra_routes = Some(match self.extra_routes.take() {
            Some(existing) => existing.merge(routes),
            None => routes,
        });
        self
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Serves until `shutdown` fires, then finishes in-flight requests. Bulk actions left
    /// running by an earlier process are resumed first.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self { listener, state, extra_routes } = self;
        tracing::info!(address = %listener.local_addr()?, "ops board listening");
        bulk::resume_unfinished(&state);
        let stopping = state.stopping.clone();
        let mut router = router(state);
        if let Some(extra) = extra_routes {
            router = router.merge(extra);
        }
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                shutdown.cancelled().await;
                stopping.cancel();
            })
            .await?;
        tracing::info!("ops board stopped");
        Ok(())
    }
}

fn router(state: BoardState) -> Router {
    let signed_in = Router::new()
        .route("/ops", get(queues::page))
        .route("/ops/", get(|| async { Redirect::permanent("/ops") }))
        .route("/ops/queues.json", get(queues::poll))
        .route("/ops/queues/{queue}/pause", post(queues::pause))
        .route("/ops/queues/{queue}/resume", post(queues::resume))
        .route("/ops/jobs", get(jobs::list))
        .route("/ops/jobs/{id}", get(jobs::detail))
        .route("/ops/jobs/{id}/payload", get(jobs::payload))
        .route("/ops/jobs/{id}/payload/reveal", post(jobs::reveal))
        .route("/ops/jobs/{id}/{action}", post(jobs::act))
        .route("/ops/bulk", get(bulk::list).post(bulk::start))
        .route("/ops/bulk/confirm", get(bulk::confirm))
        .route("/ops/bulk/{id}", get(bulk::page))
        .route("/ops/bulk/{id}/progress", get(bulk::progress))
        .route("/ops/bulk/{id}/cancel", post(bulk::cancel))
        .route("/ops/schedules", get(schedules::page))
        .route("/ops/operators", get(operators::page).post(operators::add))
        .route("/ops/operators/{name}/disable", post(operators::disable))
        .route("/ops/sign-out", post(signin::sign_out))
        .layer(middleware::from_fn_with_state(state.clone(), auth::authenticate));
    Router::new()
        .merge(signed_in)
        .route("/ops/sign-in", get(signin::page).post(signin::sign_in))
        .route("/ops/assets/board.css", get(assets::css))
        .route("/ops/assets/board.js", get(assets::js))
        .route("/ops/assets/favicon.svg", get(assets::icon))
        .fallback(not_found)
        .layer(middleware::from_fn(auth::same_origin_posts))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(time_limit))
        .layer(DefaultBodyLimit::max(auth::MAX_FORM_BYTES))
        .with_state(state)
}

async fn not_found(request: Request) -> PageError {
    PageError::NotFound(format!("the board has no page at {}", request.uri().path()))
}

async fn time_limit(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout_secs = REQUEST_TIMEOUT.as_secs(), "board: request timed out");
            PageError::Unavailable.into_response()
        }
    }
}

/// The board loads only its own files, cannot be framed, and is never cached.
async fn security_headers(request: Request, next: Next) -> Response {
    use axum::http::{HeaderValue, header};
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

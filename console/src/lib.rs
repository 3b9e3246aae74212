//! The merchants' web console, served under `/console` on the API's own listener.
//!
//! Server-rendered HTML (maud), plain POST forms, sessions in PostgreSQL, CSRF tokens on every
//! form, cross-site POSTs refused, its own security headers (a Content-Security-Policy allowing
//! only this origin), request timeout and body limit; the stylesheet is compiled in and nothing
//! is loaded from elsewhere. This crate owns the console's users, sessions, sign-in links and
//! sign-in failure counts (their row types and SQL live in [`users`], [`sessions`],
//! [`sign_in_links`] and [`sign_in_limits`]).
//!
//! Pages built on it take a [`signed_in::ConsoleUser`] (the signed-in user, with
//! `require`/`actor`/`transaction`), render with [`layout::page`], take their words from
//! [`text`] and fail with [`error::PageError`].

mod assets;
pub mod auth;
pub mod chart;
pub mod error;
pub mod layout;
mod pages;
pub mod passwords;
pub mod sessions;
pub mod sign_in_limits;
pub mod sign_in_links;
pub mod signed_in;
pub mod text;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use recete_config::Settings;
use recete_platform::client_ip::Cidr;
use recete_platform::crypto::Keyring;
use recete_platform::redis_client::RedisClient;
use recete_shared::imports::upload::UploadLimits;
use recete_shared::integrations::IntegrationDirectory;
use recete_shared::merchant_events::live::LiveStreams;
use recete_shared::merchant_events::wakeups::Wakeups;
use sqlx::PgPool;

use self::error::PageError;

/// How long one console request may take; the database's statement timeout usually ends it first.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything a console handler may use; cheap to clone.
#[derive(Clone)]
pub struct ConsoleState {
    pub pool: PgPool,
    pub redis: RedisClient,
    /// Opens customers' sealed fields and message texts.
    pub keyring: Arc<Keyring>,
    /// The whole configuration, for pages that show or check against it.
    pub settings: Arc<Settings>,
    /// A session unused this long is gone (`console.session_idle_secs`).
    pub session_idle: Duration,
    /// How long a one-time sign-in link works (`console.sign_in_link_ttl_secs`).
    pub sign_in_link_ttl: Duration,
    pub sign_in_limits: sign_in_limits::Limits,
    /// `app.public_url`, the start of every sign-in link.
    pub public_url: String,
    /// Cookies get `Secure` when the public URL is https.
    pub secure_cookies: bool,
    /// Proxies whose `X-Forwarded-For` names the client (`rate_limits.trusted_proxies`).
    pub trusted_proxies: Vec<Cidr>,
    /// The merchant event streams the inbox's live updates read: the API's own
    /// ([`ConsoleState::with_live_streams`]), so one `LISTEN` connection wakes both and one
    /// per-merchant bound counts both.
    pub live: LiveStreams,
    /// The API's integration cache, when the console is served beside the API: told of every
    /// integration made, rotated or disabled here, so its webhooks see the change at once
    /// (other processes see it within `ingest.integration_cache_ttl_secs`).
    pub integrations: Option<Arc<IntegrationDirectory>>,
    /// CSV uploads' size limit, storage pieces and the slots of uploads in progress: the API's
    /// own, once [`ConsoleState::with_upload_limits`] hands them over.
    pub upload_limits: UploadLimits,
    /// How long an upload may take (`imports.upload_timeout_secs`), in place of the console's
    /// usual request timeout.
    pub upload_timeout: Duration,
    /// The answering agent with the embedder the workers use (`embedding.*`, `agent.*`), loaded
    /// once, on the first test question.
    pub agent: Arc<tokio::sync::OnceCell<Arc<recete_agent::Agent>>>,
}

impl ConsoleState {
    pub fn new(settings: &Settings, pool: PgPool, redis: RedisClient, keyring: Arc<Keyring>) -> Self {
        let console = &settings.console;
        Self {
            pool,
            redis,
            keyring,
            settings: Arc::new(settings.clone()),
            session_idle: Duration::from_secs(console.session_idle_secs),
            sign_in_link_ttl: Duration::from_secs(console.sign_in_link_ttl_secs),
            sign_in_limits: sign_in_limits::Limits {
                per_account: console.sign_in_failures_per_account,
                per_address: console.sign_in_failures_per_address,
                window: Duration::from_secs(console.sign_in_window_secs),
            },
            public_url: settings.app.public_url.clone(),
            secure_cookies: settings.app.public_url.starts_with("https://"),
            trusted_proxies: settings.rate_limits.trusted_proxies.clone(),
            // Until the API's are given, streams of their own that read every poll interval.
            live: LiveStreams {
                wakeups: Arc::new(Wakeups::new(settings.events.max_streams_per_merchant)),
                heartbeat: Duration::from_secs(settings.events.stream_heartbeat_secs),
                poll: Duration::from_secs(settings.events.stream_poll_secs),
            },
            integrations: None,
            upload_limits: UploadLimits::from_settings(&settings.imports),
            upload_timeout: settings.imports.upload_timeout(),
            agent: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    /// Streams the inbox's live updates through `live` (the API's event streams).
    pub fn with_live_streams(mut self, live: LiveStreams) -> Self {
        self.live = live;
        self
    }

    /// Tells `directory` (the API's integration cache in this process) of integration changes.
    pub fn with_integrations(mut self, directory: Arc<IntegrationDirectory>) -> Self {
        self.integrations = Some(directory);
        self
    }

    /// Counts the console's uploads against the same slots as the API's on this process.
    pub fn with_upload_limits(mut self, limits: UploadLimits) -> Self {
        self.upload_limits = limits;
        self
    }
}

/// Every console route, under `/console`, with its own security headers, timeout and body
/// limit. It sets no fallback, so it merges into a router that has one (the API's); unknown
/// paths under `/console` get the console's own 404 page.
pub fn router(state: ConsoleState) -> Router {
    passwords::warm_up();
    let signed_in = Router::new()
        .route("/console", get(pages::home))
        .route("/console/account", get(pages::account::page))
        .route("/console/account/password", post(pages::account::change_password))
        .route("/console/sign-out", post(pages::sign_in::sign_out))
        .route("/console/sign-out-everywhere", post(pages::account::sign_out_everywhere))
        .route("/console/inbox", get(pages::inbox::list))
        .route("/console/inbox/events", get(pages::inbox_events::stream))
        .route("/console/inbox/{id}", get(pages::inbox::thread))
        .route("/console/inbox/{id}/reply", post(pages::inbox::reply))
        .route("/console/inbox/{id}/take-over", post(pages::inbox::take_over))
        .route("/console/inbox/{id}/resolve", post(pages::inbox::resolve))
        .route("/console/orders", get(pages::orders::list))
        .route("/console/orders/{id}", get(pages::orders::detail))
        .route("/console/customers", get(pages::customers::list))
        .route("/console/customers/{id}", get(pages::customers::detail))
        .route("/console/customers/{id}/export", post(pages::customers::export))
        .route("/console/customers/{id}/erase", get(pages::customers::confirm_erase).post(pages::customers::erase))
        .route("/console/analytics", get(pages::analytics::page))
        .route("/console/settings", get(pages::settings::page).post(pages::settings::save))
        .route("/console/settings/integrations", post(pages::settings::create_integration))
        .route("/console/settings/integrations/{id}/rotate", post(pages::settings::rotate_secret))
        .route("/console/settings/integrations/{id}/disable", post(pages::settings::disable_integration))
        .route("/console/settings/api-keys", post(pages::settings::create_api_key))
        .route("/console/settings/api-keys/{id}/revoke", post(pages::settings::revoke_api_key))
        .route("/console/settings/webhook-endpoints", post(pages::settings::create_endpoint))
        .route("/console/settings/webhook-endpoints/{id}", get(pages::settings::endpoint))
        .route("/console/settings/webhook-endpoints/{id}/rotate", post(pages::settings::rotate_endpoint_secret))
        .route("/console/settings/webhook-endpoints/{id}/disable", post(pages::settings::disable_endpoint))
        .route("/console/settings/users", get(pages::users::list).post(pages::users::invite))
        .route("/console/settings/users/{id}", get(pages::users::detail))
        .route("/console/settings/users/{id}/role", post(pages::users::change_role))
        .route("/console/settings/users/{id}/disable", post(pages::users::disable))
        .merge(pages::imports::routes())
        .merge(pages::knowledge::routes())
        .layer(middleware::from_fn_with_state(state.clone(), auth::authenticate));
    Router::new()
        .merge(signed_in)
        .route("/console/sign-in", get(pages::sign_in::page).post(pages::sign_in::sign_in))
        .route("/console/sign-in/link/{token}", get(pages::sign_in::link_page).post(pages::sign_in::redeem_link))
        .route("/console/assets/console.css", get(assets::css))
        .route("/console/assets/favicon.svg", get(assets::icon))
        .route("/console/assets/inbox.js", get(assets::inbox_js))
        .route("/console/assets/copy.js", get(assets::copy_script))
        .route("/console/assets/imports.js", get(assets::imports_js))
        .route("/console/assets/knowledge.js", get(assets::knowledge_js))
        .route("/console/{*rest}", any(not_found))
        .layer(middleware::from_fn(auth::same_origin_posts))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn_with_state(state.clone(), time_limit))
        .layer(DefaultBodyLimit::max(auth::MAX_FORM_BYTES))
        .with_state(state)
}

async fn not_found(request: Request) -> PageError {
    PageError::NotFound(text::no_page(request.uri().path()))
}

/// Every request is bounded in time; uploads by `imports.upload_timeout_secs`, the rest by
/// [`REQUEST_TIMEOUT`].
async fn time_limit(State(state): State<ConsoleState>, request: Request, next: Next) -> Response {
    let limit = if auth::is_upload(&request) { state.upload_timeout } else { REQUEST_TIMEOUT };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout_secs = limit.as_secs(), "console: request timed out");
            PageError::TimedOut.into_response()
        }
    }
}

/// The console loads only its own files, runs no script, cannot be framed, and is never cached.
async fn security_headers(request: Request, next: Next) -> Response {
    use axum::http::{HeaderValue, header};
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

//! `/healthz` and `/livez` (the process is alive; no dependency checks), `/readyz` and `/metrics`.
//!
//! On the public listener `/readyz` says only whether the process is ready: which dependency is
//! down, how slowly it answers and its error text help an operator, and an attacker just as
//! much. `/metrics` is not served there at all. Both come whole on the operators' listener
//! ([`operator_routes`], on `ops.listen`), or on the public listener to a request carrying
//! `Authorization: Bearer <api.metrics_token>` when that token is set.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use metrics_exporter_prometheus::PrometheusHandle;
use recete_platform::redis_client::RedisClient;
use sqlx::PgPool;

use crate::error::ApiError;
pub use crate::metrics_token::MetricsToken;
use crate::state::{AppState, Draining};

pub async fn live() -> Json<serde_json::Value> {
    Json(json!({ "status": "alive" }))
}

/// What health and metrics need, and nothing else: the operators' routes hold no handle that
/// would keep the API's event committers alive past its shutdown.
#[derive(Clone)]
pub struct HealthState {
    pub pool: PgPool,
    pub redis: RedisClient,
    pub draining: Draining,
    pub metrics: PrometheusHandle,
}

impl HealthState {
    pub fn of(state: &AppState) -> Self {
        Self {
            pool: state.pool.clone(),
            redis: state.redis.clone(),
            draining: state.draining.clone(),
            metrics: state.metrics.clone(),
        }
    }
}

/// The public `/readyz`: ready or not, and the details only with the metrics token.
pub async fn ready(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let health = HealthState::of(&state);
    if state.metrics_token.admits(&headers) {
        return ready_in_detail(State(health)).await;
    }
    let readiness =
        recete_platform::health::readiness(&health.pool, &health.redis, health.draining.is_draining()).await;
    let code = if readiness.is_ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(json!({ "status": readiness.status }))).into_response()
}

/// `/readyz` with every dependency's state, latency and error.
pub async fn ready_in_detail(State(state): State<HealthState>) -> Response {
    let readiness = recete_platform::health::readiness(&state.pool, &state.redis, state.draining.is_draining()).await;
    let code = if readiness.is_ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(readiness)).into_response()
}

/// The public `/metrics`: only with the metrics token; without one configured it does not exist.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if state.metrics_token.admits(&headers) {
        return metrics_exposition(State(HealthState::of(&state))).await;
    }
    if state.metrics_token.is_set() {
        return ApiError::Unauthorized("send `Authorization: Bearer <api.metrics_token>`".into()).into_response();
    }
    ApiError::NotFound("no such route".into()).into_response()
}

pub async fn metrics_exposition(State(state): State<HealthState>) -> Response {
    state.metrics.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render()).into_response()
}

/// What the operators' listener serves besides the board: health with details, and metrics.
pub fn operator_routes(state: HealthState) -> Router {
    Router::new()
        .route("/healthz", get(live))
        .route("/livez", get(live))
        .route("/readyz", get(ready_in_detail))
        .route("/metrics", get(metrics_exposition))
        .with_state(state)
}

//! A worker-only process serves `/healthz`, `/livez`, `/readyz` and `/metrics` so orchestrators
//! and Prometheus treat it like the API.

use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::WorkerDeps;

#[derive(Clone)]
struct HealthState {
    deps: WorkerDeps,
    shutdown: CancellationToken,
}

pub async fn serve(
    address: SocketAddr,
    deps: WorkerDeps,
    shutdown: CancellationToken,
) -> anyhow::Result<JoinHandle<std::io::Result<()>>> {
    let listener =
        tokio::net::TcpListener::bind(address).await.map_err(|e| anyhow::anyhow!("cannot listen on {address}: {e}"))?;
    tracing::info!(%address, "worker health listener");
    let state = HealthState { deps, shutdown: shutdown.clone() };
    let router = Router::new()
        .route("/healthz", get(live))
        .route("/livez", get(live))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .with_state(state);
    Ok(tokio::spawn(
        async move { axum::serve(listener, router).with_graceful_shutdown(shutdown.cancelled_owned()).await },
    ))
}

async fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "alive" }))
}

async fn ready(State(state): State<HealthState>) -> Response {
    let readiness =
        recete_platform::health::readiness(&state.deps.pool, &state.deps.redis, state.shutdown.is_cancelled()).await;
    let code = if readiness.is_ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(readiness)).into_response()
}

async fn metrics() -> Response {
    let handle = recete_platform::telemetry::metrics_handle();
    handle.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
}

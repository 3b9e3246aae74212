//! `/readyz` details and `/metrics` stay off the public listener: there `/readyz` says only
//! ready or not and `/metrics` does not exist, unless a request carries `api.metrics_token`; the
//! operators' listener (beside the queue board) serves both whole.

use std::sync::Arc;

use recete_api::{Application, Dependencies};
use recete_ops::Board;
use recete_platform::db;
use recete_platform::redis_client::RedisClient;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::helpers::{METRICS_TOKEN, TestApp, assert_problem, spawn_app, spawn_app_with};

async fn public_readiness(app: &TestApp, token: Option<&str>) -> (u16, Value) {
    let mut request = app.client.get(app.url("/readyz"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("sent");
    (response.status().as_u16(), response.json().await.expect("JSON"))
}

async fn public_metrics(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("sent")
}

#[tokio::test]
async fn by_default_the_public_listener_says_only_ready_or_not_and_has_no_metrics() {
    let app = spawn_app_with(|figment| figment.merge(("api.metrics_token", ""))).await;
    assert_eq!(public_readiness(&app, None).await, (200, json!({ "status": "ready" })));
    assert_eq!(public_readiness(&app, Some("guess")).await, (200, json!({ "status": "ready" })));
    assert_problem(public_metrics(&app, None).await, 404).await;
    assert_problem(public_metrics(&app, Some(METRICS_TOKEN)).await, 404).await;

    let down =
        spawn_app_with(|figment| figment.merge(("api.metrics_token", "")).merge(("redis.url", "redis://127.0.0.1:1")))
            .await;
    let (status, body) = public_readiness(&down, None).await;
    assert_eq!((status, body), (503, json!({ "status": "unavailable" })), "which dependency is down stays private");
}

#[tokio::test]
async fn with_a_metrics_token_only_its_bearer_gets_metrics_and_details_publicly() {
    let app = spawn_app().await;
    assert_problem(public_metrics(&app, None).await, 401).await;
    assert_problem(public_metrics(&app, Some("test-metrics-token-0123456788")).await, 401).await;
    let metrics = public_metrics(&app, Some(METRICS_TOKEN)).await;
    assert_eq!(metrics.status(), 200);
    assert!(metrics.text().await.expect("text").contains("# TYPE"), "an exposition");

    assert_eq!(public_readiness(&app, None).await, (200, json!({ "status": "ready" })));
    let (status, details) = public_readiness(&app, Some(METRICS_TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(details["checks"]["postgres"]["status"], "up");
    assert_eq!(details["checks"]["redis"]["status"], "up");
}

#[tokio::test]
async fn the_operators_listener_serves_metrics_and_readiness_in_detail_beside_the_board() {
    let app = spawn_app_with(|figment| figment.merge(("api.metrics_token", ""))).await;
    let pool = db::connect_lazy(&app.settings.database).expect("pool");
    let deps = Dependencies {
        pool: pool.clone(),
        redis: RedisClient::new(&app.settings.redis).expect("redis client"),
        keyring: app.keyring.clone(),
    };
    let api =
        Application::build(&app.settings, "127.0.0.1:0".parse().expect("address"), deps).await.expect("the API builds");
    let board = Board::build(&app.settings, "127.0.0.1:0".parse().expect("address"), pool, Arc::clone(&app.keyring))
        .await
        .expect("the board binds")
        .with_routes(api.operator_routes());
    let ops = format!("http://127.0.0.1:{}", board.port());
    let public = format!("http://127.0.0.1:{}", api.port());
    let shutdown = CancellationToken::new();
    let _board = tokio::spawn(board.run_until_stopped(shutdown.clone()));
    let _api = tokio::spawn(api.run_until_stopped(shutdown.clone()));

    let public_metrics = app.client.get(format!("{public}/metrics")).send().await.expect("sent");
    assert_eq!(public_metrics.status(), 404, "not on the public address");
    let metrics = app.client.get(format!("{ops}/metrics")).send().await.expect("sent");
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.expect("text");
    assert!(text.contains("http_server_request_duration_seconds"), "the API's own metrics: {text}");
    let ready = app.client.get(format!("{ops}/readyz")).send().await.expect("sent");
    assert_eq!(ready.status(), 200);
    let details: Value = ready.json().await.expect("JSON");
    assert_eq!(details["checks"]["postgres"]["status"], "up", "{details}");
    // The board itself still wants a signed-in operator.
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let board_page = no_redirects.get(format!("{ops}/ops")).send().await.expect("sent");
    let status = board_page.status();
    assert!(status == 401 || status.is_redirection(), "the board answers {status} without signing in");
    shutdown.cancel();
}

use recete_shared::integrations::IntegrationKind;

use crate::helpers::{assert_problem, fixture, spawn_app, spawn_app_with};

#[tokio::test]
async fn liveness_and_readiness_report_each_dependency() {
    let app = spawn_app().await;
    let live = app.client.get(app.url("/healthz")).send().await.expect("sent");
    assert_eq!(live.status().as_u16(), 200);
    let (status, body) = app.readiness().await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["postgres"]["status"], "up");
    assert_eq!(body["checks"]["redis"]["status"], "up");
}

#[tokio::test]
async fn readiness_names_the_dependency_that_is_down() {
    let app = spawn_app_with(|figment| figment.merge(("redis.url", "redis://127.0.0.1:1"))).await;
    let (status, body) = app.readiness().await;
    assert_eq!(status, 503);
    assert_eq!(body["checks"]["postgres"]["status"], "up");
    assert_eq!(body["checks"]["redis"]["status"], "down");
    assert!(body["checks"]["redis"]["error"].as_str().is_some());
}

#[tokio::test]
async fn an_unreachable_database_answers_503_with_retry_after() {
    let app = spawn_app_with(|figment| {
        figment
            .merge(("database.url", "postgres://recete@127.0.0.1:1/nowhere"))
            .merge(("database.acquire_timeout_ms", 500))
    })
    .await;
    let (_, shop) = {
        // Set up through the working test pool; the app itself points at a closed port.
        let merchant = recete_shared::merchants::create(&app.pool, "Down", "UTC").await.expect("merchant").merchant_id;
        let integration = recete_shared::integrations::create(
            &app.pool,
            &app.keyring,
            recete_shared::integrations::NewIntegration {
                merchant_id: merchant,
                kind: IntegrationKind::Shopify,
                secret: None,
                phone_number_id: None,
            },
        )
        .await
        .expect("integration");
        (merchant, integration)
    };
    let response = app.post_shopify(&shop, "orders/create", "down-1", &fixture("shopify_orders_create.json")).await;
    let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_problem(response, 503).await;
    assert_eq!(retry_after.as_deref(), Some("5"));
}

#[tokio::test]
async fn request_ids_are_echoed_or_made() {
    let app = spawn_app().await;
    let given = app.client.get(app.url("/healthz")).header("x-request-id", "abc-123").send().await.expect("sent");
    assert_eq!(given.headers()["x-request-id"], "abc-123");
    let made =
        app.client.get(app.url("/healthz")).header("x-request-id", "bad id with spaces").send().await.expect("sent");
    let made_id = made.headers()["x-request-id"].to_str().expect("ascii").to_owned();
    assert!(uuid::Uuid::parse_str(&made_id).is_ok(), "{made_id}");
}

#[tokio::test]
async fn metrics_use_route_templates_and_count_webhook_outcomes() {
    let app = spawn_app().await;
    let (_, shop) = app.merchant_with(IntegrationKind::Shopify).await;
    let body = fixture("shopify_orders_create.json");
    app.post_shopify(&shop, "orders/create", "m-1", &body).await;
    app.post_shopify(&shop, "orders/create", "m-1", &body).await;
    app.client.post(app.url(&shop.webhook_path)).body("x").send().await.expect("sent");
    for n in 0..5 {
        let unknown = app.client.get(app.url(&format!("/wp-admin/probe-{n}.php"))).send().await.expect("sent");
        assert_problem(unknown, 404).await;
    }
    let metrics = app.metrics_text().await;
    for expected in [
        r#"route="/webhooks/commerce/shopify/{integration_id}""#,
        r#"route="unmatched""#,
        "# TYPE http_server_request_duration_seconds histogram",
        "# HELP recete_webhook_events_stored_total",
        r#"recete_webhook_events_stored_total{source="shopify",kind="order_created"}"#,
        r#"recete_webhook_duplicates_total{source="shopify"}"#,
        r#"recete_webhook_signature_failures_total{source="shopify"}"#,
    ] {
        assert!(metrics.contains(expected), "metrics lack {expected}:\n{metrics}");
    }
    assert!(!metrics.contains("probe-"), "raw paths must never become labels");
    assert!(!metrics.contains(&shop.integration_id.to_string()), "ids must never become labels");
}

//! `/metrics` of the API and of a worker process pass `promtool check metrics` after real
//! traffic, and probes of random URLs with random methods never add a series.

use std::io::Write;
use std::process::{Command, Stdio};

use recete_shared::integrations::{CreatedIntegration, IntegrationKind};
use recete_testkit::signing;
use reqwest::Method;
use uuid::Uuid;

use super::{Exposition, RecordedProcess, promtool};
use crate::helpers::{fixture, spawn_app};

const PROCESSED: &str = "SELECT count(*) FROM external_events WHERE state = 'processed'";

async fn post_shopify(
    client: &reqwest::Client,
    api: &RecordedProcess,
    integration: &CreatedIntegration,
    webhook_id: &str,
    signature: &str,
    body: &[u8],
) -> u16 {
    client
        .post(format!("{}{}", api.base_url, integration.webhook_path))
        .header("content-type", "application/json")
        .header("x-shopify-topic", "orders/create")
        .header("x-shopify-webhook-id", webhook_id)
        .header("x-shopify-event-id", format!("event-{webhook_id}"))
        .header("x-shopify-shop-domain", "test-store.myshopify.com")
        .header("x-shopify-hmac-sha256", signature)
        .body(body.to_vec())
        .send()
        .await
        .expect("webhook sent")
        .status()
        .as_u16()
}

/// Runs `promtool check metrics` on `exposition`; any finding fails the test with the findings.
fn assert_promtool_accepts(what: &str, exposition: &Exposition) {
    let mut child = Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool starts");
    child.stdin.take().expect("promtool stdin").write_all(exposition.0.as_bytes()).expect("exposition written");
    let output = child.wait_with_output().expect("promtool finishes");
    let findings = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success() && findings.trim().is_empty(),
        "promtool on the {what}'s /metrics ({}):\n{findings}\n--- exposition ---\n{}",
        output.status,
        exposition.0
    );
}

#[tokio::test]
async fn promtool_finds_nothing_wrong_with_the_api_and_worker_metrics_after_real_traffic() {
    promtool();
    let app = spawn_app().await;
    let api = RecordedProcess::api(&app).await;
    let worker = RecordedProcess::worker(&app, "order-events", &[]).await;
    let (_, shop) = app.merchant_with(IntegrationKind::Shopify).await;
    let body = fixture("shopify_orders_create.json");
    let signature = signing::base64_hmac(&shop.secret, &body);
    for delivery in ["first", "duplicate"] {
        let status = post_shopify(&app.client, &api, &shop, "promtool-1", &signature, &body).await;
        assert!((200..300).contains(&status), "{delivery} delivery: {status}");
    }
    assert_eq!(post_shopify(&app.client, &api, &shop, "promtool-2", "forged", &body).await, 401);
    let unknown = app.client.get(format!("{}/no/such/page", api.base_url)).send().await.expect("sent");
    assert_eq!(unknown.status(), 404);
    app.wait_for_count(PROCESSED, 1, 30).await;

    let order_events = [("queue", "order-events")];
    let worker_metrics = worker
        .metrics_when(&app.client, "showed the job, its queue and its worker", |metrics| {
            metrics.value("recete_job_executions_total", &[("queue", "order-events"), ("outcome", "succeeded")])
                == Some(1.0)
                && metrics.value("recete_jobs_enqueued_total", &[("queue", "order-events"), ("schedule", "immediate")])
                    == Some(1.0)
                && metrics.value("recete_job_wait_seconds_count", &order_events) == Some(1.0)
                && metrics.value("recete_job_run_seconds_count", &order_events) == Some(1.0)
                && metrics.value("recete_queue_jobs", &[("queue", "order-events"), ("state", "pending")]) == Some(0.0)
                && metrics.value("recete_queue_paused", &order_events) == Some(0.0)
                && metrics.value("recete_workers_live", &order_events) == Some(1.0)
                && metrics.value("recete_worker_slots", &[("pool", "order-events")]).is_some_and(|slots| slots > 0.0)
                && metrics.value("recete_worker_busy_slots", &[("pool", "order-events")]) == Some(0.0)
        })
        .await;
    // A pool this process does not run shows no slots rather than no series.
    assert_eq!(worker_metrics.value("recete_worker_slots", &[("pool", "messages")]), Some(0.0));
    assert_promtool_accepts("worker", &worker_metrics);

    let api_metrics = api
        .metrics_when(&app.client, "showed the webhooks and the queue gauges", |metrics| {
            metrics.value("recete_webhook_events_stored_total", &[("source", "shopify")]) == Some(1.0)
                && metrics.value("recete_webhook_duplicates_total", &[("source", "shopify")]) == Some(1.0)
                && metrics.value("http_server_requests_total", &[("route", "unmatched"), ("status", "404")])
                    == Some(1.0)
                && metrics.value("recete_queue_jobs", &[("queue", "order-events"), ("state", "pending")]).is_some()
        })
        .await;
    assert_promtool_accepts("API", &api_metrics);
}

#[tokio::test]
async fn a_thousand_probes_of_random_urls_with_random_methods_add_no_series() {
    let app = spawn_app().await;
    let api = RecordedProcess::api(&app).await;
    let methods: Vec<Method> =
        ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "PROPFIND", "BREW", "X-SCAN"]
            .iter()
            .map(|name| Method::from_bytes(name.as_bytes()).expect("a valid method token"))
            .collect();
    let probe = |method: Method, path: String| {
        let request = app.client.request(method, format!("{}{path}", api.base_url));
        async move { request.send().await.expect("probe sent").status().as_u16() }
    };
    // Each method once, and /metrics itself, before counting: an unmatched route has one series
    // per method and status, not one per URL.
    for method in &methods {
        assert_eq!(probe(method.clone(), "/warm-up".into()).await, 404, "{method}");
    }
    api.metrics_when(&app.client, "sampled the queues", |metrics| {
        metrics.value("recete_queue_jobs", &[("queue", "imports"), ("state", "dead")]).is_some()
    })
    .await;
    let before = api.metrics(&app.client).await.series();

    for n in 0..1_000 {
        let random = Uuid::new_v4();
        let method = methods[(random.as_u128() % methods.len() as u128) as usize].clone();
        let path = match n % 4 {
            0 => format!("/{random}"),
            1 => format!("/wp-admin/{random}.php?id={n}"),
            2 => format!("/{random}/api/products/{n}"),
            _ => format!("/.env.{random}/%2e%2e/{n}"),
        };
        assert_eq!(probe(method.clone(), path.clone()).await, 404, "{method} {path}");
    }

    let after = api.metrics(&app.client).await;
    assert_eq!(after.series(), before, "series after 1,000 probes:\n{}", after.0);
    // Methods outside the standard set share the label `other`.
    let unmatched: f64 = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "other"]
        .iter()
        .filter_map(|method| {
            after.value("http_server_requests_total", &[("method", method), ("route", "unmatched"), ("status", "404")])
        })
        .sum();
    assert_eq!(unmatched, 1_010.0, "every probe and warm-up request was counted");
}

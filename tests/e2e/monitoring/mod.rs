//! Monitoring as shipped, against a real fleet: Prometheus scrapes a `recete api` and a
//! `recete worker` process, the alert rules of deploy/prometheus load and evaluate, and every
//! panel of the Grafana dashboard in deploy/grafana reads real series.

mod dashboard;
mod fleet;
mod prometheus;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::Duration as Age;
use serde_json::Value;
use wiremock::MockServer;

use crate::followups::{SENT, graph_accepts, shop};
use crate::helpers::spawn_app;
use dashboard::{ALERTS, declared_alert_rules, metric_names, panel_queries, repo_path};
use fleet::Store;
use prometheus::{Prometheus, promtool};

#[tokio::test]
async fn prometheus_scrapes_a_live_fleet_and_every_panel_and_alert_rule_reads_real_series() {
    prometheus::require("prometheus");
    prometheus::require("promtool");
    promtool(&["check", "rules", &repo_path(ALERTS)]);
    promtool(&["check", "config", &repo_path("deploy/prometheus/prometheus.yml")]);
    promtool(&["test", "rules", &repo_path("deploy/prometheus/alerts.test.yml")]);

    let graph = MockServer::start().await;
    graph_accepts(&graph).await;
    fleet::graph_refuses_one_customer(&graph).await;
    let app = spawn_app().await;
    let shop = shop(&app).await;
    fleet::one_step_plan(&app, &shop).await;
    let api = fleet::spawn_api(&app);
    let worker = fleet::spawn_worker(&app, &graph);
    fleet::wait_ready(&app.client, &api).await;
    fleet::wait_ready(&app.client, &worker).await;
    let prometheus = Prometheus::start(&[("recete-api", &api.target), ("recete-worker", &worker.target)]).await;

    wait_until(&prometheus, "both targets up", "count(up{job=~\"recete-.*\"} == 1)", 2.0).await;
    // Dead jobs read 0 before the traffic, so the dead-letter alert sees them grow.
    let dead_messages = "count(recete_queue_jobs{queue=\"messages\", state=\"dead\"} == 0)";
    wait_until(&prometheus, "queue gauges sampled by both processes", dead_messages, 2.0).await;

    let store = Store { client: &app.client, api: &api, shop: &shop };
    // Due an hour ago: handed over and sent at once.
    let mut first_delivery = Vec::new();
    for n in 0..3 {
        let body = store.deliver(&format!("due-{n}"), &format!("90555123000{n}"), Age::hours(2)).await;
        if n == 0 {
            first_delivery = body;
        }
    }
    // Due in a few seconds: handed over early as delayed jobs, whose start lateness is measured.
    for n in 0..2 {
        store.deliver(&format!("later-{n}"), &format!("90555123001{n}"), Age::hours(1) - Age::seconds(6)).await;
    }
    // Meta answers 500 for this customer: a failed attempt, then a dead letter.
    store.deliver("refused", fleet::REFUSED_WA_ID, Age::hours(2)).await;
    assert_eq!(store.post(&first_delivery, &shop.generic.secret).await.status(), 200, "a repeated delivery");
    assert_eq!(store.post(&first_delivery, "not-the-secret").await.status(), 401, "a forged signature");
    assert_eq!(store.post(br#"{"id": "evt-1"}"#, &shop.generic.secret).await.status(), 422, "not an event");

    app.wait_for_count(SENT, 5, 40).await;
    app.wait_for_count("SELECT count(*) FROM scheduled_tasks WHERE state = 'dead'", 1, 40).await;
    // A hand-over Redis lost: the row was handed over a minute ago and never finished, so the
    // reconciler hands it over again (its job finds the order already delivered).
    let lost = sqlx::query(
        "UPDATE external_events SET state = 'pending', next_attempt_at = now(), enqueued_at = now() - interval '1 minute'
         WHERE dedup_key = 'event:delivered-due-0'",
    )
    .execute(&app.admin)
    .await
    .expect("hand-over lost");
    assert_eq!(lost.rows_affected(), 1, "the first delivery's event");
    app.wait_for_count("SELECT count(*) FROM external_events WHERE state = 'pending'", 0, 20).await;

    // Prometheus has what the processes counted, from both targets.
    wait_until(&prometheus, "follow-ups sent", "sum(recete_whatsapp_sends_total{outcome=\"sent\"})", 5.0).await;
    wait_until(&prometheus, "events stored", "sum(recete_webhook_events_stored_total)", 6.0).await;
    // At least once: on a busy machine the row can outlive the 2 s reconcile delay again.
    let recovered = "sum(recete_reconciler_recovered_total{queue=\"order-events\"}) >= bool 1";
    wait_until(&prometheus, "the lost hand-over recovered", recovered, 1.0).await;

    let queries = panel_queries();
    assert!(queries.len() >= 30, "the dashboard lost panels: {} queries", queries.len());
    let names: BTreeSet<String> = queries.iter().flat_map(|query| metric_names(&query.expr)).collect();
    wait_for_series(&prometheus, &names).await;
    // rate() needs two samples of a series inside its window.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut empty = Vec::new();
    for query in &queries {
        if prometheus.query(&query.expr).await.is_empty() {
            empty.push(format!("panel \"{}\": {}", query.panel, query.expr));
        }
    }
    assert!(empty.is_empty(), "queries without data:\n{}", empty.join("\n"));

    let rules = evaluated_alert_rules(&prometheus).await;
    assert_eq!(rules.len(), declared_alert_rules(), "alert rules loaded from {ALERTS}: {rules:#?}");
    let state = |name: &str| -> Vec<&str> {
        rules.iter().filter(|rule| rule["name"] == name).filter_map(|rule| rule["state"].as_str()).collect()
    };
    assert_eq!(state("ReceteTargetDown"), ["inactive"], "both targets are up");
    assert_ne!(state("ReceteDeadLettersGrowing"), ["inactive"], "a message was dead-lettered minutes ago");
}

/// Polls an instant query until it returns `expected` (one sample), or fails naming `what`.
async fn wait_until(prometheus: &Prometheus, what: &str, expr: &str, expected: f64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let value = prometheus.scalar(expr).await;
        if value == Some(expected) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: `{expr}` is {value:?}, expected {expected}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until Prometheus holds a series of every metric the dashboard reads, so a panel's
/// `or vector(0)` never stands in for a metric that does not exist.
async fn wait_for_series(prometheus: &Prometheus, names: &BTreeSet<String>) {
    let pattern = names.iter().cloned().collect::<Vec<_>>().join("|");
    let expr = format!("count by (__name__) ({{__name__=~\"{pattern}\"}})");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found: BTreeSet<String> = prometheus
            .query(&expr)
            .await
            .iter()
            .filter_map(|sample| sample["metric"]["__name__"].as_str().map(str::to_owned))
            .collect();
        let missing: Vec<&String> = names.difference(&found).collect();
        if missing.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "metrics the dashboard reads that no process exports: {missing:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Every alerting rule Prometheus loaded, once each has been evaluated without error.
async fn evaluated_alert_rules(prometheus: &Prometheus) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let body = prometheus.api("/api/v1/rules", &[("type", "alert")]).await;
        assert_eq!(body["status"], "success", "{body}");
        let rules: Vec<Value> = body["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|group| group["rules"].as_array().cloned().unwrap_or_default())
            .collect();
        let unhealthy: Vec<&Value> = rules.iter().filter(|rule| rule["health"] != "ok").collect();
        if !rules.is_empty() && unhealthy.is_empty() {
            return rules;
        }
        assert!(
            Instant::now() < deadline,
            "alert rules not healthy: {unhealthy:#?}\nprometheus log:\n{}",
            prometheus.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

//! Relays wake when work commits: with the sweep and the polling interval an hour long, an order
//! and a resumed queue are still handed over at once.

use std::time::{Duration, Instant};

use recete_jobs::{QueueName, control};
use recete_platform::db;
use recete_shared::integrations::IntegrationKind;
use recete_workers::Pool;

use super::support::generic_order;
use crate::helpers::{TestApp, spawn_app_with};

const HOUR_MS: u64 = 3_600_000;

async fn deaf_to_everything_but_notifications() -> TestApp {
    spawn_app_with(|f| f.merge(("queue.sweep_interval_secs", 3600)).merge(("queue.relay_interval_ms", HOUR_MS))).await
}

async fn post_order(app: &TestApp, integration: &recete_shared::integrations::CreatedIntegration, n: usize) {
    let body = generic_order(&format!("wake-{n}"), &format!("W-{n}"), "order.created", 5, &format!("+90555{n:07}"));
    let response = app.post_generic(integration, chrono::Utc::now().timestamp(), &body).await;
    assert_eq!(response.status(), 202);
}

#[tokio::test]
async fn an_idle_relay_hands_over_new_orders_when_they_commit() {
    let app = deaf_to_everything_but_notifications().await;
    let (_, integration) = app.merchant_with(IntegrationKind::Generic).await;
    let _workers = app.start_pools(&[Pool::OrderEvents]);
    // Let the listener hear its first ping; the relay then sleeps for the sweep (an hour).
    tokio::time::sleep(Duration::from_secs(1)).await;
    for n in 0..3 {
        let posted = Instant::now();
        post_order(&app, &integration, n).await;
        app.wait_for_count("SELECT count(*) FROM orders", n as i64 + 1, 10).await;
        assert!(posted.elapsed() < Duration::from_secs(5), "order {n} took {:?}", posted.elapsed());
    }
}

#[tokio::test]
async fn resuming_a_paused_queue_wakes_its_relay() {
    let app = deaf_to_everything_but_notifications().await;
    let (_, integration) = app.merchant_with(IntegrationKind::Generic).await;
    let mut tx = db::system_tx(&app.pool).await.expect("tx");
    assert!(control::pause(&mut tx, QueueName::OrderEvents, "test", None).await.expect("pause"));
    tx.commit().await.expect("commit");
    let _workers = app.start_pools(&[Pool::OrderEvents]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    post_order(&app, &integration, 0).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.count("SELECT count(*) FROM orders").await, 0, "paused: nothing handed over");

    let mut tx = db::system_tx(&app.pool).await.expect("tx");
    assert!(control::resume(&mut tx, QueueName::OrderEvents).await.expect("resume"));
    tx.commit().await.expect("commit");
    app.wait_for_count("SELECT count(*) FROM orders", 1, 5).await;
}

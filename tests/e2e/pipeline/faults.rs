//! Faults the pipeline must survive: every effect happens exactly once whatever breaks.

use std::time::Duration;

use super::support::store_orders;
use crate::helpers::spawn_app;

const PROCESSED: &str = "SELECT count(*) FROM external_events WHERE state = 'processed'";

/// Exactly one order, one customer and one creation audit row per event, each event applied once.
async fn assert_each_effect_once(app: &crate::helpers::TestApp, events: i64) {
    assert_eq!(app.count("SELECT count(*) FROM orders").await, events);
    assert_eq!(app.count("SELECT count(*) FROM customers").await, events);
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE action = 'order.created'").await, events);
    assert_eq!(
        app.count("SELECT count(*) FROM external_events WHERE state = 'processed' AND processed_at IS NOT NULL").await,
        events
    );
}

#[tokio::test]
async fn twenty_thousand_events_stored_at_once_are_all_processed_once() {
    let app = spawn_app().await;
    let started = std::time::Instant::now();
    store_orders(&app, 20_000).await;
    let stored_in = started.elapsed();
    let _workers = app.start_workers();
    app.wait_for_count(PROCESSED, 20_000, 600).await;
    eprintln!("20,000 events: stored in {stored_in:?}, processed {:?} later", started.elapsed() - stored_in);
    assert_each_effect_once(&app, 20_000).await;
}

#[tokio::test]
async fn wiping_redis_mid_run_loses_nothing() {
    let app = spawn_app().await;
    store_orders(&app, 3_000).await;
    let _workers = app.start_workers();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while app.count(PROCESSED).await < 300 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let wiped = app.redis.wipe().await.expect("wipe");
    assert!(wiped > 0, "the queue had keys to lose");
    app.wait_for_count(PROCESSED, 3_000, 120).await;
    assert_each_effect_once(&app, 3_000).await;
}

#[tokio::test]
async fn a_worker_process_killed_mid_burst_leaves_every_effect_exactly_once() {
    let app = spawn_app().await;
    store_orders(&app, 3_000).await;
    let mut first = app.spawn_worker_process();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while app.count(PROCESSED).await < 300 {
        assert!(std::time::Instant::now() < deadline, "the first worker made no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    let processed_at_kill = app.count(PROCESSED).await;
    assert!(processed_at_kill < 3_000, "killed mid-burst");
    let mut second = app.spawn_worker_process();
    app.wait_for_count(PROCESSED, 3_000, 120).await;
    second.kill().expect("stop");
    second.wait().expect("reaped");
    assert_each_effect_once(&app, 3_000).await;
}

#[tokio::test]
async fn a_worker_process_stops_on_sigterm_mid_burst_exits_zero_and_loses_nothing() {
    let app = spawn_app().await;
    store_orders(&app, 2_000).await;
    let mut worker = app.spawn_worker_process();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while app.count(PROCESSED).await < 100 {
        assert!(std::time::Instant::now() < deadline, "the worker made no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let signalled =
        std::process::Command::new("kill").args(["-TERM", &worker.id().to_string()]).status().expect("kill runs");
    assert!(signalled.success());
    let exit = tokio::time::timeout(Duration::from_secs(30), tokio::task::spawn_blocking(move || worker.wait()))
        .await
        .expect("exits within the grace period")
        .expect("joined")
        .expect("waited");
    assert!(exit.success(), "{exit:?}");
    let _workers = app.start_workers();
    app.wait_for_count(PROCESSED, 2_000, 120).await;
    assert_each_effect_once(&app, 2_000).await;
}

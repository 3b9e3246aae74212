//! A paused queue keeps its rows in PostgreSQL: nothing reaches Redis or a worker until an
//! operator resumes it, and the queue overview shows both the pause and the waiting rows.

use std::time::Duration;

use recete_jobs::relay::Relay;
use recete_jobs::stats::{self, QueueOverview};
use recete_jobs::{EventJob, QueueName, backlog, control};
use recete_platform::db;
use recete_platform::redis_client::RedisClient;
use recete_shared::integrations::IntegrationKind;
use recete_workers::Pool;

use crate::helpers::{TestApp, spawn_app};

const PROCESSED: &str = "SELECT count(*) FROM external_events WHERE state = 'processed'";

async fn order_events(app: &TestApp) -> QueueOverview {
    let overview =
        stats::overview(&app.pool, Duration::from_secs(300), Duration::from_secs(5)).await.expect("overview");
    let names: Vec<QueueName> = overview.iter().map(|queue| queue.queue).collect();
    assert_eq!(names, QueueName::ALL, "one entry per queue, in order");
    overview.into_iter().next().expect("order-events first")
}

#[tokio::test]
async fn a_paused_queue_hands_nothing_over_until_it_is_resumed() {
    let app = spawn_app().await;
    let mut tx = db::system_tx(&app.pool).await.expect("tx");
    let paused = control::pause(&mut tx, QueueName::OrderEvents, "ops@example.com", Some("store migration"))
        .await
        .expect("pause");
    tx.commit().await.expect("commit");
    assert!(paused);
    let (merchant, integration) = app.merchant_with(IntegrationKind::Generic).await;
    recete_testkit::orders::store_new_orders(&app.pool, app.keyring.clone(), merchant, integration.integration_id, 3)
        .await
        .expect("events stored");

    let redis = RedisClient::new(&app.settings.redis).expect("redis client");
    let connection = redis.connection().await.expect("redis");
    let queue = QueueName::OrderEvents;
    let mut relay: Relay<EventJob> = Relay {
        queue,
        namespace: backlog::namespace(redis.key_prefix(), queue),
        storage: backlog::storage(connection.clone(), redis.key_prefix(), queue, &app.settings.queue, 1),
        connection: connection.clone(),
        settings: app.settings.queue.clone(),
    };
    let report = relay.relay_once(&app.pool).await.expect("relay pass");
    assert!(report.paused);
    assert_eq!(report.handed_over, 0);

    // Workers running meanwhile find nothing to do.
    let _workers = app.start_pools(&[Pool::OrderEvents]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.count(PROCESSED).await, 0);
    let mut depth_connection = connection.clone();
    assert_eq!(backlog::depth(&mut depth_connection, &relay.namespace).await.expect("depth"), 0);
    let waiting = order_events(&app).await;
    let pause = waiting.paused.as_ref().expect("the pause is shown");
    assert_eq!((pause.paused_by.as_str(), pause.reason.as_deref()), ("ops@example.com", Some("store migration")));
    assert_eq!((waiting.pending, waiting.scheduled, waiting.retrying, waiting.dead), (3, 0, 0, 0));
    assert!(waiting.oldest_ready_age_secs.is_some_and(|age| age >= 1.0), "{:?}", waiting.oldest_ready_age_secs);
    assert_eq!(waiting.live_workers, 1, "this test's worker heartbeat");
    assert!(waiting.slots > 0);

    let mut tx = db::system_tx(&app.pool).await.expect("tx");
    assert!(control::resume(&mut tx, QueueName::OrderEvents).await.expect("resume"));
    tx.commit().await.expect("commit");
    app.wait_for_count(PROCESSED, 3, 15).await;
    // Each attempt is recorded just after its row commits; the last may still be on its way.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut done = order_events(&app).await;
    while done.succeeded_recently < 3 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        done = order_events(&app).await;
    }
    assert!(done.paused.is_none());
    assert_eq!((done.pending, done.oldest_ready_age_secs), (0, None));
    assert_eq!((done.succeeded_recently, done.failed_recently), (3, 0));
}

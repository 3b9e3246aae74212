use std::process::Command;
use std::time::Duration;

use apalis::prelude::{TaskBuilder, TaskId, TaskSink};
use recete_jobs::backlog;
use recete_jobs::relay::Relay;
use recete_jobs::{EventJob, QueueName};

use super::support::store_orders;
use crate::helpers::{spawn_app, spawn_app_with};

const PROCESSED: &str = "SELECT count(*) FROM external_events WHERE state = 'processed'";

pub async fn relay_for(app: &crate::helpers::TestApp) -> Relay<EventJob> {
    let redis = recete_platform::redis_client::RedisClient::new(&app.settings.redis).expect("client");
    let connection = redis.connection().await.expect("redis");
    let queue = QueueName::OrderEvents;
    Relay {
        queue,
        namespace: backlog::namespace(redis.key_prefix(), queue),
        storage: backlog::storage(connection.clone(), redis.key_prefix(), queue, &app.settings.queue, 1),
        connection,
        settings: app.settings.queue.clone(),
    }
}

#[tokio::test]
async fn the_relay_keeps_the_redis_backlog_under_its_bound() {
    // No sweep to fall back on: the relay must come back by itself while the queue drains.
    let app = spawn_app_with(|f| {
        f.merge(("queue.max_backlog", 300)).merge(("queue.relay_batch", 200)).merge(("queue.sweep_interval_secs", 3600))
    })
    .await;
    store_orders(&app, 1_000).await;
    let mut relay = relay_for(&app).await;
    let mut connection = relay.connection.clone();
    let first = relay.relay_once(&app.pool).await.expect("relay");
    let second = relay.relay_once(&app.pool).await.expect("relay");
    let third = relay.relay_once(&app.pool).await.expect("relay");
    assert_eq!((first.handed_over, second.handed_over, third.handed_over), (200, 100, 0));
    assert!(third.queue_full);
    assert_eq!(backlog::depth(&mut connection, &relay.namespace).await.expect("depth"), 300);

    // Workers drain it and the relay tops it up, never past the bound, until all is done.
    let _workers = app.start_workers();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while app.count(PROCESSED).await < 1_000 {
        assert!(backlog::depth(&mut connection, &relay.namespace).await.expect("depth") <= 300);
        assert!(std::time::Instant::now() < deadline, "backlog not drained in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_push_that_fails_gives_the_rows_back_to_the_next_pass_at_once() {
    let app = spawn_app().await;
    store_orders(&app, 3).await;
    let mut relay = relay_for(&app).await;
    // The jobs go to a Redis that has gone away; the backlog check still reaches the live one.
    let mut gone = recete_testkit::PrivateRedis::start().await.expect("a private redis");
    let client = redis::Client::open(gone.url()).expect("client");
    let connection = apalis_redis::ConnectionManager::new(client).await.expect("connected");
    gone.stop().await.expect("stopped");
    let prefix =
        recete_platform::redis_client::RedisClient::new(&app.settings.redis).expect("client").key_prefix().to_owned();
    relay.storage = backlog::storage(connection, &prefix, QueueName::OrderEvents, &app.settings.queue, 1);
    let failed = relay.relay_once(&app.pool).await;
    assert!(matches!(failed, Err(recete_jobs::relay::RelayError::Push(_))), "{failed:?}");
    assert_eq!(app.count("SELECT count(*) FROM external_events WHERE enqueued_at IS NOT NULL").await, 0);

    // Redis reachable again: the rows go at the next pass, not after the reconcile delay.
    let mut relay = relay_for(&app).await;
    let report = relay.relay_once(&app.pool).await.expect("relay");
    assert_eq!((report.handed_over, report.recovered), (3, 0));
    let _workers = app.start_workers();
    app.wait_for_count(PROCESSED, 3, 20).await;
}

#[tokio::test]
async fn a_handed_over_row_is_not_pushed_twice_and_a_task_id_deduplicates() {
    let app = spawn_app().await;
    store_orders(&app, 5).await;
    let mut relay = relay_for(&app).await;
    assert_eq!(relay.relay_once(&app.pool).await.expect("relay").handed_over, 5);
    assert_eq!(relay.relay_once(&app.pool).await.expect("relay").handed_over, 0, "within the reconcile delay");
    let mut connection = relay.connection.clone();
    assert_eq!(backlog::depth(&mut connection, &relay.namespace).await.expect("depth"), 5);

    // The same deterministic task id pushed again is one job, not two.
    let event_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM external_events LIMIT 1").fetch_one(&app.admin).await.expect("id");
    let count: i32 = sqlx::query_scalar("SELECT enqueue_count FROM external_events WHERE id = $1")
        .bind(event_id)
        .fetch_one(&app.admin)
        .await
        .expect("n");
    let task = || {
        TaskBuilder::new(EventJob::V1 { event_id: recete_platform::ids::EventId::from_uuid(event_id) })
            .task_id(TaskId::from_string(format!("{event_id}:{count}")))
            .build()
    };
    relay.storage.push_task(task()).await.expect("push");
    relay.storage.push_task(task()).await.expect("push");
    assert_eq!(backlog::depth(&mut connection, &relay.namespace).await.expect("depth"), 5);

    // Past the reconcile delay, rows still pending are handed over again and counted as recovered.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let again = relay.relay_once(&app.pool).await.expect("relay");
    assert_eq!((again.handed_over, again.recovered), (5, 5));
}

#[tokio::test]
async fn an_idle_worker_picks_up_new_work_long_before_its_heartbeat() {
    let app = spawn_app_with(|f| f.merge(("queue.heartbeat_secs", 30))).await;
    let _workers = app.start_workers();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = std::time::Instant::now();
    store_orders(&app, 1).await;
    app.wait_for_count(PROCESSED, 1, 10).await;
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn workers_stopped_and_started_at_once_keep_working() {
    let app = spawn_app().await;
    app.start_workers().stop().await;
    let _again = app.start_workers();
    store_orders(&app, 20).await;
    app.wait_for_count(PROCESSED, 20, 15).await;
}

#[tokio::test]
async fn finished_jobs_are_pruned_from_redis() {
    let app = spawn_app().await;
    let _workers = app.start_workers();
    store_orders(&app, 50).await;
    app.wait_for_count(PROCESSED, 50, 20).await;
    let namespace = backlog::namespace(&app.redis.prefix, QueueName::OrderEvents);
    let mut connection = app.redis.client().expect("client").get_multiplexed_async_connection().await.expect("redis");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (done, data): (u64, u64) = redis::pipe()
            .cmd("SCARD")
            .arg(format!("{namespace}:done"))
            .cmd("HLEN")
            .arg(format!("{namespace}:data"))
            .query_async(&mut connection)
            .await
            .expect("counts");
        if done == 0 && data == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "done={done} data={data} still in Redis");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_job_that_always_fails_is_dead_lettered_after_its_attempts_and_can_be_replayed() {
    let app = spawn_app().await;
    store_orders(&app, 1).await;
    // A key id nobody has: opening the event fails on every attempt.
    sqlx::query("UPDATE external_events SET key_id = 'lost-key'").execute(&app.admin).await.expect("break it");
    let workers = app.start_workers();
    app.wait_for_count("SELECT count(*) FROM external_events WHERE state = 'dead'", 1, 20).await;
    workers.stop().await;
    let (attempts, error): (i32, String) =
        sqlx::query_as("SELECT attempts, last_error FROM external_events").fetch_one(&app.admin).await.expect("row");
    assert_eq!(attempts, 3, "our limit, not apalis's 25");
    assert!(error.contains("lost-key"), "{error}");

    let recete = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_recete"))
            .args(args)
            .env("DATABASE_URL", app.db.app_url())
            .env("RECETE__LOG__FILTER", "warn")
            .output()
            .expect("recete runs")
    };
    let listed = recete(&["jobs", "dead"]);
    let line: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("one JSON line");
    assert_eq!(line["attempts"], 3);
    let id = line["id"].as_str().expect("id").to_owned();

    sqlx::query("UPDATE external_events SET key_id = 'dev-1'").execute(&app.admin).await.expect("repair it");
    let retried = recete(&["jobs", "retry", &id]);
    assert!(retried.status.success(), "{}", String::from_utf8_lossy(&retried.stderr));
    let _workers = app.start_workers();
    app.wait_for_count(PROCESSED, 1, 20).await;
    assert!(!recete(&["jobs", "retry", &id]).status.success(), "nothing dead is left to retry");
}

#[tokio::test]
async fn orders_fulfilled_long_ago_are_assumed_delivered_once() {
    let app = spawn_app().await;
    let _workers = app.start_workers();
    store_orders(&app, 2).await;
    app.wait_for_count(PROCESSED, 2, 20).await;
    sqlx::query("UPDATE orders SET status = 'fulfilled', fulfilled_at = now() - interval '6 days' WHERE external_order_id = 'order-0'")
        .execute(&app.admin)
        .await
        .expect("fulfil");
    sqlx::query("UPDATE orders SET status = 'fulfilled', fulfilled_at = now() - interval '2 days' WHERE external_order_id = 'order-1'")
        .execute(&app.admin)
        .await
        .expect("fulfil");
    let changed =
        recete_shared::orders::assume_delivered::run_once(&app.pool, chrono::Utc::now(), 100).await.expect("tick");
    assert_eq!(changed, 1);
    assert_eq!(app.order_status("order-0").await.as_deref(), Some("delivered"));
    assert_eq!(app.order_status("order-1").await.as_deref(), Some("fulfilled"));
    let again =
        recete_shared::orders::assume_delivered::run_once(&app.pool, chrono::Utc::now(), 100).await.expect("tick");
    assert_eq!(again, 0);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_log WHERE actor = 'worker:assume-delivered' AND action = 'order.status_changed'"
        )
        .await,
        1
    );
    // An assumed delivery plans follow-ups like a reported one.
    assert_eq!(
        app.count("SELECT count(*) FROM scheduled_tasks t JOIN orders o ON o.id = t.order_id WHERE o.external_order_id = 'order-0'").await,
        2
    );
}

#[tokio::test]
async fn rotating_keys_reseals_everything_and_keeps_it_readable() {
    let app = spawn_app().await;
    let _workers = app.start_workers();
    store_orders(&app, 3).await;
    app.wait_for_count(PROCESSED, 3, 20).await;
    // A message text, sealed like every other personal field, must move to the new key too.
    let merchant: uuid::Uuid =
        sqlx::query_scalar("SELECT merchant_id FROM orders LIMIT 1").fetch_one(&app.admin).await.expect("merchant");
    let body = app.keyring.seal(
        b"Where is my order?",
        &recete_shared::message_bodies::context(recete_platform::ids::MerchantId::from_uuid(merchant)),
    );
    sqlx::query(
        "INSERT INTO messages (id, merchant_id, direction, kind, status, pii_key_id, body_sealed)
         VALUES ($1, $2, 'inbound', 'text', 'received', $3, $4)",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(merchant)
    .bind(&body.key_id)
    .bind(&body.bytes)
    .execute(&app.admin)
    .await
    .expect("message");
    let new_key = "Pq0G3y8rZmG3qk2Q8m0w9b1m7n5r3t1v2x4z6c8e0g0=";
    let output = Command::new(env!("CARGO_BIN_EXE_recete"))
        .args(["keys", "rotate"])
        .env("DATABASE_URL", app.db.app_url())
        .env(
            "RECETE__CRYPTO__KEYS",
            format!("{{dev-1=\"V9Vc3qhT+72RXDN4fudRtgKoeU6B+4fiWftwxACTK+k=\",dev-2=\"{new_key}\"}}"),
        )
        .env("RECETE__CRYPTO__ACTIVE_KEY_ID", "dev-2")
        .env("RECETE__LOG__FILTER", "warn")
        .output()
        .expect("recete runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(
        (report["integrations"].as_u64(), report["customers"].as_u64(), report["external_events"].as_u64()),
        (Some(1), Some(3), Some(3))
    );
    assert_eq!(report["messages"].as_u64(), Some(1));
    assert_eq!(app.count("SELECT count(*) FROM messages WHERE pii_key_id <> 'dev-2'").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM external_events WHERE key_id <> 'dev-2'").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM customers WHERE pii_key_id <> 'dev-2'").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM integrations WHERE secret_key_id <> 'dev-2'").await, 0);
}

//! At the end of the shutdown grace a job still running is released: its work is dropped, its
//! row handed back for the next relay pass, and the workers stop within the grace.

use std::time::{Duration, Instant};

use recete_jobs::relay::Relay;
use recete_jobs::{QueueName, TaskJob, backlog};
use recete_platform::redis_client::RedisClient;
use recete_shared::merchants;
use recete_workers::Pool;
use serde_json::json;
use uuid::Uuid;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::spawn_app_with;

const GRACE_SECS: u64 = 3;

#[tokio::test]
async fn a_job_running_past_the_grace_is_released_and_the_workers_stop_within_it() {
    // A shop whose pages take a minute: the scrape is still fetching when shutdown comes.
    let slow_shop = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(60)))
        .mount(&slow_shop)
        .await;
    let shop_url = slow_shop.uri();
    let app = spawn_app_with(|figment| {
        figment
            .merge(("worker.shutdown_grace_secs", GRACE_SECS))
            .merge(("scrape.allow_loopback", true))
            .merge(("scrape.request_timeout_ms", 120_000))
            .merge(("pools.knowledge.timeout_secs", 300))
            // No local model to load: nothing in this test is embedded.
            .merge(("embedding.provider", "openai"))
            .merge(("embedding.base_url", shop_url.clone()))
            .merge(("embedding.api_key", "unused"))
    })
    .await;
    let merchant = merchants::create(&app.pool, "Slow Pages", "UTC").await.expect("merchant");
    let mut workers = app.start_pools(&[Pool::Knowledge]);
    let scheduled = app
        .client
        .post(app.url("/api/products/scrape"))
        .bearer_auth(&merchant.api_key)
        .json(&json!({ "url": format!("{shop_url}/products/slow-serum") }))
        .send()
        .await
        .expect("scrape requested");
    assert_eq!(scheduled.status(), 202);
    let deadline = Instant::now() + Duration::from_secs(30);
    while slow_shop.received_requests().await.unwrap_or_default().is_empty() {
        assert!(Instant::now() < deadline, "the scrape never reached the shop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let task_id: Uuid = sqlx::query_scalar("SELECT id FROM scheduled_tasks WHERE kind = 'scrape'")
        .fetch_one(&app.admin)
        .await
        .expect("the scrape task");

    let stopping = Instant::now();
    workers.shutdown.cancel();
    let handle = std::mem::replace(&mut workers.handle, tokio::spawn(async { Ok(()) }));
    let stopped = tokio::time::timeout(Duration::from_secs(GRACE_SECS), handle)
        .await
        .unwrap_or_else(|_| panic!("workers still running after the {GRACE_SECS} s grace"));
    stopped.expect("the workers' task joins").expect("the workers stop cleanly");
    let took = stopping.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "released {took:?} after shutdown, not two seconds before the grace ends"
    );

    let (state, handed_over): (String, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("SELECT state, enqueued_at FROM scheduled_tasks WHERE id = $1")
            .bind(task_id)
            .fetch_one(&app.admin)
            .await
            .expect("the task");
    assert_eq!((state.as_str(), handed_over), ("pending", None), "handed back, its work rolled back");
    let attempts: Vec<(String, Option<String>, String)> =
        sqlx::query_as("SELECT outcome, error, worker FROM job_attempts WHERE job_id = $1")
            .bind(task_id)
            .fetch_all(&app.admin)
            .await
            .expect("attempts");
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    let (outcome, error, worker) = &attempts[0];
    assert_eq!(outcome, "released");
    assert!(error.as_deref().is_some_and(|e| e.contains("shutdown")), "{error:?}");
    assert!(worker.starts_with("knowledge@"), "{worker}");
    assert_eq!(app.count("SELECT count(*) FROM worker_processes").await, 0, "a clean exit removes its row");

    // The next relay pass anywhere hands it over again at once, as a new hand-over rather than
    // a reconciler recovery.
    let redis = RedisClient::new(&app.settings.redis).expect("redis client");
    let connection = redis.connection().await.expect("redis");
    let queue = QueueName::Knowledge;
    let mut relay: Relay<TaskJob> = Relay {
        queue,
        namespace: backlog::namespace(redis.key_prefix(), queue),
        storage: backlog::storage(connection.clone(), redis.key_prefix(), queue, &app.settings.queue, 1),
        connection,
        settings: app.settings.queue.clone(),
    };
    let report = relay.relay_once(&app.pool).await.expect("relay pass");
    assert_eq!((report.handed_over, report.recovered), (1, 0));
}

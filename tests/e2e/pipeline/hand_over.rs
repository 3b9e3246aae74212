//! A job is visible in Redis only once the row it names is committed as handed over: a worker
//! that fetches it at once finds the row free, never skips it and never leaves it to the
//! reconciler.

use std::time::{Duration, Instant};

use recete_jobs::QueueName;
use recete_jobs::backlog;
use recete_shared::integrations::IntegrationKind;
use recete_workers::Pool;

use super::queue::relay_for;
use super::support::{generic_order, store_orders};
use crate::helpers::spawn_app_with;

/// Every push lands in the queue's `:scheduled` set first; a client blocked on that set is woken
/// by the push itself, before the relay has its reply.
#[tokio::test]
async fn a_relayed_job_appears_in_redis_only_after_its_row_is_committed_and_unlocked() {
    let app = spawn_app_with(|f| f.merge(("queue.reconcile_after_secs", 3600))).await;
    store_orders(&app, 5).await;
    let mut relay = relay_for(&app).await;
    let scheduled = format!("{}:scheduled", backlog::namespace(&app.redis.prefix, QueueName::OrderEvents));
    let client = app.redis.client().expect("client");
    // A blocking pop outlasts the default response timeout.
    let blocking = redis::AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(15)));
    let mut watching = client.get_multiplexed_async_connection_with_config(&blocking).await.expect("redis");
    let mut reading = client.get_multiplexed_async_connection().await.expect("redis");
    // A connection taken before the race, so each check costs one round trip.
    let mut check = app.admin.acquire().await.expect("connection");
    let watcher = tokio::spawn(async move {
        let popped: Option<(String, String, f64)> =
            redis::cmd("BZPOPMIN").arg(&scheduled).arg(10).query_async(&mut watching).await.expect("BZPOPMIN");
        let (_, first, _) = popped.expect("a job within 10 s");
        // The batch is pushed by one script: the others are there already.
        let rest: Vec<String> =
            redis::cmd("ZRANGE").arg(&scheduled).arg(0).arg(-1).query_async(&mut reading).await.expect("ZRANGE");
        let mut seen = Vec::new();
        for task_id in std::iter::once(first).chain(rest) {
            let row: uuid::Uuid = task_id.split(':').next().and_then(|id| id.parse().ok()).expect("row:count");
            // NOWAIT fails at once if the relay's transaction still holds the row.
            let handed_over: Result<bool, sqlx::Error> = sqlx::query_scalar(
                "SELECT enqueued_at IS NOT NULL FROM external_events WHERE id = $1 FOR UPDATE NOWAIT",
            )
            .bind(row)
            .fetch_one(&mut *check)
            .await;
            seen.push((row, handed_over.map_err(|e| e.to_string())));
        }
        seen
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let report = relay.relay_once(&app.pool).await.expect("relay");
    assert_eq!(report.handed_over, 5);
    let seen = watcher.await.expect("watcher");
    assert_eq!(seen.len(), 5, "{seen:?}");
    for (row, handed_over) in seen {
        assert_eq!(handed_over, Ok(true), "row {row} was not committed as handed over when its job was visible");
    }
}

/// Workers polling every millisecond fetch each job the moment it is pushed. A job that met its
/// row still locked would be skipped and wait for the reconciler (an hour here), so every order
/// arriving within seconds, each handed over once, shows none was.
#[tokio::test]
async fn workers_fetching_as_a_job_is_pushed_never_leave_an_event_to_the_reconciler() {
    let app = spawn_app_with(|f| {
        f.merge(("queue.poll_interval_ms", 1))
            .merge(("queue.relay_interval_ms", 1))
            .merge(("queue.reconcile_after_secs", 3600))
    })
    .await;
    let _workers = app.start_pools(&[Pool::OrderEvents]);
    let (_, integration) = app.merchant_with(IntegrationKind::Generic).await;
    const ORDERS: i64 = 30;
    for i in 0..ORDERS {
        let body = generic_order(&format!("race-{i}"), &format!("R-{i}"), "order.created", 5, &format!("+90555{i:07}"));
        let response = app.post_generic(&integration, chrono::Utc::now().timestamp(), &body).await;
        assert_eq!(response.status(), 202, "order {i}");
        tokio::time::sleep(Duration::from_millis(15 + (i as u64 * 7) % 20)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.count("SELECT count(*) FROM orders").await < ORDERS {
        let stuck = app.count("SELECT count(*) FROM external_events WHERE state = 'pending'").await;
        assert!(Instant::now() < deadline, "{stuck} events still pending: a job met its row locked and was skipped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.count("SELECT count(*) FROM external_events WHERE state = 'processed'").await, ORDERS);
    assert_eq!(app.count("SELECT count(*) FROM external_events WHERE enqueue_count <> 1").await, 0);
}

//! Order events applied in batches: a job applies its own event, then more due events in the same
//! transaction, each under its own savepoint. A poison event costs only its own retries; batches
//! working on the same orders at once neither deadlock nor apply an event twice; a batch of one
//! is the job alone.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use recete_jobs::QueueName;
use recete_jobs::execution::{self, JobContext, JobRow};
use recete_jobs::heartbeat::Process;
use recete_platform::config::PoolSettings;
use recete_platform::ids::EventId;
use recete_shared::events::EventKind;
use recete_shared::integrations::IntegrationKind;
use recete_workers::Pool;
use recete_workers::orders::{OrderDeps, handle_event};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::permutations::{KINDS, assert_same_result, send, webhook};
use super::support::store_orders;
use crate::helpers::{TestApp, spawn_app};

const PROCESSED: &str = "SELECT count(*) FROM external_events WHERE state = 'processed'";
const ATTEMPTS: &str = "SELECT count(*) FROM job_attempts";

/// One worker process's order-events pool, as `recete worker` builds it, with `batch_size`.
struct Worker {
    deps: OrderDeps,
    context: JobContext,
}

impl Worker {
    fn new(app: &TestApp, batch_size: usize) -> Self {
        let settings = PoolSettings { batch_size, ..app.settings.pools.order_events.clone() };
        let pool = app.worker_deps().pool;
        let process = Process::new(&[QueueName::OrderEvents]);
        let context = JobContext::new(
            QueueName::OrderEvents,
            pool.clone(),
            settings.clone(),
            &process,
            CancellationToken::new(),
            CancellationToken::new(),
        );
        Self { deps: OrderDeps { pool, keyring: app.keyring.clone(), settings }, context }
    }

    /// Runs the job for `event` as apalis would.
    async fn run(&self, event: Uuid) {
        let event_id = EventId::from_uuid(event);
        execution::run(&self.context, JobRow::Event(event_id), handle_event(event_id, &self.deps, &self.context)).await;
    }
}

/// Every event as the relay leaves it once it pushed their jobs: handed over.
async fn hand_over_everything(app: &TestApp) {
    sqlx::query("UPDATE external_events SET enqueued_at = now()").execute(&app.admin).await.expect("hand over");
}

async fn event_of(app: &TestApp, order: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM external_events WHERE subject_id = $1")
        .bind(order)
        .fetch_one(&app.admin)
        .await
        .expect("the order's event")
}

async fn outcomes(app: &TestApp, event: Uuid) -> Vec<(i32, String)> {
    sqlx::query_as("SELECT attempt, outcome FROM job_attempts WHERE job_id = $1 ORDER BY id")
        .bind(event)
        .fetch_all(&app.admin)
        .await
        .expect("attempts")
}

#[tokio::test]
async fn a_poison_event_in_a_batch_costs_only_its_own_retries_and_becomes_a_replayable_dead_letter() {
    let app = spawn_app().await;
    store_orders(&app, 10).await;
    // Inserting order-7 fails after its customer was written: the savepoint must take both back.
    sqlx::query(
        "CREATE FUNCTION poison_order() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF NEW.external_order_id = 'order-7' THEN RAISE EXCEPTION 'order % is poison', NEW.external_order_id; END IF;
             RETURN NEW;
         END $$",
    )
    .execute(&app.admin)
    .await
    .expect("poison function");
    sqlx::query("CREATE TRIGGER poison BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION poison_order()")
        .execute(&app.admin)
        .await
        .expect("poison trigger");
    hand_over_everything(&app).await;
    let worker = Worker::new(&app, app.settings.pools.order_events.batch_size);
    assert_eq!(worker.deps.settings.batch_size, 50, "the default batch");

    // One job: its own event and the nine others in one transaction.
    worker.run(event_of(&app, "order-0").await).await;
    assert_eq!(app.count(PROCESSED).await, 9);
    assert_eq!(app.count("SELECT count(*) FROM orders").await, 9);
    assert_eq!(
        app.count("SELECT count(*) FROM (SELECT external_order_id FROM orders GROUP BY 1 HAVING count(*) = 1) o").await,
        9
    );
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 9, "the poison event's customer rolled back");
    let poison = event_of(&app, "order-7").await;
    let (state, attempts, error, handed_over, retry_in): (String, i32, String, bool, f64) = sqlx::query_as(
        "SELECT state, attempts, last_error, enqueued_at IS NOT NULL,
                extract(epoch FROM next_attempt_at - updated_at)::float8
         FROM external_events WHERE id = $1",
    )
    .bind(poison)
    .fetch_one(&app.admin)
    .await
    .expect("the poison row");
    assert_eq!((state.as_str(), attempts, handed_over), ("failed", 1, false), "as a failure of its own job");
    assert!(error.contains("order order-7 is poison"), "{error}");
    // pools.order_events.backoff_base_ms is 50 in tests: the first retry 40 to 60 ms after the
    // failure, which comes after the batch's start (`updated_at`).
    assert!((0.04..=5.0).contains(&retry_in), "first retry after {retry_in} s");
    assert_eq!(outcomes(&app, poison).await, vec![(1, "failed".to_owned())]);
    assert_eq!(app.count("SELECT count(*) FROM job_attempts WHERE outcome = 'succeeded'").await, 10 - 1);

    // The jobs still queued for the batch's other events find them processed: nothing recorded.
    for order in ["order-3", "order-9"] {
        worker.run(event_of(&app, order).await).await;
    }
    assert_eq!(app.count(ATTEMPTS).await, 10);

    // The workers retry it alone until the limit (3 in tests), then it is a dead letter.
    let workers = app.start_pools(&[Pool::OrderEvents]);
    app.wait_for_count("SELECT count(*) FROM external_events WHERE state = 'dead'", 1, 20).await;
    workers.stop().await;
    let dead: Vec<(i32, String)> = outcomes(&app, poison).await;
    assert_eq!(dead, vec![(1, "failed".to_owned()), (2, "failed".to_owned()), (3, "dead".to_owned())]);
    assert_eq!(app.count(PROCESSED).await, 9);

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
    assert_eq!(line["id"].as_str(), Some(poison.to_string().as_str()));
    assert_eq!(line["attempts"], 3);
    sqlx::query("DROP TRIGGER poison ON orders").execute(&app.admin).await.expect("cure it");
    let retried = recete(&["jobs", "retry", &poison.to_string()]);
    assert!(retried.status.success(), "{}", String::from_utf8_lossy(&retried.stderr));
    let _workers = app.start_pools(&[Pool::OrderEvents]);
    app.wait_for_count(PROCESSED, 10, 20).await;
    assert_eq!(app.count("SELECT count(*) FROM orders").await, 10);
}

#[tokio::test]
async fn batches_on_the_same_orders_at_once_on_two_processes_apply_every_event_once() {
    let app = spawn_app().await;
    let (_, api) = app.merchant_with(IntegrationKind::Generic).await;
    let orders = 6;
    // Every order's four webhooks, arriving shuffled across orders and kinds.
    let mut bodies: Vec<Vec<u8>> = Vec::new();
    for step in 0..orders * KINDS.len() {
        let spread = (step * 7) % (orders * KINDS.len());
        let (index, kind) = (spread % orders, KINDS.len() - 1 - spread / orders);
        bodies.push(webhook(&format!("B-{index}"), &format!("+90532{index:07}"), kind));
    }
    for body in &bodies {
        send(&app, &api, body).await;
    }
    let events = (orders * KINDS.len()) as i64;
    assert_eq!(app.count("SELECT count(*) FROM external_events").await, events);
    hand_over_everything(&app).await;

    // Two processes, each with two jobs at once, batches of five: every job's batch overlaps
    // others' orders.
    let workers: Vec<Arc<Worker>> = (0..2).map(|_| Arc::new(Worker::new(&app, 5))).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let jobs = (0..4).map(|job| {
        let worker = workers[job % 2].clone();
        let admin = app.admin.clone();
        async move {
            loop {
                let due: Option<Uuid> = sqlx::query_scalar(
                    "SELECT id FROM external_events WHERE state IN ('pending', 'failed') ORDER BY random() LIMIT 1",
                )
                .fetch_optional(&admin)
                .await
                .expect("a due event");
                let Some(event) = due else { return };
                assert!(Instant::now() < deadline, "events still due after 60 s");
                worker.run(event).await;
            }
        }
    });
    futures::future::join_all(jobs).await;

    let unfinished: Vec<(String, i32, Option<String>)> =
        sqlx::query_as("SELECT state, attempts, last_error FROM external_events WHERE state <> 'processed'")
            .fetch_all(&app.admin)
            .await
            .expect("unfinished events");
    assert_eq!(unfinished, Vec::new(), "every event processed");
    assert_eq!(app.count(PROCESSED).await, events);
    let failed = app.count("SELECT count(*) FROM external_events WHERE attempts <> 1 OR last_error IS NOT NULL").await;
    assert_eq!(failed, 0, "no deadlock, no lock timeout counted as a failure, no event applied twice");
    assert_eq!(app.count("SELECT count(*) FROM job_attempts WHERE outcome = 'succeeded'").await, events);
    assert_eq!(app.count("SELECT count(DISTINCT job_id) FROM job_attempts").await, events);
    assert_eq!(app.count(ATTEMPTS).await, events);
    for index in 0..orders {
        assert_same_result(&app, &format!("B-{index}"), "in batches on two processes").await;
    }
    assert_eq!(app.count("SELECT count(*) FROM orders").await, orders as i64);
    assert_eq!(app.count("SELECT count(*) FROM customers").await, orders as i64);
}

#[tokio::test]
async fn a_batch_of_one_applies_only_the_jobs_own_event() {
    let app = spawn_app().await;
    store_orders(&app, 3).await;
    hand_over_everything(&app).await;
    let worker = Worker::new(&app, 1);
    worker.run(event_of(&app, "order-1").await).await;
    assert_eq!(app.count(PROCESSED).await, 1);
    assert_eq!(app.order_status("order-1").await.as_deref(), Some("created"));
    assert_eq!(app.count(ATTEMPTS).await, 1);
    // A batch never takes an event the relay has not handed over.
    sqlx::query("UPDATE external_events SET enqueued_at = NULL WHERE subject_id = 'order-2'")
        .execute(&app.admin)
        .await
        .expect("not handed over");
    Worker::new(&app, 50).run(event_of(&app, "order-0").await).await;
    assert_eq!(app.count(PROCESSED).await, 2);
    assert_eq!(app.order_status("order-2").await, None);
}

#[tokio::test]
async fn a_batch_leaves_a_stores_privacy_request_to_its_own_job() {
    let app = spawn_app().await;
    store_orders(&app, 3).await;
    hand_over_everything(&app).await;
    // A row of a privacy request's kind among due, handed-over order events.
    let privacy = EventKind::PrivacyCustomerRedact.as_str();
    sqlx::query("UPDATE external_events SET kind = $1 WHERE subject_id = 'order-2'")
        .bind(privacy)
        .execute(&app.admin)
        .await
        .expect("a privacy request's kind");
    Worker::new(&app, 50).run(event_of(&app, "order-0").await).await;
    assert_eq!(app.count(PROCESSED).await, 2, "the job's own event and the other order event");
    let (state, attempts): (String, i32) =
        sqlx::query_as("SELECT state, attempts FROM external_events WHERE subject_id = 'order-2'")
            .fetch_one(&app.admin)
            .await
            .expect("the privacy request's row");
    assert_eq!((state.as_str(), attempts), ("pending", 0), "untouched, still due for its own job");
}

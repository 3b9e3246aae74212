//! Uploads and the database pool: a body trickling in holds no connection and no transaction,
//! uploads in progress are bounded per merchant and per process, every multipart part counts
//! against the size limit, and PostgreSQL ends a transaction left idle.

use std::time::{Duration, Instant};

use futures::SinkExt;
use futures::channel::mpsc;
use recete_platform::db;
use serde_json::Value;
use tokio::task::JoinHandle;

use super::{Store, store};
use crate::helpers::{TestApp, assert_problem, spawn_app_with};

const HEADER: &str = "order_id,email,status\n";

/// An upload whose body the test sends line by line, as slowly as it likes.
struct Trickle {
    lines: mpsc::Sender<Result<String, std::io::Error>>,
    response: JoinHandle<reqwest::Response>,
}

impl Trickle {
    /// Starts the upload and sends the header line; waits a moment so the server is reading it.
    async fn start(app: &TestApp, store: &Store) -> Self {
        let (mut lines, body) = mpsc::channel(16);
        let request = app
            .client
            .post(app.url("/api/imports/orders"))
            .bearer_auth(&store.api_key)
            .header("content-type", "text/csv")
            .body(reqwest::Body::wrap_stream(body));
        let response = tokio::spawn(async move { request.send().await.expect("upload sent") });
        lines.send(Ok(HEADER.to_owned())).await.expect("header line sent");
        tokio::time::sleep(Duration::from_millis(400)).await;
        Self { lines, response }
    }

    async fn line(&mut self, line: String) {
        self.lines.send(Ok(line)).await.expect("line sent");
    }

    /// Ends the body; returns the answer.
    async fn finish(mut self) -> reqwest::Response {
        self.lines.close_channel();
        self.response.await.expect("upload task")
    }
}

/// Transactions of the test's database that have waited, idle, for longer than any statement of
/// a normal request would leave them.
async fn idle_transactions(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND state LIKE 'idle in transaction%'
           AND clock_timestamp() - state_change > interval '300 milliseconds'",
    )
    .fetch_one(&app.admin)
    .await
    .expect("pg_stat_activity")
}

#[tokio::test]
async fn slow_uploads_hold_no_connection_so_a_small_pool_keeps_serving_other_requests() {
    // Three connections, one of them for the webhook committer; four uploads trickle in for
    // longer than any other request may take.
    let app = spawn_app_with(|figment| {
        figment
            .merge(("ingest.writers", 1))
            .merge(("database.max_connections", 3))
            .merge(("database.acquire_timeout_ms", 500))
            .merge(("api.request_timeout_ms", 1000))
    })
    .await;
    let (first, second) = (store(&app).await, store(&app).await);
    let mut uploads = Vec::new();
    for store in [&first, &second, &first, &second] {
        uploads.push(Trickle::start(&app, store).await);
    }
    let started = Instant::now();
    let mut line = 0;
    while started.elapsed() < Duration::from_millis(2500) {
        for upload in &mut uploads {
            line += 1;
            upload.line(format!("{line},buyer{line}@example.com,paid\n")).await;
        }
        let reads = Instant::now();
        for path in ["/api/imports", "/api/orders", "/api/customers"] {
            let response = first.get(&app, path).await;
            assert_eq!(response.status(), 200, "GET {path} while four uploads stream in");
        }
        assert!(reads.elapsed() < Duration::from_millis(1500), "reads waited {:?} for a connection", reads.elapsed());
        assert_eq!(idle_transactions(&app).await, 0, "no transaction waits on an upload's body");
        assert_eq!(app.count("SELECT count(*) FROM import_chunks").await, 0, "nothing is written half-way");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for upload in uploads {
        let response = upload.finish().await;
        assert_eq!(response.status(), 202, "the slow upload is stored once complete");
    }
    assert_eq!(app.count("SELECT count(*) FROM imports").await, 4);
    assert_eq!(app.count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'import'").await, 4);
}

#[tokio::test]
async fn uploads_past_the_merchant_or_process_bound_get_429_with_retry_after_and_store_nothing() {
    let app = spawn_app_with(|figment| {
        figment.merge(("imports.max_concurrent_uploads_per_merchant", 2)).merge(("imports.max_concurrent_uploads", 3))
    })
    .await;
    let (busy, other, third) = (store(&app).await, store(&app).await, store(&app).await);
    let one_order = format!("{HEADER}1001,ada@example.com,paid\n");

    let held = vec![Trickle::start(&app, &busy).await, Trickle::start(&app, &busy).await];
    let refused = busy.upload(&app, "orders", "", one_order.clone()).await;
    assert_eq!(refused.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("10"));
    let problem = assert_problem(refused, 429).await;
    assert!(
        problem["detail"].as_str().is_some_and(|d| d.contains("imports.max_concurrent_uploads_per_merchant")),
        "{problem}"
    );

    // Another merchant still has room, until the process as a whole is full.
    let last_slot = Trickle::start(&app, &other).await;
    let refused = third.upload(&app, "orders", "", one_order.clone()).await;
    assert!(refused.headers().contains_key("retry-after"));
    let problem = assert_problem(refused, 429).await;
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("(imports.max_concurrent_uploads)")), "{problem}");
    assert_eq!(app.count("SELECT count(*) FROM imports").await, 0, "a refused upload stores nothing");

    for upload in held.into_iter().chain([last_slot]) {
        assert_eq!(upload.finish().await.status(), 202);
    }
    // Slots come back when uploads end: the refused ones now go through.
    busy.accepted(&app, "orders", "", one_order.clone()).await;
    third.accepted(&app, "orders", "", one_order).await;
    assert_eq!(app.count("SELECT count(*) FROM imports").await, 5);
}

#[tokio::test]
async fn every_multipart_part_counts_against_the_upload_limit() {
    let app = spawn_app_with(|figment| figment.merge(("imports.max_upload_bytes", 1000))).await;
    let store = store(&app).await;
    let small_file = format!("{HEADER}1001,ada@example.com,paid\n");
    let send = |form: reqwest::multipart::Form| {
        app.client.post(app.url("/api/imports/orders")).bearer_auth(&store.api_key).multipart(form).send()
    };

    let padded = reqwest::multipart::Form::new()
        .text("note", "x".repeat(5000))
        .part("file", reqwest::multipart::Part::text(small_file.clone()).file_name("orders.csv"));
    assert_problem(send(padded).await.expect("sent"), 413).await;
    let padded_after = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::text(small_file.clone()).file_name("orders.csv"))
        .text("note", "x".repeat(5000));
    assert_problem(send(padded_after).await.expect("sent"), 413).await;
    // A huge part is cut off as it arrives, far before its end.
    let huge = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::text(small_file.clone()).file_name("orders.csv"))
        .text("padding", "y".repeat(4 * 1024 * 1024));
    assert_problem(send(huge).await.expect("sent"), 413).await;
    assert_eq!(app.count("SELECT count(*) FROM imports").await, 0, "nothing refused is stored");
    assert_eq!(app.count("SELECT count(*) FROM import_chunks").await, 0);

    let fine = reqwest::multipart::Form::new()
        .text("note", "march orders")
        .part("file", reqwest::multipart::Part::text(small_file).file_name("orders.csv"));
    let accepted = send(fine).await.expect("sent");
    assert_eq!(accepted.status(), 202);
    let accepted: Value = accepted.json().await.expect("JSON");
    assert!(accepted["import_id"].is_string());
}

#[tokio::test]
async fn postgres_ends_a_transaction_left_idle_and_the_setting_stays_in_it() {
    let app = spawn_app_with(|figment| figment.merge(("database.idle_in_transaction_timeout_ms", 300))).await;
    let store = store(&app).await;
    let pool = db::connect_lazy(&app.settings.database).expect("pool");

    let mut tx = db::tenant_tx(&pool, store.merchant).await.expect("transaction");
    let shown: String =
        sqlx::query_scalar("SHOW idle_in_transaction_session_timeout").fetch_one(&mut *tx).await.expect("show");
    assert_eq!(shown, "300ms");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let after_idle = sqlx::query("SELECT 1").execute(&mut *tx).await;
    assert!(after_idle.is_err(), "the idle transaction was ended by PostgreSQL");
    drop(tx);

    let mut system = db::system_tx(&pool).await.expect("system transaction");
    let shown: String =
        sqlx::query_scalar("SHOW idle_in_transaction_session_timeout").fetch_one(&mut *system).await.expect("show");
    assert_eq!(shown, "300ms");
    system.commit().await.expect("a busy transaction commits");
    // Outside a transaction the connection keeps the server's own setting: nothing leaks.
    let outside: String =
        sqlx::query_scalar("SHOW idle_in_transaction_session_timeout").fetch_one(&pool).await.expect("show");
    assert_eq!(outside, "0");
}

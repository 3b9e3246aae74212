//! A 50 MB file in bounded memory, and a worker killed in the middle of an import: each against
//! real `recete worker --queues imports` processes.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{counts, store};
use crate::helpers::{TestApp, spawn_app, spawn_app_with};

/// A worker process running only the imports pool, with `batch_rows` records per batch.
fn imports_worker(app: &TestApp, batch_rows: usize) -> Child {
    Command::new(env!("CARGO_BIN_EXE_recete"))
        .args(["worker", "--queues", "imports", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", app.db.app_url())
        .env("REDIS_URL", &app.redis.url)
        .env("RECETE__REDIS__KEY_PREFIX", &app.redis.prefix)
        .env("RECETE__QUEUE__POLL_INTERVAL_MS", "50")
        .env("RECETE__QUEUE__RELAY_INTERVAL_MS", "20")
        .env("RECETE__QUEUE__SWEEP_INTERVAL_SECS", "1")
        .env("RECETE__QUEUE__RECONCILE_AFTER_SECS", "2")
        .env("RECETE__QUEUE__HEARTBEAT_SECS", "2")
        .env("RECETE__IMPORTS__BATCH_ROWS", batch_rows.to_string())
        .env("RECETE__LOG__FILTER", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("recete worker starts")
}

/// A figure of `/proc/<pid>/status` in KiB (`VmRSS`, `VmHWM`).
fn memory_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("process status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix(" kB")?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// A products file of `bytes` bytes or a little less: long descriptions, as catalogue exports
/// have them.
fn catalogue(bytes: usize) -> (Vec<u8>, i64) {
    let description = "A calm cream for dry skin; it softens, soothes and protects. ".repeat(250);
    let usage = "Apply a thin layer morning and evening to clean skin. ".repeat(8);
    let mut file = b"sku,title,url,description,usage,ingredients,warnings\n".to_vec();
    let mut rows = 0;
    loop {
        let row = format!(
            "CREAM-{rows:06},Calm Cream {rows},https://shop.example.com/p/{rows},\"{description}\",\"{usage}\",\
             \"Aqua, Glycerin, Shea Butter\",Avoid the eyes.\n"
        );
        if file.len() + row.len() > bytes {
            return (file, rows);
        }
        file.extend_from_slice(row.as_bytes());
        rows += 1;
    }
}

/// The worker's peak resident memory grows by less than 32 MiB while it imports a 48 MiB file,
/// measured as the growth of `VmHWM` (peak RSS) of a real worker process over its idle peak.
/// What a run holds: one batch of at most 4 MiB of fields (read and parsed, so about twice
/// that), a queue of parsed rows behind it, three 1 MiB pieces of the file (sealed and opened),
/// connection buffers and thread stacks; about 26 MiB measured. Holding the file whole would
/// take 48 MiB and more.
#[tokio::test]
async fn a_fifty_megabyte_file_is_imported_in_bounded_memory() {
    const GROWTH_BOUND_KIB: u64 = 32 * 1024;
    // A 50 MB body takes longer to arrive than an ordinary request may.
    let app = spawn_app_with(|figment| figment.merge(("api.request_timeout_ms", 120_000))).await;
    let store = store(&app).await;
    let mut worker = imports_worker(&app, 500);
    let (file, rows) = catalogue(50_000_000);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_peak = memory_kib(worker.id(), "VmHWM");

    let started = Instant::now();
    let id = store.accepted(&app, "products", "", file).await;
    let uploaded_in = started.elapsed();
    let import = store.finished(&app, &id, 120).await;
    let imported_in = started.elapsed() - uploaded_in;
    let peak = memory_kib(worker.id(), "VmHWM");
    worker.kill().expect("stop the worker");
    worker.wait().expect("reaped");

    assert_eq!(import["status"], "completed", "{import}");
    assert_eq!(counts(&import), (rows, rows, 0, 0));
    assert_eq!(app.count("SELECT count(*) FROM products").await, rows);
    let growth = peak.saturating_sub(idle_peak);
    eprintln!(
        "50 MB import: {rows} rows, uploaded in {uploaded_in:?}, imported in {imported_in:?}; worker peak RSS \
         {peak} KiB, {growth} KiB over its idle peak of {idle_peak} KiB"
    );
    assert!(growth < GROWTH_BOUND_KIB, "peak RSS grew by {growth} KiB importing a 50 MB file");
}

/// Orders of two rows each, one customer per order.
fn orders(count: usize) -> String {
    let mut file = String::from("order_id,email,created_at,status,sku,product_title,quantity\n");
    for n in 0..count {
        for (sku, quantity) in [("SERUM-30", 1), ("SPF-50", 2)] {
            file.push_str(&format!("{n},buyer{n}@example.com,2026-01-10,paid,{sku},Product {sku},{quantity}\n"));
        }
    }
    file
}

#[tokio::test]
async fn a_worker_killed_mid_import_is_resumed_by_another_without_duplicates() {
    const ORDERS: usize = 1500;
    let app = spawn_app().await;
    let store = store(&app).await;
    let id = store.accepted(&app, "orders", "", orders(ORDERS)).await;
    let progress = format!("SELECT records_done FROM imports WHERE id = '{id}'");

    let mut first = imports_worker(&app, 50);
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.count(&progress).await < 400 {
        assert!(Instant::now() < deadline, "the first worker made no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    let at_kill = app.count(&progress).await;
    assert!(at_kill < 2 * ORDERS as i64, "killed mid-import ({at_kill} records done)");
    assert_eq!(at_kill % 50, 0, "the checkpoint moves a whole batch at a time");

    let mut second = imports_worker(&app, 50);
    let import = store.finished(&app, &id, 120).await;
    second.kill().expect("stop");
    second.wait().expect("reaped");

    let rows = 2 * ORDERS as i64;
    assert_eq!(counts(&import), (rows, rows, 0, 0), "{import}");
    assert_eq!(app.count("SELECT count(*) FROM orders").await, ORDERS as i64);
    assert_eq!(app.count("SELECT count(*) FROM order_items").await, rows);
    assert_eq!(app.count("SELECT count(*) FROM customers").await, ORDERS as i64);
    assert_eq!(app.count("SELECT count(*) FROM products").await, 2);
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE action = 'order.created'").await, ORDERS as i64);
    assert_eq!(app.count("SELECT sum(quantity) FROM order_items").await, 3 * ORDERS as i64);
    let task: (String, i32) = sqlx::query_as("SELECT state, attempts FROM scheduled_tasks WHERE kind = 'import'")
        .fetch_one(&app.admin)
        .await
        .expect("task");
    assert_eq!(task.0, "done");
}

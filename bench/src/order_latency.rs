//! Light traffic, the way most stores send: a signed generic-API order every 0.2–0.7 s through
//! the real API, and the time from its `202` to the order being committed, beside the webhook's
//! own round trip in the same run.
//!
//! One `recete all` process (API and every pool) on a fresh database and Redis prefix. Each
//! order is watched from its `202` on by a reader that looks for its row in `orders` every
//! 2 ms, so the delay is the pipeline's (relay, queue, worker, commit) to within 2 ms. At the end
//! every order must be listed by `GET /api/orders`, once.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use rand::Rng;
use recete_bench::latency;
use recete_bench::processes::{stop, wait_until_healthy};
use recete_bench::store::BenchStore;
use recete_shared::integrations::IntegrationKind;
use recete_testkit::orders::generic_order;
use recete_testkit::signing;
use sqlx::PgPool;

#[derive(Parser)]
struct Args {
    /// Orders measured (after three unmeasured ones).
    #[arg(long, default_value_t = 200)]
    orders: usize,
    /// Shortest pause between two orders.
    #[arg(long, default_value_t = 200)]
    min_gap_ms: u64,
    /// Longest pause between two orders.
    #[arg(long, default_value_t = 700)]
    max_gap_ms: u64,
    /// The `recete` binary the fleet runs (build it with `cargo build --release --bin recete`).
    #[arg(long, default_value = "target/release/recete")]
    recete: PathBuf,
    #[arg(long, default_value = "127.0.0.1:18932")]
    listen: String,
}

const WARM_UP: usize = 3;
/// How often a watcher looks for its order.
const LOOK_EVERY: Duration = Duration::from_millis(2);
/// An order not committed within this is reported as lost.
const GIVE_UP: Duration = Duration::from_secs(120);

/// Waits until the order is committed; returns the time from `answered` to the first look that saw it.
async fn committed_after(admin: PgPool, external_order_id: String, answered: Instant) -> anyhow::Result<f64> {
    loop {
        let found: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM orders WHERE external_order_id = $1)")
            .bind(&external_order_id)
            .fetch_one(&admin)
            .await?;
        if found {
            return Ok(answered.elapsed().as_secs_f64() * 1000.0);
        }
        anyhow::ensure!(answered.elapsed() < GIVE_UP, "order {external_order_id} not committed within {GIVE_UP:?}");
        tokio::time::sleep(LOOK_EVERY).await;
    }
}

/// Every order `GET /api/orders` lists, following the cursor.
async fn listed_orders(client: &reqwest::Client, base: &str, api_key: &str) -> anyhow::Result<Vec<String>> {
    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut request = client.get(format!("{base}/api/orders")).bearer_auth(api_key).query(&[("limit", "200")]);
        if let Some(cursor) = &cursor {
            request = request.query(&[("cursor", cursor)]);
        }
        let page: serde_json::Value = request.send().await?.error_for_status()?.json().await?;
        let orders = page["orders"].as_array().ok_or_else(|| anyhow::anyhow!("GET /api/orders has no `orders`"))?;
        listed.extend(orders.iter().filter_map(|order| order["external_order_id"].as_str().map(str::to_owned)));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(listed),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.recete.exists(), "{} not found: cargo build --release --bin recete", args.recete.display());
    anyhow::ensure!(args.min_gap_ms <= args.max_gap_ms, "--min-gap-ms is above --max-gap-ms");
    let store = BenchStore::create(IntegrationKind::Generic, None).await?;
    let admin = store.database.admin_pool().await?;
    let fleet = store.start_fleet(&args.recete, &args.listen)?;
    let base = format!("http://{}", args.listen);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    wait_until_healthy(&client, &base, Duration::from_secs(60)).await?;

    println!(
        "order-latency-bench: {} signed generic orders, one every {}-{} ms, one `recete all` process; delays from the 202",
        args.orders, args.min_gap_ms, args.max_gap_ms
    );
    let mut posts = Vec::new();
    let mut watchers = Vec::new();
    for i in 0..WARM_UP + args.orders {
        let order_id = format!("L-{i}");
        let body = generic_order(&format!("light-{i}"), &order_id, "order.created", 1, &format!("+90555{i:07}"));
        let timestamp = chrono::Utc::now().timestamp();
        let sent = Instant::now();
        let response = client
            .post(format!("{base}{}", store.integration.webhook_path))
            .header("content-type", "application/json")
            .header("recete-signature", signing::recete_signature(&store.integration.secret, timestamp, &body))
            .body(body)
            .send()
            .await?;
        let answered = Instant::now();
        anyhow::ensure!(response.status().is_success(), "order {i} answered {}", response.status());
        if i >= WARM_UP {
            posts.push((answered - sent).as_secs_f64() * 1000.0);
        }
        watchers.push((i >= WARM_UP, tokio::spawn(committed_after(admin.clone(), order_id, answered))));
        let gap = rand::rng().random_range(args.min_gap_ms..=args.max_gap_ms);
        tokio::time::sleep(Duration::from_millis(gap)).await;
    }
    let mut delays = Vec::new();
    for (measured, watcher) in watchers {
        let delay = watcher.await??;
        if measured {
            delays.push(delay);
        }
    }
    let listed = listed_orders(&client, &base, &store.merchant.api_key).await?;
    let expected = WARM_UP + args.orders;
    let mut distinct = listed.clone();
    distinct.sort();
    distinct.dedup();
    anyhow::ensure!(
        listed.len() == expected && distinct.len() == expected,
        "GET /api/orders lists {} orders ({} distinct), expected {expected}",
        listed.len(),
        distinct.len()
    );
    let reconcile_ms = store.settings.queue.reconcile_after_secs as f64 * 1000.0;
    let near_reconcile = delays.iter().filter(|delay| **delay >= reconcile_ms / 2.0).count();
    let over_second = delays.iter().filter(|delay| **delay >= 1000.0).count();
    latency::header();
    let (baseline, _) = latency::row("webhook POST answered 202 (baseline)", posts);
    let (p50, p99) = latency::row("202 -> order committed", delays);
    println!("ratio order delay / webhook round trip (p50): {:.1}", p50 / baseline);
    println!(
        "orders at 1 s or more: {over_second}; at half the reconcile delay ({} s) or more: {near_reconcile}",
        store.settings.queue.reconcile_after_secs
    );
    println!("target p99 < 300 ms: {}", if p99 < 300.0 && near_reconcile == 0 { "met" } else { "missed" });
    println!("GET /api/orders lists all {expected} orders once");
    stop(fleet)?;
    store.pool.close().await;
    admin.close().await;
    Ok(())
}

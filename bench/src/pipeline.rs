//! The job path: events per second from a stored event to its committed order, with N worker
//! processes, beside what this machine's Redis can do for the commands one job costs.
//!
//! For each worker count: a fresh database with `--events` stored order events, then N real
//! `recete worker` processes; the clock runs from their start until every event is processed.
//! Redis's own command counter gives the commands one job cost (relay push, fetch, ack,
//! heartbeats, pruning), and `redis-benchmark` in the same run gives unpipelined commands per
//! second, so `Redis ceiling = commands/s ÷ commands per job` and the ratio says how much of that
//! ceiling the pipeline uses (PostgreSQL work per job, not Redis, is the expected limit).
//! PostgreSQL's own statistics give the updates of `external_events` per event and the share of
//! them that were heap-only (HOT: no index entry written, no index to vacuum).
//!
//! The baseline, measured first in the same run: the same stored events turned into the same rows
//! by hand-written set-based SQL (`recete_bench::set_based_orders`: one transaction and one
//! statement per table for each batch, no queue, no Redis). Each worker count's rate is printed
//! as a share of it, and the rows both wrote (customers, orders, items, products, audit rows) are
//! compared table by table.
//!
//! While the workers run, the connections they hold on the database and the jobs waiting in the
//! queue's Redis keys are sampled every 100 ms: the maxima show what N processes cost PostgreSQL
//! and that the fleet's backlog stays within `queue.max_backlog` however many processes relay.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use recete_bench::processes::stop;
use recete_config::{Settings, base_figment};
use recete_platform::crypto::Keyring;
use recete_shared::integrations::{self, IntegrationKind, NewIntegration};
use recete_shared::merchants;
use recete_testkit::{TestDatabase, TestRedis};

#[derive(Parser)]
struct Args {
    /// Events stored before the workers start.
    #[arg(long, default_value_t = 20_000)]
    events: usize,
    /// Worker process counts to measure, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    workers: Vec<usize>,
    /// The `recete` binary the workers run (build it with `cargo build --release --bin recete`).
    #[arg(long, default_value = "target/release/recete")]
    recete: PathBuf,
    /// `database.max_connections` of each worker process (its pool's size); unset, the
    /// configured default. Eight processes at the default 16 pass PostgreSQL's default limit of
    /// 100 connections.
    #[arg(long)]
    max_connections: Option<u32>,
    /// Events per transaction of the set-based baseline.
    #[arg(long, default_value_t = 1_000)]
    baseline_batch: i64,
}

fn redis_commands_processed(url: &str) -> anyhow::Result<u64> {
    let mut connection = redis::Client::open(url)?.get_connection()?;
    let info: String = redis::cmd("INFO").arg("stats").query(&mut connection)?;
    info.lines()
        .find_map(|line| line.strip_prefix("total_commands_processed:"))
        .and_then(|value| value.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("INFO stats has no total_commands_processed"))
}

/// Unpipelined simple commands per second from 50 clients, on a scratch database index.
fn redis_benchmark_ops() -> anyhow::Result<f64> {
    let output = Command::new("redis-benchmark")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            "6379",
            "--dbnum",
            "9",
            "-c",
            "50",
            "-n",
            "200000",
            "-t",
            "set,lpush,zadd",
            "--csv",
        ])
        .output()?;
    anyhow::ensure!(output.status.success(), "redis-benchmark failed: {}", String::from_utf8_lossy(&output.stderr));
    let rates: Vec<f64> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .skip(1)
        .filter_map(|line| line.split(',').nth(1).and_then(|rate| rate.trim_matches('"').parse().ok()))
        .collect();
    let _ = Command::new("redis-cli").args(["-n", "9", "FLUSHDB"]).output();
    anyhow::ensure!(!rates.is_empty(), "redis-benchmark printed no rates");
    Ok(rates.iter().sum::<f64>() / rates.len() as f64)
}

fn spawn_worker(args: &Args, database: &TestDatabase, redis: &TestRedis) -> anyhow::Result<Child> {
    let mut command = Command::new(&args.recete);
    if let Some(max) = args.max_connections {
        command.env("RECETE__DATABASE__MAX_CONNECTIONS", max.to_string());
    }
    Ok(command
        .args(["worker", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", database.app_url())
        .env("REDIS_URL", &redis.url)
        .env("RECETE__REDIS__KEY_PREFIX", &redis.prefix)
        .env("RECETE__LOG__FILTER", "warn")
        .stdout(Stdio::null())
        .spawn()?)
}

/// Updates of `external_events` so far and how many of them were heap-only, as PostgreSQL's
/// statistics have them (a backend reports its counts when idle or at exit).
async fn event_updates(admin: &sqlx::PgPool) -> anyhow::Result<(i64, i64)> {
    Ok(sqlx::query_as("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'external_events'")
        .fetch_one(admin)
        .await?)
}

/// Rows per table after a run, in the order of [`TABLES`].
type RowCounts = Vec<i64>;

/// The tables whose rows the pipeline and the baseline both write.
const TABLES: [&str; 5] = ["customers", "orders", "order_items", "products", "audit_log"];

async fn row_counts(admin: &sqlx::PgPool) -> anyhow::Result<RowCounts> {
    let mut counts = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        counts.push(sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(admin).await?);
    }
    Ok(counts)
}

/// A fresh database holding `--events` stored new-order events of one merchant.
struct Loaded {
    database: TestDatabase,
    pool: sqlx::PgPool,
    keyring: Arc<Keyring>,
}

async fn load(args: &Args) -> anyhow::Result<Loaded> {
    let database = TestDatabase::create().await?;
    let settings = Settings::load_from(base_figment(None).merge(("database.url", database.app_url())))?;
    let pool = recete_platform::db::connect_lazy(&settings.database)?;
    let keyring = Arc::new(Keyring::from_settings(&settings.crypto)?);
    let merchant = merchants::create(&pool, "Bench Store", "UTC").await?.merchant_id;
    let integration = integrations::create(
        &pool,
        &keyring,
        NewIntegration { merchant_id: merchant, kind: IntegrationKind::Generic, secret: None, phone_number_id: None },
    )
    .await?;
    recete_testkit::orders::store_new_orders(&pool, keyring.clone(), merchant, integration.integration_id, args.events)
        .await?;
    Ok(Loaded { database, pool, keyring })
}

/// The set-based baseline: events per second and the rows it wrote.
async fn measure_baseline(args: &Args) -> anyhow::Result<(f64, RowCounts)> {
    let loaded = load(args).await?;
    let (written, elapsed) =
        recete_bench::set_based_orders::write_all(&loaded.pool, &loaded.keyring, args.baseline_batch).await?;
    anyhow::ensure!(written == args.events, "the baseline wrote {written} of {} events", args.events);
    let admin = loaded.database.admin_pool().await?;
    let counts = row_counts(&admin).await?;
    admin.close().await;
    loaded.pool.close().await;
    Ok((written as f64 / elapsed.as_secs_f64(), counts))
}

/// The most connections the database had and the most jobs the queue held while the workers ran.
#[derive(Default, Clone, Copy)]
struct Peaks {
    connections: i64,
    backlog: u64,
}

/// Samples [`Peaks`] every 100 ms until `stop` fires.
async fn sample_peaks(
    admin: sqlx::PgPool,
    redis_url: String,
    namespace: String,
    stop: tokio_util::sync::CancellationToken,
) -> anyhow::Result<Peaks> {
    let mut connection = redis::aio::ConnectionManager::new(redis::Client::open(redis_url)?).await?;
    let mut peaks = Peaks::default();
    while !stop.is_cancelled() {
        let connections: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
                .fetch_one(&admin)
                .await?;
        let backlog = recete_jobs::backlog::depth(&mut connection, &namespace).await?;
        // The sampling connection itself is not the workers'.
        peaks.connections = peaks.connections.max(connections - 1);
        peaks.backlog = peaks.backlog.max(backlog);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(peaks)
}

/// One run's figures.
struct Figures {
    peaks: Peaks,
    rows: RowCounts,
    rate: f64,
    commands_per_job: f64,
    updates_per_event: f64,
    hot_share: f64,
}

async fn measure(args: &Args, workers: usize) -> anyhow::Result<Figures> {
    let Loaded { database, pool, .. } = load(args).await?;
    let redis = TestRedis::new();
    let admin = database.admin_pool().await?;
    // The statistics of the loading connections reach the counters within a second.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let updates_before = event_updates(&admin).await?;
    let commands_before = redis_commands_processed(&redis.url)?;
    let started = Instant::now();
    let children = (0..workers).map(|_| spawn_worker(args, &database, &redis)).collect::<anyhow::Result<Vec<_>>>()?;
    let stop_sampling = tokio_util::sync::CancellationToken::new();
    let sampler = tokio::spawn(sample_peaks(
        database.admin_pool().await?,
        redis.url.clone(),
        recete_jobs::backlog::namespace(&redis.prefix, recete_jobs::QueueName::OrderEvents),
        stop_sampling.clone(),
    ));
    loop {
        let processed: i64 = sqlx::query_scalar("SELECT count(*) FROM external_events WHERE state = 'processed'")
            .fetch_one(&admin)
            .await?;
        if processed as usize >= args.events {
            break;
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(900), "only {processed} processed after 15 minutes");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    stop_sampling.cancel();
    let peaks = sampler.await??;
    let commands = redis_commands_processed(&redis.url)?.saturating_sub(commands_before);
    for child in children {
        stop(child)?;
    }
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders").fetch_one(&admin).await?;
    anyhow::ensure!(orders as usize == args.events, "{orders} orders for {} events", args.events);
    let rows = row_counts(&admin).await?;
    pool.close().await;
    // The workers' connections report their counts as they close.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let updates_after = event_updates(&admin).await?;
    admin.close().await;
    let updates = (updates_after.0 - updates_before.0).max(0) as f64;
    let hot = (updates_after.1 - updates_before.1).max(0) as f64;
    Ok(Figures {
        peaks,
        rows,
        rate: args.events as f64 / elapsed.as_secs_f64(),
        commands_per_job: commands as f64 / args.events as f64,
        updates_per_event: updates / args.events as f64,
        hot_share: if updates > 0.0 { hot / updates } else { 0.0 },
    })
}

fn describe_rows(counts: &RowCounts) -> String {
    TABLES.iter().zip(counts).map(|(table, count)| format!("{table} {count}")).collect::<Vec<_>>().join(", ")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.recete.exists(), "{} not found: cargo build --release --bin recete", args.recete.display());
    let redis_ops = redis_benchmark_ops()?;
    println!(
        "pipeline-bench: {} events per run; redis-benchmark (SET, LPUSH, ZADD; 50 clients, unpipelined): {redis_ops:.0} commands/s",
        args.events
    );
    let (baseline, baseline_rows) = measure_baseline(&args).await?;
    println!(
        "set-based SQL baseline (batches of {}, no queue, no Redis): {baseline:.0} events/s; rows {}",
        args.baseline_batch,
        describe_rows(&baseline_rows)
    );
    println!(
        "{:<10} {:>12} {:>12} {:>14} {:>18} {:>8} {:>14} {:>10} {:>14} {:>16}",
        "workers",
        "events/s",
        "of baseline",
        "redis cmd/job",
        "redis ceiling/s",
        "ratio",
        "updates/event",
        "HOT share",
        "pg conns max",
        "backlog max"
    );
    let bound = Settings::load_from(base_figment(None))?.queue.max_backlog;
    for &workers in &args.workers {
        let figures = measure(&args, workers).await?;
        let ceiling = redis_ops / figures.commands_per_job;
        println!(
            "{workers:<10} {:>12.0} {:>12.3} {:>14.1} {ceiling:>18.0} {:>8.3} {:>14.2} {:>10.2} {:>14} {:>16}",
            figures.rate,
            figures.rate / baseline,
            figures.commands_per_job,
            figures.rate / ceiling,
            figures.updates_per_event,
            figures.hot_share,
            figures.peaks.connections,
            format!("{} / {bound}", figures.peaks.backlog),
        );
        if figures.peaks.backlog > bound as u64 {
            println!("  the backlog passed queue.max_backlog ({bound})");
        }
        if figures.rows != baseline_rows {
            println!("  rows differ from the baseline's: {}", describe_rows(&figures.rows));
        }
    }
    Ok(())
}

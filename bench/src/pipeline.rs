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

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use recete_bench::processes::stop;
use recete_config::{Settings, base_figment};
use recete_shared::crypto::Keyring;
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
    Ok(Command::new(&args.recete)
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

/// One run's figures.
struct Figures {
    rate: f64,
    commands_per_job: f64,
    updates_per_event: f64,
    hot_share: f64,
}

async fn measure(args: &Args, workers: usize) -> anyhow::Result<Figures> {
    let database = TestDatabase::create().await?;
    let redis = TestRedis::new();
    let settings = Settings::load_from(base_figment(None).merge(("database.url", database.app_url())))?;
    let pool = recete_shared::db::connect_lazy(&settings.database)?;
    let keyring = Arc::new(Keyring::from_settings(&settings.crypto)?);
    let merchant = merchants::create(&pool, "Bench Store", "UTC").await?.merchant_id;
    let integration = integrations::create(
        &pool,
        &keyring,
        NewIntegration { merchant_id: merchant, kind: IntegrationKind::Generic, secret: None, phone_number_id: None },
    )
    .await?;
    recete_testkit::orders::store_new_orders(&pool, keyring, merchant, integration.integration_id, args.events).await?;
    let admin = database.admin_pool().await?;
    // The statistics of the loading connections reach the counters within a second.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let updates_before = event_updates(&admin).await?;
    let commands_before = redis_commands_processed(&redis.url)?;
    let started = Instant::now();
    let children = (0..workers).map(|_| spawn_worker(args, &database, &redis)).collect::<anyhow::Result<Vec<_>>>()?;
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
    let commands = redis_commands_processed(&redis.url)?.saturating_sub(commands_before);
    for child in children {
        stop(child)?;
    }
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders").fetch_one(&admin).await?;
    anyhow::ensure!(orders as usize == args.events, "{orders} orders for {} events", args.events);
    pool.close().await;
    // The workers' connections report their counts as they close.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let updates_after = event_updates(&admin).await?;
    admin.close().await;
    let updates = (updates_after.0 - updates_before.0).max(0) as f64;
    let hot = (updates_after.1 - updates_before.1).max(0) as f64;
    Ok(Figures {
        rate: args.events as f64 / elapsed.as_secs_f64(),
        commands_per_job: commands as f64 / args.events as f64,
        updates_per_event: updates / args.events as f64,
        hot_share: if updates > 0.0 { hot / updates } else { 0.0 },
    })
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
    println!(
        "{:<10} {:>12} {:>14} {:>18} {:>8} {:>14} {:>10}",
        "workers", "events/s", "redis cmd/job", "redis ceiling/s", "ratio", "updates/event", "HOT share"
    );
    for &workers in &args.workers {
        let figures = measure(&args, workers).await?;
        let ceiling = redis_ops / figures.commands_per_job;
        println!(
            "{workers:<10} {:>12.0} {:>14.1} {ceiling:>18.0} {:>8.3} {:>14.2} {:>10.2}",
            figures.rate,
            figures.commands_per_job,
            figures.rate / ceiling,
            figures.updates_per_event,
            figures.hot_share
        );
    }
    Ok(())
}

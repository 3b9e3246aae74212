//! Ingestion throughput against the database's own speed on the same machine.
//!
//! In one run, against one fresh database: (1) raw single-row INSERTs of a Shopify order
//! payload, each its own durable commit, from `--concurrency` connections; (2) the same payload
//! as signed Shopify webhooks through the real API over HTTP from `--concurrency` connections.
//! It prints requests/s, p50 and p99 of each and the ratio ingestion / raw insert: above 1.0
//! means the API stores webhooks faster than a naive one-INSERT-per-request writer could, while
//! still answering 2xx only after each row is durable.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use recete_api::{Application, Dependencies};
use recete_config::{Settings, base_figment};
use recete_platform::crypto::Keyring;
use recete_platform::db;
use recete_platform::redis_client::RedisClient;
use recete_shared::integrations::{self, IntegrationKind, NewIntegration};
use recete_shared::merchants;
use recete_testkit::{TestDatabase, TestRedis, signing};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
struct Args {
    /// Measured seconds per phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Unmeasured seconds before each phase.
    #[arg(long, default_value_t = 2)]
    warmup_seconds: u64,
    /// Concurrent connections in both phases.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
}

const PAYLOAD: &str = include_str!("../../tests/fixtures/shopify_orders_create.json");

struct Phase {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&mut self, p: f64) -> Duration {
        self.latencies.sort_unstable();
        let index = ((self.latencies.len() as f64 * p).ceil() as usize).saturating_sub(1);
        self.latencies.get(index).copied().unwrap_or_default()
    }
}

/// Runs `operation` from `concurrency` tasks for warmup + measured time; counts only the
/// measured window.
async fn drive<F, Fut>(concurrency: usize, warmup: Duration, measured: Duration, operation: F) -> anyhow::Result<Phase>
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let start = Instant::now();
    let measure_from = start + warmup;
    let stop_at = measure_from + measured;
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..concurrency as u64 {
        let operation = operation.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut sequence = 0u64;
            loop {
                let began = Instant::now();
                if began >= stop_at {
                    break;
                }
                operation(worker * 1_000_000_000 + sequence).await?;
                sequence += 1;
                if began >= measure_from {
                    latencies.push(began.elapsed());
                }
            }
            anyhow::Ok(latencies)
        });
    }
    let mut latencies = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        latencies.extend(joined??);
    }
    Ok(Phase { requests: latencies.len(), elapsed: measured, latencies })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let warmup = Duration::from_secs(args.warmup_seconds);
    let measured = Duration::from_secs(args.seconds);
    let database = TestDatabase::create().await?;
    let redis = TestRedis::new();
    let settings = Settings::load_from(
        base_figment(None)
            .merge(("app.environment", "test"))
            .merge(("database.url", database.app_url()))
            .merge(("redis.url", redis.url.clone()))
            .merge(("redis.key_prefix", redis.prefix.clone()))
            .merge(("log.filter", "error"))
            // The benchmark measures ingestion itself; one integration's webhook quota would cap it.
            .merge(("rate_limits.enabled", false)),
    )?;

    // Phase 1: the baseline, one durable INSERT per request.
    let admin = database.admin_pool().await?;
    sqlx::query("CREATE TABLE bench_raw_inserts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload jsonb NOT NULL, received_at timestamptz NOT NULL DEFAULT now())")
        .execute(&admin)
        .await?;
    sqlx::query("GRANT INSERT ON bench_raw_inserts TO recete").execute(&admin).await?;
    let raw_pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(args.concurrency as u32)
        .connect(&database.app_url())
        .await?;
    let payload: serde_json::Value = serde_json::from_str(PAYLOAD)?;
    let raw = {
        let pool = raw_pool.clone();
        let payload = Arc::new(payload);
        drive(args.concurrency, warmup, measured, move |_| {
            let pool = pool.clone();
            let payload = payload.clone();
            async move {
                sqlx::query("INSERT INTO bench_raw_inserts (payload) VALUES ($1)")
                    .bind(&*payload)
                    .execute(&pool)
                    .await?;
                Ok(())
            }
        })
        .await?
    };
    raw_pool.close().await;

    // Phase 2: signed webhooks through the API.
    let pool = db::connect_lazy(&settings.database)?;
    let keyring = Arc::new(Keyring::from_settings(&settings.crypto)?);
    let merchant = merchants::create(&pool, "Bench Store", "UTC").await?.merchant_id;
    let shop = integrations::create(
        &pool,
        &keyring,
        NewIntegration { merchant_id: merchant, kind: IntegrationKind::Shopify, secret: None, phone_number_id: None },
    )
    .await?;
    let deps = Dependencies { pool: pool.clone(), redis: RedisClient::new(&settings.redis)?, keyring };
    let app = Application::build(&settings, "127.0.0.1:0".parse()?, deps).await?;
    let url = format!("http://127.0.0.1:{}{}", app.port(), shop.webhook_path);
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency).build()?;
    let signature: Arc<str> = signing::base64_hmac(&shop.secret, PAYLOAD.as_bytes()).into();
    let mut ingest = drive(args.concurrency, warmup, measured, move |n| {
        let client = client.clone();
        let url = url.clone();
        let signature = signature.clone();
        async move {
            let response = client
                .post(&url)
                .header("x-shopify-topic", "orders/create")
                .header("x-shopify-webhook-id", format!("bench-{n}"))
                .header("x-shopify-hmac-sha256", &*signature)
                .body(PAYLOAD)
                .send()
                .await?;
            anyhow::ensure!(response.status().as_u16() == 202, "unexpected status {}", response.status());
            Ok(())
        }
    })
    .await?;
    shutdown.cancel();
    server.await??;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM external_events").fetch_one(&admin).await?;
    pool.close().await;
    admin.close().await;

    let mut raw = raw;
    println!(
        "ingest-bench: {} connections, {} s measured after {} s warm-up, payload {} bytes",
        args.concurrency,
        args.seconds,
        args.warmup_seconds,
        PAYLOAD.len()
    );
    println!("{:<34} {:>10} {:>10} {:>10}", "phase", "req/s", "p50 ms", "p99 ms");
    for (name, phase) in
        [("raw single-row INSERT (baseline)", &mut raw), ("signed Shopify webhook via API", &mut ingest)]
    {
        let p50 = phase.percentile(0.50).as_secs_f64() * 1000.0;
        let p99 = phase.percentile(0.99).as_secs_f64() * 1000.0;
        println!("{name:<34} {:>10.0} {p50:>10.2} {p99:>10.2}", phase.rate());
    }
    println!("ratio ingestion / raw insert: {:.2}", ingest.rate() / raw.rate());
    println!("rows stored by the API (warm-up included): {stored}");
    Ok(())
}

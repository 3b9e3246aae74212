//! What an idle fleet costs: PostgreSQL statements and Redis commands per second per worker
//! process that has nothing to do.
//!
//! A private PostgreSQL cluster with `pg_stat_statements` loaded and a private Redis, so nothing
//! else on the machine is counted; `--processes` real `recete worker` processes (every pool)
//! against an empty database. After `--warm-up` seconds the statement statistics are reset and
//! Redis's command counter read; after `--seconds` more both are read again. Statements are
//! counted as PostgreSQL executed them (`BEGIN` and `COMMIT` included), commands as Redis did
//! (those inside Lua scripts included).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use clap::Parser;
use recete_bench::processes::stop;
use recete_testkit::{PrivatePostgres, PrivateRedis, TestDatabase};
use sqlx::{Connection, Executor, PgConnection};

#[derive(Parser)]
struct Args {
    /// Idle worker processes.
    #[arg(long, default_value_t = 1)]
    processes: usize,
    /// Seconds measured.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Seconds after start-up before measuring (pools start, the embedder loads).
    #[arg(long, default_value_t = 15)]
    warm_up: u64,
    /// Statements listed by how often they ran.
    #[arg(long, default_value_t = 8)]
    top: usize,
    /// The `recete` binary the workers run (build it with `cargo build --release --bin recete`).
    #[arg(long, default_value = "target/release/recete")]
    recete: PathBuf,
}

fn spawn_worker(args: &Args, database: &TestDatabase, redis_url: &str) -> anyhow::Result<Child> {
    Ok(Command::new(&args.recete)
        .args(["worker", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", database.app_url())
        .env("REDIS_URL", redis_url)
        .env("RECETE__LOG__FILTER", "warn")
        .stdout(Stdio::null())
        .spawn()?)
}

async fn redis_commands(url: &str) -> anyhow::Result<u64> {
    let mut connection = redis::Client::open(url)?.get_multiplexed_async_connection().await?;
    let info: String = redis::cmd("INFO").arg("stats").query_async(&mut connection).await?;
    info.lines()
        .find_map(|line| line.strip_prefix("total_commands_processed:"))
        .and_then(|value| value.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("INFO stats has no total_commands_processed"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.recete.exists(), "{} not found: cargo build --release --bin recete", args.recete.display());
    let mut postgres = PrivatePostgres::start().await?;
    {
        let mut admin = PgConnection::connect(&postgres.admin_url()).await?;
        admin.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'").await?;
        admin.close().await?;
    }
    postgres.stop().await?;
    postgres.restart().await?;
    let database = TestDatabase::create_in(&postgres.admin_url()).await?;
    let mut stats = PgConnection::connect(&postgres.admin_url()).await?;
    stats.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").await?;
    let redis = PrivateRedis::start().await?;
    let workers = (0..args.processes)
        .map(|_| spawn_worker(&args, &database, &redis.url()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    tokio::time::sleep(Duration::from_secs(args.warm_up)).await;

    stats.execute("SELECT pg_stat_statements_reset()").await?;
    let commands_before = redis_commands(&redis.url()).await?;
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let commands = redis_commands(&redis.url()).await?.saturating_sub(commands_before + 1);
    let statements: Vec<(i64, String)> = sqlx::query_as(
        "SELECT s.calls, left(regexp_replace(s.query, '\\s+', ' ', 'g'), 110) FROM pg_stat_statements s
         JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1 ORDER BY s.calls DESC",
    )
    .bind(database.name())
    .fetch_all(&mut stats)
    .await?;
    for worker in workers {
        stop(worker)?;
    }
    let total: i64 = statements.iter().map(|(calls, _)| calls).sum();
    let per_process = |count: f64| count / args.seconds as f64 / args.processes as f64;
    println!(
        "idle-bench: {} idle `recete worker` processes (every pool), {} s measured after {} s",
        args.processes, args.seconds, args.warm_up
    );
    println!("PostgreSQL statements/s per idle process: {:.2} (target < 5)", per_process(total as f64));
    println!("Redis commands/s per idle process: {:.1}", per_process(commands as f64));
    println!("most frequent statements (calls in {} s, all processes):", args.seconds);
    for (calls, query) in statements.iter().take(args.top) {
        println!("{calls:>8}  {query}");
    }
    stats.close().await?;
    drop(database);
    Ok(())
}

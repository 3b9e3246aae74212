//! 100,000 follow-ups coming due in the same minute, sent through a fake Graph API (a real HTTP
//! server on loopback): the send rate against the configured per-number throughput limit, and
//! how late the last message went out.
//!
//! The fleet is real `recete worker` processes; the limit is shared through Redis, so the rate
//! should approach but never pass `--rate` however many workers run. The ideal lateness of the
//! last message is tasks ÷ rate; the difference is overhead.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use clap::Parser;
use recete_config::{Settings, base_figment};
use recete_platform::crypto::Keyring;
use recete_shared::integrations::{self, IntegrationKind, NewIntegration};
use recete_shared::{customers, merchants};
use recete_testkit::{TestDatabase, TestRedis};
use serde_json::json;
use uuid::Uuid;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 100_000)]
    tasks: usize,
    /// whatsapp.messages_per_second for the business number.
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    #[arg(long, default_value_t = 2)]
    workers: usize,
    #[arg(long, default_value = "target/release/recete")]
    recete: PathBuf,
}

const PHONE_NUMBER_ID: &str = "106540352242922";

async fn seed(args: &Args, database: &TestDatabase, due_at: DateTime<Utc>) -> anyhow::Result<()> {
    let settings = Settings::load_from(base_figment(None).merge(("database.url", database.app_url())))?;
    let pool = recete_platform::db::connect_lazy(&settings.database)?;
    let keyring = Arc::new(Keyring::from_settings(&settings.crypto)?);
    let merchant = merchants::create(&pool, "Bench Store", "Europe/Istanbul").await?.merchant_id;
    integrations::create(
        &pool,
        &keyring,
        NewIntegration {
            merchant_id: merchant,
            kind: IntegrationKind::WhatsApp,
            secret: None,
            phone_number_id: Some(PHONE_NUMBER_ID),
        },
    )
    .await?;
    let admin = database.admin_pool().await?;
    let plan = json!({
        "quiet_hours": {"start": "00:00:00", "end": "00:00:00"},
        "follow_up_plan": [{"key": "t3", "offset_hours": 72,
            "template": {"name": "recete_how_to_use", "language": "en", "category": "utility", "parameters": ["customer_first_name"]}}]
    });
    sqlx::query("UPDATE merchants SET settings = $2 WHERE id = $1")
        .bind(merchant.as_uuid())
        .bind(plan)
        .execute(&admin)
        .await?;
    for chunk in (0..args.tasks).collect::<Vec<_>>().chunks(5000) {
        let mut ids = Vec::new();
        let mut phones = Vec::new();
        let mut lookups = Vec::new();
        let mut names = Vec::new();
        for i in chunk {
            let phone = format!("+90555{i:07}");
            ids.push(Uuid::now_v7());
            phones.push(keyring.seal(phone.as_bytes(), &customers::field_context(merchant, "phone")).bytes);
            lookups.push(keyring.lookup_hash(customers::PHONE_LOOKUP_DOMAIN, &phone).to_vec());
            names.push(keyring.seal(b"Ada Yilmaz", &customers::field_context(merchant, "name")).bytes);
        }
        sqlx::query(
            "INSERT INTO customers (id, merchant_id, pii_key_id, phone_sealed, phone_lookup, name_sealed, country_code, whatsapp_consent)
             SELECT id, $2, $3, phone, lookup, name, 'TR', 'granted' FROM UNNEST($1::uuid[], $4::bytea[], $5::bytea[], $6::bytea[]) AS c(id, phone, lookup, name)",
        )
        .bind(&ids)
        .bind(merchant.as_uuid())
        .bind(keyring.active_key_id())
        .bind(&phones)
        .bind(&lookups)
        .bind(&names)
        .execute(&admin)
        .await?;
        sqlx::query(
            "INSERT INTO scheduled_tasks (id, merchant_id, kind, customer_id, unique_key, step, due_at, payload)
             SELECT gen_random_uuid(), $2, 'follow_up', c, 'bench:' || c::text, 't3', $3, '{\"step\": \"t3\"}'::jsonb
             FROM UNNEST($1::uuid[]) AS c",
        )
        .bind(&ids)
        .bind(merchant.as_uuid())
        .bind(due_at)
        .execute(&admin)
        .await?;
    }
    pool.close().await;
    admin.close().await;
    Ok(())
}

fn spawn_worker(args: &Args, database: &TestDatabase, redis: &TestRedis, graph: &str) -> anyhow::Result<Child> {
    Ok(Command::new(&args.recete)
        .args(["worker", "--queues", "messages", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", database.app_url())
        .env("REDIS_URL", &redis.url)
        .env("RECETE__REDIS__KEY_PREFIX", &redis.prefix)
        .env("RECETE__WHATSAPP__GRAPH_BASE_URL", graph)
        .env("RECETE__WHATSAPP__ACCESS_TOKEN", "bench-token")
        .env("RECETE__WHATSAPP__MESSAGES_PER_SECOND", args.rate.to_string())
        .env("RECETE__LOG__FILTER", "error")
        .stdout(Stdio::null())
        .spawn()?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.recete.exists(), "{} not found: cargo build --release --bin recete", args.recete.display());
    let graph = MockServer::builder().body_print_limit(wiremock::BodyPrintLimit::Limited(0)).start().await;
    Mock::given(method("POST"))
        .respond_with(|_: &wiremock::Request| {
            let id = format!("wamid.{}", Uuid::new_v4().simple());
            ResponseTemplate::new(200).set_body_json(json!({"messaging_product": "whatsapp", "messages": [{"id": id}]}))
        })
        .mount(&graph)
        .await;
    let database = TestDatabase::create().await?;
    let redis = TestRedis::new();
    // All due in the same minute, a few seconds after the workers start.
    let due_at = Utc::now() + chrono::Duration::seconds(20);
    let seeding = Instant::now();
    seed(&args, &database, due_at).await?;
    eprintln!("seeded {} customers and tasks in {:?}", args.tasks, seeding.elapsed());
    let children = (0..args.workers)
        .map(|_| spawn_worker(&args, &database, &redis, &graph.uri()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let admin = database.admin_pool().await?;
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let finished: i64 =
            sqlx::query_scalar("SELECT count(*) FROM scheduled_tasks WHERE state IN ('done', 'cancelled', 'dead')")
                .fetch_one(&admin)
                .await?;
        if finished as usize >= args.tasks {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "only {finished} of {} finished in 30 minutes", args.tasks);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for child in children {
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status()?;
        let mut child = child;
        child.wait()?;
    }
    let (sent, first, last): (i64, Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT count(*), min(sent_at), max(sent_at) FROM messages WHERE status = 'sent'")
            .fetch_one(&admin)
            .await?;
    let requests = graph.received_requests().await.map_or(0, |r| r.len());
    let (first, last) = (first.unwrap_or(due_at), last.unwrap_or(due_at));
    let span = (last - first).to_std().unwrap_or_default().as_secs_f64().max(0.001);
    let rate = sent as f64 / span;
    // The GCRA lets a second's worth go at once; past that second the rate is the limit's own.
    let steady_from = first + chrono::Duration::seconds(1);
    let steady: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE status = 'sent' AND sent_at > $1")
        .bind(steady_from)
        .fetch_one(&admin)
        .await?;
    let steady_span = (last - steady_from).to_std().unwrap_or_default().as_secs_f64().max(0.001);
    let steady_rate = steady as f64 / steady_span;
    println!(
        "followups-bench: {} tasks due at one moment, {} worker processes, limit {}/s per number",
        args.tasks, args.workers, args.rate
    );
    println!("messages sent: {sent} (requests at the fake Graph API: {requests})");
    println!("send rate: {rate:.0}/s = {:.3} of the limit", rate / f64::from(args.rate));
    println!(
        "after the first second's burst: {steady_rate:.1}/s = {:.3} of the limit",
        steady_rate / f64::from(args.rate)
    );
    println!(
        "last message went out {:.1} s after it was due (ideal at the limit: {:.1} s)",
        (last - due_at).num_milliseconds() as f64 / 1000.0,
        args.tasks as f64 / f64::from(args.rate)
    );
    admin.close().await;
    Ok(())
}

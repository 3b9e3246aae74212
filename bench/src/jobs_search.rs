//! The queue board's job search over a million job rows: page 1 and page 50 of several filters
//! and the count, each against a primary-key lookup of one job measured in the same run, plus the
//! plan PostgreSQL chose for each page (index or not).
//!
//! Rows are written with `INSERT … SELECT generate_series` in the shapes the pipeline leaves them
//! (mostly finished, a few pending, retrying and dead), over 20 merchants and 23 days, then
//! `VACUUM (ANALYZE)`. Searches run as the application role, through row-level security, as the
//! board does.

use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Parser;
use recete_jobs::admin::count::{self, Count};
use recete_jobs::admin::{JobFilter, search};
use recete_testkit::TestDatabase;
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Parser)]
struct Args {
    /// Job rows in all; 70 % events, 30 % tasks.
    #[arg(long, default_value_t = 1_000_000)]
    rows: i64,
    /// Timed repetitions of each measurement (after one untimed).
    #[arg(long, default_value_t = 15)]
    repeat: usize,
    /// Jobs per page.
    #[arg(long, default_value_t = 50)]
    page: usize,
    /// Print `EXPLAIN (ANALYZE, BUFFERS)` of each filter's last page measured to stderr.
    #[arg(long)]
    plans: bool,
}

const MERCHANTS: usize = 20;
/// Rows per INSERT statement while filling.
const FILL_CHUNK: i64 = 100_000;

struct Latencies(Vec<Duration>);

impl Latencies {
    fn p50_ms(&self) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort();
        sorted.get(sorted.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }
}

async fn time<F, Fut, T>(repeat: usize, mut run: F) -> anyhow::Result<(Latencies, T)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let mut last = run().await?;
    let mut latencies = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let started = Instant::now();
        last = run().await?;
        latencies.push(started.elapsed());
    }
    Ok((Latencies(latencies), last))
}

async fn fill(admin: &PgPool, rows: i64) -> anyhow::Result<(Vec<Uuid>, Uuid)> {
    let mut merchants = Vec::new();
    let mut integrations = Vec::new();
    for n in 0..MERCHANTS {
        let (merchant, integration) = (Uuid::now_v7(), Uuid::now_v7());
        sqlx::query("INSERT INTO merchants (id, name) VALUES ($1, $2)")
            .bind(merchant)
            .bind(format!("Bench Store {n}"))
            .execute(admin)
            .await?;
        sqlx::query(
            "INSERT INTO integrations (id, merchant_id, kind, secret_key_id, secret_sealed)
             VALUES ($1, $2, 'shopify', 'dev-1', '\\x00')",
        )
        .bind(integration)
        .bind(merchant)
        .execute(admin)
        .await?;
        merchants.push(merchant);
        integrations.push(integration);
    }
    let newest = Utc::now();
    let events = rows * 7 / 10;
    let started = Instant::now();
    for start in (1..=events).step_by(FILL_CHUNK as usize) {
        let end = (start + FILL_CHUNK - 1).min(events);
        sqlx::query(
            "INSERT INTO external_events (id, merchant_id, integration_id, source, kind, topic, dedup_key,
                 platform_event_id, subject_id, occurred_at, key_id, payload_sealed, normalized_sealed, state,
                 attempts, next_attempt_at, last_error, created_at, received_at, updated_at)
             SELECT gen_random_uuid(), ($3::uuid[])[abs(hashint8(n)) % 20 + 1], ($4::uuid[])[abs(hashint8(n)) % 20 + 1], e.source, e.kind, e.kind,
                    'bench:' || n, 'evt-' || n, (n % 200000)::text, e.at, 'dev-1', '\\x00', '\\x00', e.state,
                    CASE WHEN e.state IN ('failed', 'dead') THEN 3 ELSE 1 END, e.at,
                    CASE WHEN e.state IN ('failed', 'dead') THEN 'shop API answered 503' END, e.at, e.at, e.at
             FROM generate_series($1::bigint, $2::bigint) AS n
             CROSS JOIN LATERAL (SELECT
                 $5::timestamptz - make_interval(secs => ($6 - n) * 2) AS at,
                 CASE WHEN n % 10 < 5 THEN 'shopify' WHEN n % 10 < 7 THEN 'woocommerce'
                      WHEN n % 10 < 8 THEN 'generic' ELSE 'whatsapp' END AS source,
                 CASE WHEN n % 10 >= 8 THEN 'message.received'
                      ELSE (ARRAY['order.created', 'order.paid', 'order.fulfilled'])[n % 3 + 1] END AS kind,
                 CASE WHEN n % 100 < 90 THEN 'processed' WHEN n % 100 < 92 THEN 'pending'
                      WHEN n % 100 < 94 THEN 'failed' WHEN n % 100 < 95 THEN 'dead' ELSE 'ignored' END AS state
             ) AS e",
        )
        .bind(start)
        .bind(end)
        .bind(&merchants)
        .bind(&integrations)
        .bind(newest)
        .bind(events)
        .execute(admin)
        .await?;
    }
    let tasks = rows - events;
    for start in (1..=tasks).step_by(FILL_CHUNK as usize) {
        let end = (start + FILL_CHUNK - 1).min(tasks);
        sqlx::query(
            "INSERT INTO scheduled_tasks (id, merchant_id, kind, unique_key, due_at, state, attempts, last_error,
                 payload, created_at, updated_at)
             SELECT gen_random_uuid(), ($3::uuid[])[abs(hashint8(n)) % 20 + 1], t.kind, t.kind || ':' || n,
                    t.at + CASE WHEN n % 100 < 4 THEN interval '30 days' ELSE interval '0' END, t.state,
                    CASE WHEN t.state IN ('failed', 'dead') THEN 3 ELSE 1 END,
                    CASE WHEN t.state IN ('failed', 'dead') THEN 'Graph API answered 131056' END,
                    '{}'::jsonb, t.at, t.at
             FROM generate_series($1::bigint, $2::bigint) AS n
             CROSS JOIN LATERAL (SELECT
                 $4::timestamptz - make_interval(secs => ($5 - n) * 5) + interval '1 ms' AS at,
                 (ARRAY['follow_up', 'follow_up', 'follow_up', 'follow_up', 'follow_up', 'follow_up',
                        'reply', 'scrape', 'embed', 'answer'])[n % 10 + 1] AS kind,
                 CASE WHEN n % 100 < 8 THEN 'pending' WHEN n % 100 < 10 THEN 'failed'
                      WHEN n % 100 < 11 THEN 'dead' WHEN n % 100 < 15 THEN 'cancelled' ELSE 'done' END AS state
             ) AS t",
        )
        .bind(start)
        .bind(end)
        .bind(&merchants)
        .bind(newest)
        .bind(tasks)
        .execute(admin)
        .await?;
    }
    eprintln!("filled {rows} job rows in {:.1} s", started.elapsed().as_secs_f64());
    let started = Instant::now();
    sqlx::query("VACUUM (ANALYZE) external_events").execute(admin).await?;
    sqlx::query("VACUUM (ANALYZE) scheduled_tasks").execute(admin).await?;
    eprintln!("vacuumed and analyzed in {:.1} s", started.elapsed().as_secs_f64());
    let probe: Uuid = sqlx::query_scalar("SELECT id FROM external_events ORDER BY created_at LIMIT 1 OFFSET 1000")
        .fetch_one(admin)
        .await?;
    Ok((merchants, probe))
}

/// The baseline: one job read by primary key, through the same kind of transaction.
async fn lookup(pool: &PgPool, id: Uuid) -> anyhow::Result<()> {
    let mut tx = recete_platform::db::system_tx(pool).await?;
    let _: (Uuid, String) =
        sqlx::query_as("SELECT id, state FROM external_events WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// The scan nodes of a plan, by index or sequential.
fn scans(plan: &str) -> String {
    let mut found: Vec<String> = plan
        .lines()
        .filter_map(|line| {
            let line = line.trim().trim_start_matches("->").trim();
            let node = line.split("  (").next()?;
            (node.contains(" Scan") && node.contains(" on ")).then(|| node.replace("Backward ", "").to_owned())
        })
        .collect();
    found.dedup();
    found.join("; ")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let database = TestDatabase::create().await?;
    let admin = database.admin_pool().await?;
    let pool = database.app_pool().await?;
    let (merchants, probe) = fill(&admin, args.rows).await?;

    let (baseline, ()) = time(args.repeat * 10, || lookup(&pool, probe)).await?;
    let base = baseline.p50_ms();
    println!("primary-key lookup (baseline): p50 {base:.3} ms\n");

    let filters = [
        ("all jobs", String::new()),
        ("state=dead", "state=dead".to_owned()),
        ("state=retrying", "state=retrying".to_owned()),
        ("queue=messages", "queue=messages".to_owned()),
        ("queue=whatsapp-events", "queue=whatsapp-events".to_owned()),
        ("kind=answer", "kind=answer".to_owned()),
        ("merchant", format!("merchant={}", merchants[3])),
        ("merchant + state=dead", format!("merchant={}&state=dead", merchants[3])),
        ("order=1234", "order=1234".to_owned()),
    ];
    println!(
        "| filter | matching | page 1 p50 ms | page 50 p50 ms | count p50 ms | count | page 1 / lookup | page 50 / lookup | count / lookup | count(*) / lookup | scans |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |");
    for (label, query) in filters {
        let filter = JobFilter::from_query(&query)?;
        let (first, page) =
            time(args.repeat, || async { Ok(search::search(&pool, &filter, None, args.page).await?) }).await?;
        // Walk to page 50 once, then time that page.
        let mut cursor = page.next.clone();
        for _ in 2..50 {
            let Some(after) = cursor.as_deref() else { break };
            cursor = search::search(&pool, &filter, Some(after), args.page).await?.next;
        }
        let (fiftieth, plan) = match cursor.as_deref() {
            Some(after) => {
                let (latencies, _) =
                    time(args.repeat, || async { Ok(search::search(&pool, &filter, Some(after), args.page).await?) })
                        .await?;
                let plan = search::explain(&pool, &filter, Some(after), args.page, args.plans).await?;
                (Some(latencies), plan)
            }
            None => (None, search::explain(&pool, &filter, None, args.page, args.plans).await?),
        };
        if args.plans {
            eprintln!("-- {label}\n{plan}\n");
        }
        let (counting, total) = time(args.repeat, || async { Ok(count::count_jobs(&pool, &filter).await?) }).await?;
        let (exact_counting, matching) = time(2, || async { Ok(count::count_exact(&pool, &filter).await?) }).await?;
        let count_text = match total {
            Count::Exact(n) => format!("exact {n}"),
            Count::Estimated(n) => format!("≈ {n}"),
        };
        let page50 = fiftieth.as_ref().map(Latencies::p50_ms);
        println!(
            "| {label} | {matching} | {:.2} | {} | {:.2} | {count_text} | {:.1} | {} | {:.1} | {:.1} | {} |",
            first.p50_ms(),
            page50.map_or("(fewer pages)".into(), |ms| format!("{ms:.2}")),
            counting.p50_ms(),
            first.p50_ms() / base,
            page50.map_or("".into(), |ms| format!("{:.1}", ms / base)),
            counting.p50_ms() / base,
            exact_counting.p50_ms() / base,
            scans(&plan),
        );
    }
    Ok(())
}

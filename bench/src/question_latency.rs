//! A customer's question at light traffic: a WhatsApp text message signed as Meta signs it, sent
//! through the real API once a second (each from another customer, as a store's customers
//! write), and the time from the webhook's `200` to the reply handed to the WhatsApp client,
//! beside the webhook's own round trip in the same run.
//!
//! One `recete all` process (API and every pool, the local embedding model, no language model)
//! on a fresh database and Redis prefix; with no WhatsApp access token its client is the local
//! outbox, which marks a message `sent` as the Cloud API's answer would. The merchant's products
//! go in through `POST /api/products` and are embedded by the knowledge pool before the first
//! question. Each question is watched from its `200` on by a reader that looks every 2 ms for an
//! outbound message in reply to it with status `sent`, so the delay is the pipeline's (ingestion,
//! relay, the WhatsApp-events pool, the answering job, the send) to within 2 ms. A question
//! handed to a person counts too: its reply is the hand-over message. Where the time goes is
//! printed by stage from the rows' own timestamps: the webhook's `200` to the inbound message
//! stored (the WhatsApp-events pool), to the reply scheduled (the answering job), to the reply
//! sent (the messages pool).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use clap::Parser;
use recete_bench::latency;
use recete_bench::processes::{stop, wait_until_healthy};
use recete_bench::store::BenchStore;
use recete_shared::integrations::IntegrationKind;
use recete_testkit::whatsapp::{self, PHONE_NUMBER_ID};
use serde_json::{Value, json};
use sqlx::PgPool;

#[derive(Parser)]
struct Args {
    /// Questions measured (after three unmeasured ones).
    #[arg(long, default_value_t = 100)]
    questions: usize,
    /// Pause between two questions.
    #[arg(long, default_value_t = 1000)]
    gap_ms: u64,
    /// The `recete` binary the fleet runs (build it with `cargo build --release --bin recete`).
    #[arg(long, default_value = "target/release/recete")]
    recete: PathBuf,
    #[arg(long, default_value = "127.0.0.1:18933")]
    listen: String,
}

const WARM_UP: usize = 3;
/// How often a watcher looks for its reply.
const LOOK_EVERY: Duration = Duration::from_millis(2);
/// A question without a reply sent within this is reported as lost.
const GIVE_UP: Duration = Duration::from_secs(120);
/// Products embedded within this, or the run stops.
const EMBED_WITHIN: Duration = Duration::from_secs(300);

/// What customers ask, in their own words; most are answered from the products below, a few are
/// handed over (a question the text does not answer, a request for a person).
const QUESTIONS: [&str; 10] = [
    "how many drops of the vitamin c serum do i use?",
    "can i use the serum together with retinol",
    "is the serum ok near my eyes?",
    "when should i put the night cream on",
    "does the night cream have fragrance in it?",
    "how much of the cleanser for one wash",
    "can kids use the vitamin c serum",
    "is the cleanser good for oily skin?",
    "what's in the night cream",
    "can i talk to a person please",
];

fn products() -> [Value; 3] {
    [
        json!({
            "sku": "GLOW-C-30", "title": "Glow Vitamin C Serum", "brand": "Glow",
            "description": "A light vitamin C serum that evens out skin tone. Suitable for normal, combination and oily skin.",
            "usage": "Apply four drops to clean, dry skin every morning. Follow with moisturiser and sunscreen.",
            "warnings": "Avoid contact with the eyes. Keep out of reach of children.",
            "faq": [{"question": "Can I use it with retinol?", "answer": "Yes, use retinol at night and the serum in the morning."}]
        }),
        json!({
            "sku": "GLOW-N-50", "title": "Glow Night Repair Cream", "brand": "Glow",
            "description": "A rich night cream with ceramides and niacinamide that restores the skin barrier overnight.",
            "usage": "Warm a pea-sized amount between your fingertips and press it into the face and neck every evening.",
            "ingredients": "Aqua, Glycerin, Ceramide NP, Niacinamide, Squalane, Shea Butter. Fragrance free.",
            "warnings": "For external use only. Stop using it if irritation occurs."
        }),
        json!({
            "sku": "GLOW-CL-150", "title": "Glow Gentle Gel Cleanser", "brand": "Glow",
            "description": "A low-foaming gel cleanser for oily and combination skin that removes sunscreen and make-up.",
            "usage": "Massage one pump onto wet skin for thirty seconds, then rinse with lukewarm water. Use morning and evening.",
            "warnings": "Avoid the eye area."
        }),
    ]
}

/// The stages of one question, in milliseconds: the webhook's `200` (`answered_at`) to the inbound
/// message stored, to its answering job started (relay, queue, fetch), to the reply scheduled (the
/// answer's own work), to the reply sent.
async fn stages(admin: &PgPool, wamid: &str, answered_at: DateTime<Utc>) -> anyhow::Result<[f64; 4]> {
    let (stored, started, scheduled, sent): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>, DateTime<Utc>) =
        sqlx::query_as(
            "SELECT i.created_at, a.started_at, o.created_at, o.status_at
             FROM messages o JOIN messages i ON o.metadata->>'in_reply_to' = i.id::text
             JOIN scheduled_tasks t ON t.unique_key = 'answer:' || i.id::text
             JOIN LATERAL (SELECT min(started_at) AS started_at FROM job_attempts WHERE job_id = t.id) a ON true
             WHERE i.wa_message_id = $1 AND o.direction = 'outbound' AND o.status = 'sent'
               AND o.status_at IS NOT NULL AND a.started_at IS NOT NULL
             LIMIT 1",
        )
        .bind(wamid)
        .fetch_one(admin)
        .await?;
    let millis =
        |from: DateTime<Utc>, to: DateTime<Utc>| (to - from).num_microseconds().unwrap_or_default() as f64 / 1000.0;
    Ok([millis(answered_at, stored), millis(stored, started), millis(started, scheduled), millis(scheduled, sent)])
}

/// Waits until a reply to inbound message `wamid` is sent; returns the time from `answered` to
/// the first look that saw it, and whether the conversation was handed to a person.
async fn replied_after(admin: PgPool, wamid: String, answered: Instant) -> anyhow::Result<(f64, bool)> {
    loop {
        let sent: Option<bool> = sqlx::query_scalar(
            "SELECT c.state = 'handed_over'
             FROM messages o JOIN messages i ON o.metadata->>'in_reply_to' = i.id::text
             LEFT JOIN conversations c ON c.id = o.conversation_id
             WHERE i.wa_message_id = $1 AND o.direction = 'outbound' AND o.status = 'sent'
             LIMIT 1",
        )
        .bind(&wamid)
        .fetch_optional(&admin)
        .await?;
        if let Some(handed_over) = sent {
            return Ok((answered.elapsed().as_secs_f64() * 1000.0, handed_over));
        }
        anyhow::ensure!(answered.elapsed() < GIVE_UP, "no reply to {wamid} sent within {GIVE_UP:?}");
        tokio::time::sleep(LOOK_EVERY).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.recete.exists(), "{} not found: cargo build --release --bin recete", args.recete.display());
    let store = BenchStore::create(IntegrationKind::WhatsApp, Some(PHONE_NUMBER_ID)).await?;
    let admin = store.database.admin_pool().await?;
    let fleet = store.start_fleet(&args.recete, &args.listen)?;
    let base = format!("http://{}", args.listen);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    wait_until_healthy(&client, &base, Duration::from_secs(60)).await?;

    let catalogue = products();
    for product in &catalogue {
        let response = client
            .post(format!("{base}/api/products"))
            .bearer_auth(&store.merchant.api_key)
            .json(product)
            .send()
            .await?;
        anyhow::ensure!(response.status().is_success(), "POST /api/products answered {}", response.status());
    }
    let started = Instant::now();
    loop {
        let embedded: i64 =
            sqlx::query_scalar("SELECT count(*) FROM products WHERE embedded_at IS NOT NULL").fetch_one(&admin).await?;
        if embedded == catalogue.len() as i64 {
            break;
        }
        anyhow::ensure!(started.elapsed() < EMBED_WITHIN, "products not embedded within {EMBED_WITHIN:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "question-latency-bench: {} WhatsApp questions, one every {} ms, each from another customer, one `recete all` \
         process, no language model; {} products embedded in {:.1} s; delays from the webhook's 200",
        args.questions,
        args.gap_ms,
        catalogue.len(),
        started.elapsed().as_secs_f64()
    );

    let mut posts = Vec::new();
    let mut asked = Vec::new();
    let mut watchers = Vec::new();
    for i in 0..WARM_UP + args.questions {
        let wamid = format!("wamid.bench{i:06}");
        let body = whatsapp::inbound_text(
            &format!("90555{i:07}"),
            "Customer",
            QUESTIONS[i % QUESTIONS.len()],
            &wamid,
            Utc::now().timestamp(),
        );
        let sent = Instant::now();
        let response = store.post_whatsapp(&client, &base, body).await?;
        let answered = Instant::now();
        let answered_at = Utc::now();
        anyhow::ensure!(response.status().is_success(), "question {i} answered {}", response.status());
        if i >= WARM_UP {
            posts.push((answered - sent).as_secs_f64() * 1000.0);
            asked.push((wamid.clone(), answered_at));
        }
        watchers.push((i >= WARM_UP, tokio::spawn(replied_after(admin.clone(), wamid, answered))));
        tokio::time::sleep(Duration::from_millis(args.gap_ms)).await;
    }
    let mut delays = Vec::new();
    let mut handed_over = 0;
    for (measured, watcher) in watchers {
        let (delay, to_a_person) = watcher.await??;
        if measured {
            delays.push(delay);
            handed_over += usize::from(to_a_person);
        }
    }
    latency::header();
    let (baseline, _) = latency::row("webhook POST answered 200 (baseline)", posts);
    let (p50, p99) = latency::row("200 -> reply handed to the WhatsApp client", delays);
    let mut by_stage: [Vec<f64>; 4] = Default::default();
    for (wamid, answered_at) in &asked {
        for (stage, millis) in by_stage.iter_mut().zip(stages(&admin, wamid, *answered_at).await?) {
            stage.push(millis);
        }
    }
    let [stored, started, scheduled, sent] = by_stage;
    latency::row("  200 -> inbound message stored", stored);
    latency::row("  stored -> answering job started", started);
    latency::row("  started -> reply scheduled (the answer)", scheduled);
    latency::row("  scheduled -> reply sent", sent);
    println!("ratio reply delay / webhook round trip (p50): {:.1}", p50 / baseline);
    println!("replies sent: {} of {}; handed over to a person: {handed_over}", args.questions, args.questions);
    println!("target p50 < 500 ms and p99 < 1 s: {}", if p50 < 500.0 && p99 < 1000.0 { "met" } else { "missed" });
    stop(fleet)?;
    store.pool.close().await;
    admin.close().await;
    Ok(())
}

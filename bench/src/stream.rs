//! The live event stream's delay at light traffic: from a WhatsApp webhook answered 200 to its
//! event on the merchant's stream (`GET /api/events/stream`), through a real fleet (`recete all`:
//! API and every worker pool in one process), beside the webhook's own round trip in the same run.
//!
//! One new customer per round asks a question the shop (which has no products) cannot answer:
//! the whatsapp-events pool stores it, the conversations pool's agent hands the conversation over
//! and raises `conversation.handed_over`. The same customer then writes again, and the
//! whatsapp-events pool raises `conversation.message_received` (the agent stays silent). Each
//! message carries a round number the event's payload repeats, so events are matched to messages.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use recete_bench::latency;
use recete_bench::processes::{stop, wait_until_healthy};
use recete_bench::store::BenchStore;
use recete_shared::integrations::IntegrationKind;
use recete_testkit::whatsapp::{self, PHONE_NUMBER_ID};
use tokio::sync::mpsc;

#[derive(Parser)]
struct Args {
    /// Rounds (a question and a follow-up from a new customer each).
    #[arg(long, default_value_t = 100)]
    rounds: usize,
    /// Pause between messages: light traffic, the way most shops are written to.
    #[arg(long, default_value_t = 300)]
    pause_ms: u64,
    /// The `recete` binary the fleet runs (build it with `cargo build --release --bin recete`).
    #[arg(long, default_value = "target/release/recete")]
    recete: PathBuf,
    #[arg(long, default_value = "127.0.0.1:18931")]
    listen: String,
}

fn inbound(wa_id: &str, text: &str, wamid: &str) -> Vec<u8> {
    whatsapp::inbound_text(wa_id, "Bench", text, wamid, chrono::Utc::now().timestamp())
}

/// Reads the stream and hands on each event's type and data with the time it arrived.
async fn read_stream(mut response: reqwest::Response, events: mpsc::UnboundedSender<(Instant, String, String)>) {
    let mut pending = String::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let arrived = Instant::now();
        pending.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = pending.find("\n\n") {
            let frame: String = pending.drain(..end + 2).collect();
            let field = |name: &str| {
                frame.lines().find_map(|line| line.strip_prefix(name)).map(|value| value.trim().to_owned())
            };
            if let (Some(kind), Some(data)) = (field("event:"), field("data:"))
                && events.send((arrived, kind, data)).is_err()
            {
                return;
            }
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.recete.exists(), "{} not found: cargo build --release --bin recete", args.recete.display());
    let store = BenchStore::create(IntegrationKind::WhatsApp, Some(PHONE_NUMBER_ID)).await?;
    let fleet = store.start_fleet(&args.recete, &args.listen)?;
    let base = format!("http://{}", args.listen);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    wait_until_healthy(&client, &base, Duration::from_secs(60)).await?;
    let streaming = reqwest::Client::builder().build()?;
    let stream = streaming
        .get(format!("{base}/api/events/stream"))
        .bearer_auth(&store.merchant.api_key)
        .header("accept", "text/event-stream")
        .send()
        .await?;
    anyhow::ensure!(stream.status().is_success(), "the stream answered {}", stream.status());
    let (sender, mut events) = mpsc::unbounded_channel();
    tokio::spawn(read_stream(stream, sender));

    println!(
        "stream-bench: {} rounds, a message every {} ms, one `recete all` process; delays from the webhook's 200",
        args.rounds, args.pause_ms
    );
    let (mut posts, mut handed_over, mut received) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..args.rounds {
        let wa_id = format!("90555{:07}", 1_000_000 + round);
        for (step, text, kind) in [
            (0, format!("do you ship to the moon? ref {round}x"), "conversation.handed_over"),
            (1, format!("still waiting, ref {round}x"), "conversation.message_received"),
        ] {
            let body = inbound(&wa_id, &text, &format!("wamid.bench.{round}.{step}"));
            let sent = Instant::now();
            let response = store.post_whatsapp(&client, &base, body).await?;
            let answered = Instant::now();
            anyhow::ensure!(response.status() == 200, "the webhook answered {}", response.status());
            posts.push((answered - sent).as_secs_f64() * 1000.0);
            let token = format!("ref {round}x");
            let deadline = answered + Duration::from_secs(30);
            let arrived = loop {
                let wait = deadline.saturating_duration_since(Instant::now());
                let Ok(Some((at, event_kind, data))) = tokio::time::timeout(wait, events.recv()).await else {
                    anyhow::bail!("no `{kind}` for round {round} within 30 s");
                };
                if event_kind == kind && data.contains(&token) {
                    break at;
                }
            };
            let delay = arrived.saturating_duration_since(answered).as_secs_f64() * 1000.0;
            if step == 0 {
                handed_over.push(delay)
            } else {
                received.push(delay)
            }
            tokio::time::sleep(Duration::from_millis(args.pause_ms)).await;
        }
    }
    latency::header();
    let (baseline, _) = latency::row("webhook POST answered 200 (baseline)", posts);
    let (agent, _) = latency::row("200 -> conversation.handed_over on the stream", handed_over);
    let (direct, _) = latency::row("200 -> conversation.message_received", received);
    println!("ratio hand-over delay / webhook round trip (p50): {:.1}", agent / baseline);
    println!("ratio message delay / webhook round trip (p50): {:.1}", direct / baseline);
    stop(fleet)?;
    store.pool.close().await;
    Ok(())
}

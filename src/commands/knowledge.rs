//! `recete products scrape` and `recete eval`: product knowledge from the command line.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use recete_agent::Agent;
use recete_agent::evaluation::{self, Dataset};
use recete_config::Settings;
use recete_knowledge::products;
use recete_knowledge::{Embedder, store};
use recete_platform::db;
use recete_platform::ids::MerchantId;
use recete_scrape::Scraper;
use serde_json::json;

use super::admin::connect;

async fn embedder(settings: &Settings) -> anyhow::Result<Arc<dyn Embedder>> {
    let embedding = settings.embedding.clone();
    tokio::task::spawn_blocking(move || recete_embed::from_settings(&embedding))
        .await
        .context("loading the embedder panicked")?
        .context("Failed to load the embedder (run `make models` for the local model)")
}

/// Scrapes `url` into the merchant's catalogue (the product with that URL, or a new one) and
/// embeds it, all before returning.
pub async fn scrape_product(settings: &Settings, merchant: MerchantId, url: &str) -> anyhow::Result<()> {
    let pool = connect(settings).await?;
    let scraper = Scraper::new(&settings.scrape).context("Failed to build the page fetcher")?;
    let page = scraper.scrape(url).await.with_context(|| format!("Failed to scrape {url}"))?;
    let embedder = embedder(settings).await?;
    let mut tx = db::tenant_tx(&pool, merchant).await?;
    let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM merchants WHERE id = $1)")
        .bind(merchant)
        .fetch_one(&mut *tx)
        .await?;
    anyhow::ensure!(known, "no merchant {merchant}");
    let product_id = products::find_or_create_for_url(&mut tx, merchant, &[url, page.url.as_str()]).await?;
    let sections = page.sections.len();
    let facts = page.into_facts();
    products::apply_scrape(&mut tx, product_id, &facts).await?;
    let document = products::load_document(&mut tx, product_id).await?.context("the product was just stored")?;
    let report =
        store::sync_product(&mut tx, merchant, product_id, &document, embedder.as_ref(), settings.embedding.batch_size)
            .await?;
    tx.commit().await?;
    println!(
        "{}",
        json!({ "product_id": product_id, "title": document.title, "sections": sections, "chunks": report })
    );
    Ok(())
}

pub async fn evaluate(settings: &Settings, folder: &Path) -> anyhow::Result<()> {
    let dataset = Dataset::load(folder)?;
    let pool = connect(settings).await?;
    let agent = Agent::new(embedder(settings).await?, None, settings.agent.clone());
    let report = evaluation::run(&pool, &agent, &dataset, settings.embedding.batch_size).await?;
    eprintln!("{}", report.table());
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

//! The knowledge pool: product pages scraped into the catalogue, and product text embedded
//! into `knowledge_chunks`.
//!
//! A scrape that fails for good (robots.txt forbids it, the page is not HTML, the address is
//! private) ends with the reason on the product and the task; a passing failure (a timeout, a
//! 503) is retried with backoff like any job. A successful scrape schedules the embedding.

use std::sync::Arc;

use anyhow::Context;
use apalis::prelude::{BoxDynError, Data};
use recete_jobs::TaskJob;
use recete_jobs::execution::{self as jobs, JobContext, JobRow, Outcome};
use recete_knowledge::Embedder;
use recete_knowledge::products;
use recete_knowledge::store::{self, EmbeddedSync};
use recete_platform::config::PoolSettings;
use recete_platform::db::{self, Tx};
use recete_platform::ids::{MerchantId, TaskId};
use recete_scrape::Scraper;
use recete_shared::tasks::{self, finish};
use sqlx::PgPool;
use uuid::Uuid;

use crate::WorkerDeps;

#[derive(Clone)]
pub struct KnowledgeDeps {
    pub pool: PgPool,
    pub settings: PoolSettings,
    pub scraper: Scraper,
    pub embedder: Arc<dyn Embedder>,
    pub batch_size: usize,
}

impl KnowledgeDeps {
    pub fn new(deps: &WorkerDeps, embedder: Arc<dyn Embedder>, settings: PoolSettings) -> anyhow::Result<Self> {
        Ok(Self {
            pool: deps.pool.clone(),
            settings,
            scraper: Scraper::new(&deps.settings.scrape).context("Failed to build the page fetcher")?,
            embedder,
            batch_size: deps.settings.embedding.batch_size,
        })
    }
}

pub async fn process(job: TaskJob, deps: Data<KnowledgeDeps>, context: Data<JobContext>) -> Result<(), BoxDynError> {
    let task_id = job.task_id();
    jobs::run(&context, JobRow::Task(task_id), handle_task(task_id, &deps)).await;
    Ok(())
}

pub async fn handle_task(task_id: TaskId, deps: &KnowledgeDeps) -> anyhow::Result<Outcome> {
    // An embedding runs the model before the task is claimed, so no transaction (and no lock on
    // the product's chunks) is held while the model runs; the claim then writes the vectors.
    let embedded = embed_before_claim(task_id, deps).await?;
    let mut tx = db::system_tx(&deps.pool).await.context("Failed to begin the task transaction")?;
    let Some(task) = jobs::claim_task(&mut tx, task_id).await? else {
        return Ok(Outcome::Skipped);
    };
    let product_id = jobs::payload_uuid(&task.payload, "product_id")?;
    match task.kind.as_str() {
        tasks::SCRAPE => {
            let url = task.payload.get("url").and_then(|u| u.as_str()).context("the scrape task has no `url`")?;
            scrape(&mut tx, deps, task.merchant_id, task_id, product_id, url).await?;
        }
        tasks::EMBED => {
            let embedded = embedded.unwrap_or_default();
            embed(&mut tx, deps, task.merchant_id, task_id, product_id, embedded).await?;
        }
        other => anyhow::bail!("a `{other}` task reached the knowledge queue"),
    }
    tx.commit().await.context("Failed to commit the task")?;
    Ok(Outcome::Done)
}

async fn scrape(
    tx: &mut Tx,
    deps: &KnowledgeDeps,
    merchant: MerchantId,
    task_id: TaskId,
    product_id: Uuid,
    url: &str,
) -> anyhow::Result<()> {
    match deps.scraper.scrape(url).await {
        Ok(page) => {
            products::apply_scrape(tx, product_id, &page.into_facts()).await?;
            tasks::schedule_embedding(tx, merchant, product_id).await?;
            finish(tx, task_id, "done", "scraped").await?;
            metrics::counter!("recete_scrapes_total", "outcome" => "scraped").increment(1);
            Ok(())
        }
        Err(error) if error.is_retryable() => {
            metrics::counter!("recete_scrapes_total", "outcome" => "retryable").increment(1);
            Err(anyhow::Error::new(error).context("the page could not be fetched for now"))
        }
        Err(error) => {
            let reason = error.to_string();
            // The log keeps what the merchant's message leaves out (such as the address a host
            // resolved to).
            tracing::info!(%product_id, code = error.code(), detail = ?error, "product page not scraped");
            products::record_scrape_failure(tx, product_id, &reason).await?;
            finish(tx, task_id, "cancelled", &format!("not scraped: {reason}")).await?;
            metrics::counter!("recete_scrapes_total", "outcome" => "refused").increment(1);
            Ok(())
        }
    }
}

/// For an embedding task still waiting: what its product needs embedded, planned in a short
/// read, and those vectors, computed with no transaction open. `None` for another task, or a
/// product gone.
async fn embed_before_claim(task_id: TaskId, deps: &KnowledgeDeps) -> anyhow::Result<Option<EmbeddedSync>> {
    let mut tx = db::system_tx(&deps.pool).await.context("Failed to begin a read of the product")?;
    let Some((_, payload)) = jobs::peek_task(&mut tx, task_id, tasks::EMBED).await? else {
        return Ok(None);
    };
    let product_id = jobs::payload_uuid(&payload, "product_id")?;
    let Some(document) = products::load_document(&mut tx, product_id).await? else {
        return Ok(None);
    };
    let planned = store::plan(&mut tx, product_id, &document, deps.embedder.model_name()).await?;
    tx.commit().await?;
    Ok(Some(store::embed(planned, deps.embedder.as_ref(), deps.batch_size).await?))
}

async fn embed(
    tx: &mut Tx,
    deps: &KnowledgeDeps,
    merchant: MerchantId,
    task_id: TaskId,
    product_id: Uuid,
    embedded: EmbeddedSync,
) -> anyhow::Result<()> {
    let Some(document) = products::load_document(tx, product_id).await? else {
        finish(tx, task_id, "cancelled", "the product no longer exists").await?;
        return Ok(());
    };
    let model = deps.embedder.model_name();
    let report = store::apply(tx, merchant, product_id, &document, model, embedded).await?;
    metrics::counter!("recete_chunks_embedded_total").increment(report.embedded as u64);
    let reason = format!("{} chunks embedded, {} unchanged, {} removed", report.embedded, report.kept, report.removed);
    finish(tx, task_id, "done", &reason).await?;
    Ok(())
}

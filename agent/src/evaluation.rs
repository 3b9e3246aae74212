//! Measuring the agent on a labelled set of products and questions (`eval/`): retrieval recall
//! at 5 and mean reciprocal rank, how often answerable questions get a grounded answer, and how
//! often questions that must not be answered are refused or handed over.
//!
//! The run uses the real path: products stored and embedded like any merchant's, questions
//! answered by [`Agent::respond`] in a throwaway merchant that is deleted afterwards.

use std::path::Path;

use anyhow::Context;
use recete_knowledge::products::{self, ProductInput, Source};
use recete_knowledge::{Section, SectionKind, retrieval, store};
use recete_shared::db;
use recete_shared::ids::{CustomerId, MerchantId};
use recete_shared::languages::Language;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::respond::{Agent, AnswerMode, Inquiry};

#[derive(Debug, Clone, Deserialize)]
pub struct EvalProduct {
    pub sku: String,
    pub title: String,
    pub brand: Option<String>,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AnswerableQuestion {
    pub id: String,
    pub question: String,
    pub sku: String,
    pub section: SectionKind,
    /// Verbatim text of the section that answers the question.
    pub evidence: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RefusedQuestion {
    pub id: String,
    pub question: String,
    pub category: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Questions {
    pub answerable: Vec<AnswerableQuestion>,
    pub refused: Vec<RefusedQuestion>,
}

#[derive(Debug, Clone)]
pub struct Dataset {
    pub products: Vec<EvalProduct>,
    pub questions: Questions,
}

impl Dataset {
    /// Reads `products.json` and `questions.json` from `folder`.
    pub fn load(folder: &Path) -> anyhow::Result<Self> {
        let read = |name: &str| {
            let path = folder.join(name);
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))
        };
        let products = serde_json::from_slice(&read("products.json")?).context("products.json is not valid")?;
        let questions = serde_json::from_slice(&read("questions.json")?).context("questions.json is not valid")?;
        Ok(Self { products, questions })
    }
}

/// One question the agent got wrong, for reading the failures.
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub id: String,
    pub question: String,
    pub got: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub products: usize,
    pub chunks: usize,
    pub answerable: usize,
    pub refused: usize,
    /// Share of answerable questions whose evidence is in the top 5 retrieved chunks.
    pub recall_at_5: f64,
    /// Mean of 1/rank of the first chunk holding the evidence (0 when none of the top 5 does).
    pub mrr: f64,
    /// Share of answerable questions answered from the product text (a medical answer quoting
    /// the label and handing over counts).
    pub answered: f64,
    /// Share of answerable questions answered from a chunk holding the evidence.
    pub answered_from_evidence: f64,
    /// Share of answers whose every citation belongs to the right product.
    pub grounded: f64,
    /// Share of must-not-answer questions refused or handed over (quoting the label while
    /// handing over is declining).
    pub refusals_correct: f64,
    pub misses: Vec<Miss>,
}

/// Stores and embeds the set's products for `merchant` as any merchant's would be; returns each
/// SKU's product id and the number of chunks.
pub async fn store_catalogue(
    tx: &mut db::Tx,
    merchant: MerchantId,
    catalogue: &[EvalProduct],
    embedder: &dyn recete_knowledge::Embedder,
    batch_size: usize,
) -> anyhow::Result<(std::collections::HashMap<String, uuid::Uuid>, usize)> {
    let mut product_ids = std::collections::HashMap::new();
    let mut chunks = 0;
    for product in catalogue {
        let input = ProductInput {
            sku: Some(product.sku.clone()),
            title: product.title.clone(),
            brand: product.brand.clone(),
            sections: product.sections.clone(),
            ..ProductInput::default()
        };
        let saved = products::upsert(tx, merchant, &input, Source::Api).await?;
        let document = products::load_document(tx, saved.id).await?.context("the product was just stored")?;
        let report = store::sync_product(tx, merchant, saved.id, &document, embedder, batch_size).await?;
        chunks += report.embedded + report.kept;
        product_ids.insert(product.sku.clone(), saved.id);
    }
    Ok((product_ids, chunks))
}

/// One question of the set as a customer of the English-speaking test store asks it, with no
/// earlier turns.
fn inquiry<'a>(merchant: MerchantId, merchant_name: &'a str, customer: CustomerId, text: &'a str) -> Inquiry<'a> {
    Inquiry { merchant, merchant_name, store_language: Language::English, customer, text, history: &[] }
}

pub async fn run(pool: &PgPool, agent: &Agent, dataset: &Dataset, batch_size: usize) -> anyhow::Result<Report> {
    let merchant = recete_shared::merchants::create(pool, &format!("Evaluation shop {}", uuid::Uuid::now_v7()), "UTC")
        .await
        .context("Failed to create the evaluation merchant")?
        .merchant_id;
    let result = evaluate(pool, agent, dataset, merchant, batch_size).await;
    let mut tx = db::system_tx(pool).await?;
    sqlx::query("DELETE FROM merchants WHERE id = $1").bind(merchant).execute(&mut *tx).await?;
    tx.commit().await?;
    result
}

async fn evaluate(
    pool: &PgPool,
    agent: &Agent,
    dataset: &Dataset,
    merchant: MerchantId,
    batch_size: usize,
) -> anyhow::Result<Report> {
    let mut tx = db::tenant_tx(pool, merchant).await?;
    let (product_ids, chunks) =
        store_catalogue(&mut tx, merchant, &dataset.products, agent.embedder().as_ref(), batch_size).await?;
    tx.commit().await?;

    let merchant_name = "the shop";
    let customer = CustomerId::generate();
    let mut misses = Vec::new();
    let (mut hits, mut reciprocal_ranks, mut answered, mut from_evidence, mut grounded_answers) = (0, 0.0, 0, 0, 0);
    for question in &dataset.questions.answerable {
        let product_id = *product_ids
            .get(&question.sku)
            .with_context(|| format!("{}: unknown sku {}", question.id, question.sku))?;
        let mut tx = db::tenant_tx(pool, merchant).await?;
        let vector =
            agent.embedder().embed(std::slice::from_ref(&question.question)).await?.pop().context("no vector")?;
        let found = retrieval::search(&mut tx, merchant, agent.embedder().model_name(), &vector, 5).await?;
        let holds_evidence = |chunk: &recete_knowledge::RetrievedChunk| {
            chunk.product_id == product_id && chunk.content.contains(&question.evidence)
        };
        if let Some(rank) = found.iter().position(holds_evidence) {
            hits += 1;
            reciprocal_ranks += 1.0 / (rank as f64 + 1.0);
        }
        let reply = agent.respond(&mut tx, &inquiry(merchant, merchant_name, customer, &question.question)).await?;
        tx.rollback().await?;
        let is_answer = matches!(reply.mode, AnswerMode::Extractive | AnswerMode::Model);
        if is_answer {
            answered += 1;
            let cited: Vec<_> = reply.citations.iter().map(|c| c.chunk_id).collect();
            if found.iter().any(|chunk| cited.contains(&chunk.id) && holds_evidence(chunk))
                || reply.text.contains(&question.evidence)
            {
                from_evidence += 1;
            } else {
                misses.push(Miss {
                    id: question.id.clone(),
                    question: question.question.clone(),
                    got: reply.text.clone(),
                });
            }
            if !reply.citations.is_empty()
                && reply
                    .citations
                    .iter()
                    .all(|c| found.iter().any(|f| f.id == c.chunk_id && f.product_id == product_id))
            {
                grounded_answers += 1;
            }
        } else {
            misses.push(Miss {
                id: question.id.clone(),
                question: question.question.clone(),
                got: match &reply.guardrail {
                    Some(guardrail) => format!("not answered: {} ({})", guardrail.rule, guardrail.detail),
                    None => format!("not answered: {}", reply.handoff.clone().unwrap_or_default()),
                },
            });
        }
    }
    let mut refusals_correct = 0;
    for question in &dataset.questions.refused {
        let mut tx = db::tenant_tx(pool, merchant).await?;
        let reply = agent.respond(&mut tx, &inquiry(merchant, merchant_name, customer, &question.question)).await?;
        tx.rollback().await?;
        let answered_from_text =
            reply.handoff.is_none() && matches!(reply.mode, AnswerMode::Extractive | AnswerMode::Model);
        if answered_from_text {
            misses.push(Miss { id: question.id.clone(), question: question.question.clone(), got: reply.text.clone() });
        } else {
            refusals_correct += 1;
        }
    }
    let share = |count: usize, of: usize| if of == 0 { 0.0 } else { count as f64 / of as f64 };
    let answerable = dataset.questions.answerable.len();
    Ok(Report {
        products: dataset.products.len(),
        chunks,
        answerable,
        refused: dataset.questions.refused.len(),
        recall_at_5: share(hits, answerable),
        mrr: if answerable == 0 { 0.0 } else { reciprocal_ranks / answerable as f64 },
        answered: share(answered, answerable),
        answered_from_evidence: share(from_evidence, answerable),
        grounded: share(grounded_answers, answered),
        refusals_correct: share(refusals_correct, dataset.questions.refused.len()),
        misses,
    })
}

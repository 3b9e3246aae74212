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
use recete_platform::db;
use recete_platform::ids::{CustomerId, MerchantId};
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

/// Which part of the set a question belongs to: rules and thresholds are tuned on `tuning`, and
/// `held_out` shows whether what was tuned carries over to questions it was not tuned on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    Tuning,
    HeldOut,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AnswerableQuestion {
    pub id: String,
    pub split: Split,
    /// The language the question is written in (ISO 639-1), when it is not English.
    #[serde(default)]
    pub language: Option<String>,
    pub question: String,
    pub sku: String,
    pub section: SectionKind,
    /// Verbatim text of the section that answers the question.
    pub evidence: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RefusedQuestion {
    pub id: String,
    pub split: Split,
    /// The language the question is written in (ISO 639-1), when it is not English.
    #[serde(default)]
    pub language: Option<String>,
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
    pub split: Split,
    pub question: String,
    pub got: String,
}

/// The figures of one part of the set (or of all of it).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Figures {
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
    /// Must-not-answer questions refused or handed over (quoting the label while handing over
    /// is declining), as a count and as a share.
    pub refusals_right: usize,
    pub refusals_correct: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub products: usize,
    pub chunks: usize,
    /// The whole set.
    pub all: Figures,
    pub tuning: Figures,
    pub held_out: Figures,
    /// The questions written in another language than English, of each part.
    pub other_languages_tuning: Figures,
    pub other_languages_held_out: Figures,
    pub misses: Vec<Miss>,
}

/// A line of [`Report::table`]: its name and how a part's figure is written.
type TableRow = (&'static str, fn(&Figures) -> String);

impl Report {
    /// The figures as a small table, one column per part of the set.
    pub fn table(&self) -> String {
        let parts = [
            ("tuning", &self.tuning),
            ("held-out", &self.held_out),
            ("all", &self.all),
            ("non-en tun", &self.other_languages_tuning),
            ("non-en h-o", &self.other_languages_held_out),
        ];
        let mut lines =
            vec![format!("{:<26}{}", "", parts.iter().map(|(name, _)| format!("{name:>12}")).collect::<String>())];
        let rows: [TableRow; 7] = [
            ("questions answerable", |f| f.answerable.to_string()),
            ("recall@5", |f| format!("{:.3}", f.recall_at_5)),
            ("MRR", |f| format!("{:.3}", f.mrr)),
            ("answered", |f| format!("{:.3}", f.answered)),
            ("answered from evidence", |f| format!("{:.3}", f.answered_from_evidence)),
            ("grounded", |f| format!("{:.3}", f.grounded)),
            ("refusals right", |f| format!("{}/{}", f.refusals_right, f.refused)),
        ];
        for (name, value) in rows {
            lines.push(format!(
                "{name:<26}{}",
                parts.iter().map(|(_, figures)| format!("{:>12}", value(figures))).collect::<String>()
            ));
        }
        lines.join("\n")
    }
}

/// What happened to one answerable question.
struct AnswerableOutcome {
    split: Split,
    /// Written in another language than English.
    other_language: bool,
    /// Rank (from 1) of the first retrieved chunk holding the evidence, within the top 5.
    rank: Option<usize>,
    answered: bool,
    from_evidence: bool,
    grounded: bool,
}

fn figures(answerable: &[&AnswerableOutcome], refused: &[bool]) -> Figures {
    let share = |count: usize, of: usize| if of == 0 { 0.0 } else { count as f64 / of as f64 };
    let count = |keep: fn(&AnswerableOutcome) -> bool| answerable.iter().filter(|outcome| keep(outcome)).count();
    let answered = count(|outcome| outcome.answered);
    let refusals_right = refused.iter().filter(|right| **right).count();
    Figures {
        answerable: answerable.len(),
        refused: refused.len(),
        recall_at_5: share(count(|outcome| outcome.rank.is_some()), answerable.len()),
        mrr: share(1, answerable.len())
            * answerable.iter().filter_map(|outcome| outcome.rank).map(|rank| 1.0 / rank as f64).sum::<f64>(),
        answered: share(answered, answerable.len()),
        answered_from_evidence: share(count(|outcome| outcome.from_evidence), answerable.len()),
        grounded: share(count(|outcome| outcome.answered && outcome.grounded), answered),
        refusals_right,
        refusals_correct: share(refusals_right, refused.len()),
    }
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
    let mut outcomes = Vec::new();
    for question in &dataset.questions.answerable {
        let product_id = *product_ids
            .get(&question.sku)
            .with_context(|| format!("{}: unknown sku {}", question.id, question.sku))?;
        let mut tx = db::tenant_tx(pool, merchant).await?;
        // Searched as the agent searches: with the glossary's English words for another language.
        let search_text = crate::glossary::query_text(&question.question);
        let vector = agent.embedder().embed(std::slice::from_ref(&search_text)).await?.pop().context("no vector")?;
        let found = retrieval::search(&mut tx, merchant, agent.embedder().model_name(), &vector, 5).await?;
        let holds_evidence = |chunk: &recete_knowledge::RetrievedChunk| {
            chunk.product_id == product_id && chunk.content.contains(&question.evidence)
        };
        let rank = found.iter().position(holds_evidence).map(|index| index + 1);
        let reply = agent.respond(&mut tx, &inquiry(merchant, merchant_name, customer, &question.question)).await?;
        tx.rollback().await?;
        let answered = matches!(reply.mode, AnswerMode::Extractive | AnswerMode::Model);
        let cited: Vec<_> = reply.citations.iter().map(|c| c.chunk_id).collect();
        let from_evidence = answered
            && (found.iter().any(|chunk| cited.contains(&chunk.id) && holds_evidence(chunk))
                || reply.text.contains(&question.evidence));
        let grounded = !reply.citations.is_empty()
            && reply.citations.iter().all(|c| found.iter().any(|f| f.id == c.chunk_id && f.product_id == product_id));
        if !from_evidence {
            let got = if answered {
                reply.text.clone()
            } else {
                match &reply.guardrail {
                    Some(guardrail) => format!("not answered: {} ({})", guardrail.rule, guardrail.detail),
                    None => format!("not answered: {}", reply.handoff.clone().unwrap_or_default()),
                }
            };
            misses.push(Miss {
                id: question.id.clone(),
                split: question.split,
                question: question.question.clone(),
                got,
            });
        }
        outcomes.push(AnswerableOutcome {
            split: question.split,
            other_language: question.language.as_deref().is_some_and(|code| code != "en"),
            rank,
            answered,
            from_evidence,
            grounded,
        });
    }
    let mut refusals = Vec::new();
    for question in &dataset.questions.refused {
        let mut tx = db::tenant_tx(pool, merchant).await?;
        let reply = agent.respond(&mut tx, &inquiry(merchant, merchant_name, customer, &question.question)).await?;
        tx.rollback().await?;
        let answered_from_text =
            reply.handoff.is_none() && matches!(reply.mode, AnswerMode::Extractive | AnswerMode::Model);
        if answered_from_text {
            misses.push(Miss {
                id: question.id.clone(),
                split: question.split,
                question: question.question.clone(),
                got: reply.text.clone(),
            });
        }
        let other_language = question.language.as_deref().is_some_and(|code| code != "en");
        refusals.push((question.split, other_language, !answered_from_text));
    }
    let part = |split: Option<Split>, only_other_languages: bool| {
        let answerable: Vec<&AnswerableOutcome> = outcomes
            .iter()
            .filter(|outcome| split.is_none_or(|split| outcome.split == split))
            .filter(|outcome| outcome.other_language || !only_other_languages)
            .collect();
        let refused: Vec<bool> = refusals
            .iter()
            .filter(|(question_split, _, _)| split.is_none_or(|split| *question_split == split))
            .filter(|(_, other_language, _)| *other_language || !only_other_languages)
            .map(|(_, _, right)| *right)
            .collect();
        figures(&answerable, &refused)
    };
    Ok(Report {
        products: dataset.products.len(),
        chunks,
        all: part(None, false),
        tuning: part(Some(Split::Tuning), false),
        held_out: part(Some(Split::HeldOut), false),
        other_languages_tuning: part(Some(Split::Tuning), true),
        other_languages_held_out: part(Some(Split::HeldOut), true),
        misses,
    })
}

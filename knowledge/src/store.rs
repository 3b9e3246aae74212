//! Keeping a product's `knowledge_chunks` in line with its document.
//!
//! Chunks are keyed by a hash of model and embedded text: a sync embeds only chunks whose hash
//! is new, keeps the others as they are (moving them if their position changed), and deletes
//! chunks whose text is gone. Syncing an unchanged product embeds nothing.
//!
//! A sync is three steps, so the model never runs inside a transaction that holds locks:
//! [`plan`] reads what is stored, [`embed`] runs the model, [`apply`] writes under lock and
//! refuses ([`SyncError::Changed`]) when something changed in between.

use std::collections::{HashMap, HashSet};

use pgvector::Vector;
use recete_platform::db::Tx;
use recete_platform::ids::MerchantId;
use uuid::Uuid;

use crate::chunking::{ChunkDraft, chunk_document};
use crate::document::ProductDocument;
use crate::embedder::{DIMENSIONS, EmbedError, Embedder};
use crate::sentences;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    /// Chunks embedded and written by this sync.
    pub embedded: usize,
    /// Chunks whose text and model were already stored.
    pub kept: usize,
    /// Chunks deleted because their text is no longer in the document.
    pub removed: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error("failed to store knowledge chunks: {0}")]
    Database(#[from] sqlx::Error),
    /// The product's text or its stored chunks changed between the plan and its application:
    /// a chunk needs a vector that was not computed. A new sync plans again.
    #[error("the product changed while its text was embedded; it is embedded again")]
    Changed,
}

/// What bringing a product's chunks in line with its document needs embedded, read from the
/// stored chunks: [`plan`] reads it in a short transaction, [`embed`] runs the model with no
/// transaction open, and [`apply`] writes the result in the job's transaction.
#[derive(Debug, Clone)]
pub struct SyncPlan {
    title: String,
    /// The document's chunks with their hashes, each text once.
    drafts: Vec<(Vec<u8>, ChunkDraft)>,
    /// Indices into `drafts` of chunks not stored yet: their text and sentences are embedded.
    new: Vec<usize>,
    /// Indices into `drafts` of stored chunks without their sentences (synced before sentences
    /// were stored): their sentences are embedded.
    without_sentences: Vec<usize>,
}

/// The vectors a plan asked for, by chunk hash.
#[derive(Debug, Clone, Default)]
pub struct EmbeddedSync {
    /// The chunk's own vector, for chunks not stored at the plan.
    chunk_vectors: HashMap<Vec<u8>, Vec<f32>>,
    /// The quotable sentences and their vectors.
    sentences: HashMap<Vec<u8>, SentenceVectors>,
}

/// A chunk's quotable sentences and the vector of each.
#[derive(Debug, Clone)]
struct SentenceVectors {
    texts: Vec<String>,
    vectors: Vec<Vec<f32>>,
}

fn hashed_drafts(document: &ProductDocument, model: &str) -> Vec<(Vec<u8>, ChunkDraft)> {
    let mut seen = HashSet::new();
    // Two identical pieces of text in one product are one chunk.
    chunk_document(document)
        .into_iter()
        .map(|draft| (draft.content_hash(model), draft))
        .filter(|(hash, _)| seen.insert(hash.clone()))
        .collect()
}

/// What syncing `document` with `model` must embed, given the chunks stored for the product.
/// Reads without locking; [`apply`] checks again under lock.
pub async fn plan(tx: &mut Tx, product_id: Uuid, document: &ProductDocument, model: &str) -> sqlx::Result<SyncPlan> {
    let drafts = hashed_drafts(document, model);
    let stored: Vec<(Vec<u8>, bool)> =
        sqlx::query_as("SELECT content_hash, sentences IS NULL FROM knowledge_chunks WHERE product_id = $1")
            .bind(product_id)
            .fetch_all(&mut **tx)
            .await?;
    let stored: HashMap<Vec<u8>, bool> = stored.into_iter().collect();
    let mut new = Vec::new();
    let mut without_sentences = Vec::new();
    for (index, (hash, _)) in drafts.iter().enumerate() {
        match stored.get(hash) {
            None => new.push(index),
            Some(true) => without_sentences.push(index),
            Some(false) => {}
        }
    }
    Ok(SyncPlan { title: document.title.clone(), drafts, new, without_sentences })
}

/// Runs the model over everything `plan` needs, at most `batch_size` texts per call: the new
/// chunks' texts and the quotable sentences of new chunks and of chunks stored without them.
pub async fn embed(plan: SyncPlan, embedder: &dyn Embedder, batch_size: usize) -> Result<EmbeddedSync, EmbedError> {
    let with_sentences: Vec<usize> = plan.new.iter().chain(&plan.without_sentences).copied().collect();
    let quotable: Vec<Vec<String>> = with_sentences
        .iter()
        .map(|&index| {
            let draft = &plan.drafts[index].1;
            sentences::quotable(&draft.content, draft.section)
        })
        .collect();
    let mut inputs: Vec<String> = plan.new.iter().map(|&index| plan.drafts[index].1.embedding_input.clone()).collect();
    for texts in &quotable {
        inputs.extend(texts.iter().map(|sentence| sentences::embedding_input(&plan.title, sentence)));
    }
    // One call sequence for all of them: the embedder groups texts of similar length.
    let mut vectors = embed_all(embedder, &inputs, batch_size).await?.into_iter();
    let hash = |index: usize| plan.drafts[index].0.clone();
    let chunk_vectors = plan.new.iter().map(|&index| hash(index)).zip(vectors.by_ref()).collect();
    let sentences = with_sentences
        .into_iter()
        .zip(quotable)
        .map(|(index, texts)| {
            let sentence_vectors: Vec<Vec<f32>> = vectors.by_ref().take(texts.len()).collect();
            (hash(index), SentenceVectors { texts, vectors: sentence_vectors })
        })
        .collect();
    Ok(EmbeddedSync { chunk_vectors, sentences })
}

/// Brings the product's chunks in line with `document` using the vectors of a plan: deletes
/// chunks whose text is gone, moves kept ones, inserts new ones and stores missing sentences.
/// [`SyncError::Changed`] when a chunk needs a vector the plan did not compute (the document
/// or its chunks changed since the plan).
pub async fn apply(
    tx: &mut Tx,
    merchant: MerchantId,
    product_id: Uuid,
    document: &ProductDocument,
    model: &str,
    embedded: EmbeddedSync,
) -> Result<SyncReport, SyncError> {
    let EmbeddedSync { mut chunk_vectors, mut sentences } = embedded;
    let drafts = hashed_drafts(document, model);
    let stored: Vec<(Uuid, Vec<u8>, bool)> = sqlx::query_as(
        "SELECT id, content_hash, sentences IS NULL FROM knowledge_chunks WHERE product_id = $1 FOR UPDATE",
    )
    .bind(product_id)
    .fetch_all(&mut **tx)
    .await?;
    let wanted: HashSet<&[u8]> = drafts.iter().map(|(hash, _)| hash.as_slice()).collect();
    let stale: Vec<Uuid> =
        stored.iter().filter(|(_, hash, _)| !wanted.contains(hash.as_slice())).map(|(id, _, _)| *id).collect();
    if !stale.is_empty() {
        sqlx::query("DELETE FROM knowledge_chunks WHERE id = ANY($1)").bind(&stale).execute(&mut **tx).await?;
    }
    let stored: HashMap<&[u8], (Uuid, bool)> =
        stored.iter().map(|(id, hash, missing)| (hash.as_slice(), (*id, *missing))).collect();
    let (mut kept_ids, mut kept_positions, mut inserted) = (Vec::new(), Vec::new(), 0);
    for (hash, draft) in &drafts {
        if let Some(&(id, missing_sentences)) = stored.get(hash.as_slice()) {
            kept_ids.push(id);
            kept_positions.push(draft.position);
            // Chunks kept from a sync before sentences were stored get theirs now.
            if missing_sentences && let Some(SentenceVectors { texts, vectors }) = sentences.remove(hash) {
                store_sentences(tx, id, &texts, vectors).await?;
            }
            continue;
        }
        let (Some(vector), Some(SentenceVectors { texts, vectors: sentence_vectors })) =
            (chunk_vectors.remove(hash), sentences.remove(hash))
        else {
            return Err(SyncError::Changed);
        };
        sqlx::query(
            "INSERT INTO knowledge_chunks (id, merchant_id, product_id, section, heading, position, content, content_hash,
                 model, embedding, sentences, sentence_embeddings)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT ON CONSTRAINT knowledge_chunks_product_id_content_hash_key DO NOTHING",
        )
        .bind(Uuid::now_v7())
        .bind(merchant)
        .bind(product_id)
        .bind(draft.section.as_str())
        .bind(&draft.heading)
        .bind(draft.position)
        .bind(&draft.content)
        .bind(hash)
        .bind(model)
        .bind(Vector::from(vector))
        .bind(&texts)
        .bind(sentence_vectors.into_iter().map(Vector::from).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await?;
        inserted += 1;
    }
    if !kept_ids.is_empty() {
        sqlx::query(
            "UPDATE knowledge_chunks c SET position = moved.position
             FROM unnest($1::uuid[], $2::int[]) AS moved (id, position)
             WHERE c.id = moved.id AND c.position <> moved.position",
        )
        .bind(&kept_ids)
        .bind(&kept_positions)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query("UPDATE products SET embedded_at = now() WHERE id = $1").bind(product_id).execute(&mut **tx).await?;
    Ok(SyncReport { embedded: inserted, kept: kept_ids.len(), removed: stale.len() })
}

/// Brings the product's chunks in line with `document`, embedding at most `batch_size` texts
/// per embedder call, all in the caller's transaction (so a failure leaves the old chunks):
/// for callers that hold one anyway. The knowledge pool runs [`plan`], [`embed`] and [`apply`]
/// itself, and runs the model with no transaction open.
pub async fn sync_product(
    tx: &mut Tx,
    merchant: MerchantId,
    product_id: Uuid,
    document: &ProductDocument,
    embedder: &dyn Embedder,
    batch_size: usize,
) -> Result<SyncReport, SyncError> {
    let model = embedder.model_name();
    let planned = plan(tx, product_id, document, model).await?;
    let embedded = embed(planned, embedder, batch_size).await?;
    apply(tx, merchant, product_id, document, model, embedded).await
}

/// Stores the quotable sentences of a chunk kept from before sentences were stored, with the
/// vectors of their embedding inputs ([`sentences::embedding_input`]), one per sentence. Leaves a
/// chunk that has its sentences already (another writer came first); `false` then, or when the
/// chunk is gone.
pub async fn store_sentences(
    tx: &mut Tx,
    chunk_id: Uuid,
    sentences: &[String],
    vectors: Vec<Vec<f32>>,
) -> Result<bool, SyncError> {
    if vectors.len() != sentences.len() {
        return Err(EmbedError::Count { expected: sentences.len(), got: vectors.len() }.into());
    }
    if let Some(wrong) = vectors.iter().find(|vector| vector.len() != DIMENSIONS) {
        return Err(EmbedError::Dimensions { expected: DIMENSIONS, got: wrong.len() }.into());
    }
    let updated = sqlx::query(
        "UPDATE knowledge_chunks SET sentences = $2, sentence_embeddings = $3 WHERE id = $1 AND sentences IS NULL",
    )
    .bind(chunk_id)
    .bind(sentences)
    .bind(vectors.into_iter().map(Vector::from).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Embeds `texts` in calls of at most `batch_size`, checking every vector's count and width.
/// Texts go to the embedder longest first, so each call holds texts of similar length (a
/// chunk's sentences are much shorter than the chunk) and pads little.
async fn embed_all(embedder: &dyn Embedder, texts: &[String], batch_size: usize) -> Result<Vec<Vec<f32>>, EmbedError> {
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&index| std::cmp::Reverse(texts[index].len()));
    let mut vectors = vec![Vec::new(); texts.len()];
    for call in order.chunks(batch_size.max(1)) {
        let batch: Vec<String> = call.iter().map(|&index| texts[index].clone()).collect();
        let embedded = embedder.embed(&batch).await?;
        if embedded.len() != batch.len() {
            return Err(EmbedError::Count { expected: batch.len(), got: embedded.len() });
        }
        if let Some(wrong) = embedded.iter().find(|vector| vector.len() != DIMENSIONS) {
            return Err(EmbedError::Dimensions { expected: DIMENSIONS, got: wrong.len() });
        }
        for (&index, vector) in call.iter().zip(embedded) {
            vectors[index] = vector;
        }
    }
    Ok(vectors)
}

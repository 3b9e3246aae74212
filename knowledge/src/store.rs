//! Keeping a product's `knowledge_chunks` in line with its document.
//!
//! Chunks are keyed by a hash of model and embedded text: a sync embeds only chunks whose hash
//! is new, keeps the others as they are (moving them if their position changed), and deletes
//! chunks whose text is gone. Syncing an unchanged product embeds nothing.

use std::collections::{HashMap, HashSet};

use pgvector::Vector;
use recete_shared::db::Tx;
use recete_shared::ids::MerchantId;
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
}

/// Brings the product's chunks in line with `document`, embedding at most `batch_size` texts
/// per embedder call. Runs in the caller's transaction, so a failure leaves the old chunks.
pub async fn sync_product(
    tx: &mut Tx,
    merchant: MerchantId,
    product_id: Uuid,
    document: &ProductDocument,
    embedder: &dyn Embedder,
    batch_size: usize,
) -> Result<SyncReport, SyncError> {
    let model = embedder.model_name().to_owned();
    let drafts = chunk_document(document);
    let hashed: Vec<(Vec<u8>, &ChunkDraft)> = {
        let mut seen = HashSet::new();
        // Two identical pieces of text in one product are one chunk.
        drafts
            .iter()
            .map(|draft| (draft.content_hash(&model), draft))
            .filter(|(hash, _)| seen.insert(hash.clone()))
            .collect()
    };
    let stored: Vec<(Uuid, Vec<u8>, bool)> = sqlx::query_as(
        "SELECT id, content_hash, sentences IS NULL FROM knowledge_chunks WHERE product_id = $1 FOR UPDATE",
    )
    .bind(product_id)
    .fetch_all(&mut **tx)
    .await?;
    let wanted: HashSet<&[u8]> = hashed.iter().map(|(hash, _)| hash.as_slice()).collect();
    let stale: Vec<Uuid> =
        stored.iter().filter(|(_, hash, _)| !wanted.contains(hash.as_slice())).map(|(id, _, _)| *id).collect();
    if !stale.is_empty() {
        sqlx::query("DELETE FROM knowledge_chunks WHERE id = ANY($1)").bind(&stale).execute(&mut **tx).await?;
    }
    let stored_ids: HashMap<&[u8], Uuid> = stored.iter().map(|(id, hash, _)| (hash.as_slice(), *id)).collect();
    let without_sentences: HashSet<Uuid> =
        stored.iter().filter(|(_, _, missing)| *missing).map(|(id, _, _)| *id).collect();
    let (kept, missing): (Vec<_>, Vec<_>) =
        hashed.iter().partition(|(hash, _)| stored_ids.contains_key(hash.as_slice()));
    if !kept.is_empty() {
        let ids: Vec<Uuid> = kept.iter().filter_map(|(hash, _)| stored_ids.get(hash.as_slice()).copied()).collect();
        let positions: Vec<i32> = kept.iter().map(|(_, draft)| draft.position).collect();
        sqlx::query(
            "UPDATE knowledge_chunks c SET position = moved.position
             FROM unnest($1::uuid[], $2::int[]) AS moved (id, position)
             WHERE c.id = moved.id AND c.position <> moved.position",
        )
        .bind(&ids)
        .bind(&positions)
        .execute(&mut **tx)
        .await?;
    }
    // Chunks kept from a sync before sentences were stored get theirs now.
    let backfill: Vec<(Uuid, &ChunkDraft)> = kept
        .iter()
        .filter_map(|(hash, draft)| stored_ids.get(hash.as_slice()).map(|id| (*id, *draft)))
        .filter(|(id, _)| without_sentences.contains(id))
        .collect();
    for (id, draft) in &backfill {
        let sentences = sentences::quotable(&draft.content, draft.section);
        let inputs: Vec<String> =
            sentences.iter().map(|sentence| sentences::embedding_input(&document.title, sentence)).collect();
        let vectors = embed_all(embedder, &inputs, batch_size).await?;
        sqlx::query("UPDATE knowledge_chunks SET sentences = $2, sentence_embeddings = $3 WHERE id = $1")
            .bind(id)
            .bind(&sentences)
            .bind(vectors.into_iter().map(Vector::from).collect::<Vec<_>>())
            .execute(&mut **tx)
            .await?;
    }
    for batch in missing.chunks(batch_size.max(1)) {
        // The chunks' own texts and their quotable sentences, embedded together.
        let quotable: Vec<Vec<String>> =
            batch.iter().map(|(_, draft)| sentences::quotable(&draft.content, draft.section)).collect();
        let mut inputs: Vec<String> = batch.iter().map(|(_, draft)| draft.embedding_input.clone()).collect();
        for sentences in &quotable {
            inputs.extend(sentences.iter().map(|sentence| sentences::embedding_input(&document.title, sentence)));
        }
        let mut vectors = embed_all(embedder, &inputs, batch_size).await?.into_iter();
        let chunk_vectors: Vec<Vec<f32>> = vectors.by_ref().take(batch.len()).collect();
        for (((hash, draft), vector), sentences) in batch.iter().zip(chunk_vectors).zip(quotable) {
            let sentence_vectors: Vec<Vector> = vectors.by_ref().take(sentences.len()).map(Vector::from).collect();
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
            .bind(&model)
            .bind(Vector::from(vector))
            .bind(&sentences)
            .bind(sentence_vectors)
            .execute(&mut **tx)
            .await?;
        }
    }
    sqlx::query("UPDATE products SET embedded_at = now() WHERE id = $1").bind(product_id).execute(&mut **tx).await?;
    Ok(SyncReport { embedded: missing.len(), kept: kept.len(), removed: stale.len() })
}

/// Embeds `texts` in calls of at most `batch_size`, checking every vector's count and width.
async fn embed_all(embedder: &dyn Embedder, texts: &[String], batch_size: usize) -> Result<Vec<Vec<f32>>, EmbedError> {
    let mut vectors = Vec::with_capacity(texts.len());
    for batch in texts.chunks(batch_size.max(1)) {
        let embedded = embedder.embed(batch).await?;
        if embedded.len() != batch.len() {
            return Err(EmbedError::Count { expected: batch.len(), got: embedded.len() });
        }
        if let Some(wrong) = embedded.iter().find(|vector| vector.len() != DIMENSIONS) {
            return Err(EmbedError::Dimensions { expected: DIMENSIONS, got: wrong.len() });
        }
        vectors.extend(embedded);
    }
    Ok(vectors)
}

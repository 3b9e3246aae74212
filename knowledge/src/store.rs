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
    let stored: Vec<(Uuid, Vec<u8>)> =
        sqlx::query_as("SELECT id, content_hash FROM knowledge_chunks WHERE product_id = $1 FOR UPDATE")
            .bind(product_id)
            .fetch_all(&mut **tx)
            .await?;
    let wanted: HashSet<&[u8]> = hashed.iter().map(|(hash, _)| hash.as_slice()).collect();
    let stale: Vec<Uuid> =
        stored.iter().filter(|(_, hash)| !wanted.contains(hash.as_slice())).map(|(id, _)| *id).collect();
    if !stale.is_empty() {
        sqlx::query("DELETE FROM knowledge_chunks WHERE id = ANY($1)").bind(&stale).execute(&mut **tx).await?;
    }
    let stored_ids: HashMap<&[u8], Uuid> = stored.iter().map(|(id, hash)| (hash.as_slice(), *id)).collect();
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
    for batch in missing.chunks(batch_size.max(1)) {
        let inputs: Vec<String> = batch.iter().map(|(_, draft)| draft.embedding_input.clone()).collect();
        let vectors = embedder.embed(&inputs).await?;
        if vectors.len() != inputs.len() {
            return Err(EmbedError::Count { expected: inputs.len(), got: vectors.len() }.into());
        }
        for ((hash, draft), vector) in batch.iter().zip(vectors) {
            if vector.len() != DIMENSIONS {
                return Err(EmbedError::Dimensions { expected: DIMENSIONS, got: vector.len() }.into());
            }
            sqlx::query(
                "INSERT INTO knowledge_chunks (id, merchant_id, product_id, section, heading, position, content, content_hash, model, embedding)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
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
            .execute(&mut **tx)
            .await?;
        }
    }
    sqlx::query("UPDATE products SET embedded_at = now() WHERE id = $1").bind(product_id).execute(&mut **tx).await?;
    Ok(SyncReport { embedded: missing.len(), kept: kept.len(), removed: stale.len() })
}

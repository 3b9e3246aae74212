//! Merchant-scoped nearest-neighbour search over `knowledge_chunks`.

use pgvector::Vector;
use recete_platform::db::Tx;
use recete_platform::ids::MerchantId;
use serde::Serialize;
use sqlx::FromRow;
use uuid::Uuid;

use crate::document::SectionKind;

/// A chunk found for a question, with its cosine similarity (1 is identical).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetrievedChunk {
    pub id: Uuid,
    pub product_id: Uuid,
    pub product_title: String,
    pub section: SectionKind,
    pub content: String,
    pub similarity: f32,
    /// The chunk's quotable sentences with their vectors, as stored when its product was synced;
    /// `None` for a chunk synced before sentences were stored.
    #[serde(skip)]
    pub sentences: Option<Vec<StoredSentence>>,
}

/// A quotable sentence of a chunk and the vector of its embedding input.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSentence {
    pub text: String,
    pub vector: Vec<f32>,
}

#[derive(FromRow)]
struct ChunkRow {
    id: Uuid,
    product_id: Uuid,
    product_title: String,
    section: String,
    content: String,
    similarity: f64,
    sentences: Option<Vec<String>>,
    sentence_embeddings: Option<Vec<Vector>>,
}

impl ChunkRow {
    fn stored_sentences(&mut self) -> Option<Vec<StoredSentence>> {
        let texts = self.sentences.take()?;
        let vectors = self.sentence_embeddings.take()?;
        // The table's check keeps both the same length; a mismatch reads as not stored.
        (texts.len() == vectors.len()).then(|| {
            texts
                .into_iter()
                .zip(vectors)
                .map(|(text, vector)| StoredSentence { text, vector: vector.to_vec() })
                .collect()
        })
    }
}

/// How many candidates the HNSW graph search keeps; above the default 40 for better recall on
/// merchant-filtered searches at a fraction of a millisecond more.
pub const EF_SEARCH: u32 = 80;

/// A merchant with at most this many chunks (of one model) is searched exactly: every chunk
/// compared, so nothing the index would miss is missed. Comparing one chunk costs about 3 µs
/// on two cores (the knowledge benchmark's exact scan: 100,000 chunks in about 300 ms), so
/// 2,000 chunks (a catalogue of a few hundred products) cost about 6 ms, near an index search's
/// latency, with a recall of 1 instead of the index's 0.6 to 0.8 on a large table.
pub const EXACT_SCAN_MAX_CHUNKS: i64 = 2_000;

/// How a merchant's chunks are searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchPlan {
    /// Every chunk of the merchant compared (few enough chunks).
    Exact,
    /// The HNSW index, with pgvector's iterative scan for the merchant filter.
    Index,
}

/// [`SearchPlan::Exact`] when `merchant` has at most [`EXACT_SCAN_MAX_CHUNKS`] chunks of
/// `model`; counting stops past that bound, so a large catalogue costs no full count.
pub async fn plan(tx: &mut Tx, merchant: MerchantId, model: &str) -> Result<SearchPlan, sqlx::Error> {
    let chunks: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (
             SELECT 1 FROM knowledge_chunks WHERE merchant_id = $1 AND model = $2 LIMIT $3
         ) bounded",
    )
    .bind(merchant)
    .bind(model)
    .bind(EXACT_SCAN_MAX_CHUNKS + 1)
    .fetch_one(&mut **tx)
    .await?;
    Ok(if chunks <= EXACT_SCAN_MAX_CHUNKS { SearchPlan::Exact } else { SearchPlan::Index })
}

/// The `limit` chunks of `merchant` most similar to `query` (a unit vector of `model`), best
/// first. A small catalogue is compared chunk by chunk ([`plan`]); a large one goes through the
/// HNSW index, whose iterative scan keeps searching the graph until enough rows pass the
/// merchant filter, so one merchant among many still gets `limit` results.
pub async fn search(
    tx: &mut Tx,
    merchant: MerchantId,
    model: &str,
    query: &[f32],
    limit: usize,
) -> Result<Vec<RetrievedChunk>, sqlx::Error> {
    search_with_ef(tx, merchant, model, query, limit, EF_SEARCH).await
}

/// [`search`] with the graph search keeping `ef_search` candidates instead of [`EF_SEARCH`]:
/// what the knowledge benchmark's sweep varies.
pub async fn search_with_ef(
    tx: &mut Tx,
    merchant: MerchantId,
    model: &str,
    query: &[f32],
    limit: usize,
    ef_search: u32,
) -> Result<Vec<RetrievedChunk>, sqlx::Error> {
    // `+ 0` makes the distance an expression the index cannot serve: the planner reads the
    // merchant's rows through its b-tree index and sorts them by their exact distance.
    let order = match plan(tx, merchant, model).await? {
        SearchPlan::Exact => "(embedding <=> $1) + 0",
        SearchPlan::Index => {
            sqlx::query(&format!("SET LOCAL hnsw.ef_search = {}", ef_search.clamp(1, 1_000)))
                .execute(&mut **tx)
                .await?;
            sqlx::query("SET LOCAL hnsw.iterative_scan = relaxed_order").execute(&mut **tx).await?;
            "embedding <=> $1"
        }
    };
    let rows: Vec<ChunkRow> = sqlx::query_as(&format!(
        "WITH nearest AS MATERIALIZED (
             SELECT id, product_id, section, content, sentences, sentence_embeddings, embedding <=> $1 AS distance
             FROM knowledge_chunks
             WHERE merchant_id = $2 AND model = $3
             ORDER BY {order}
             LIMIT $4
         )
         SELECT n.id, n.product_id, p.title AS product_title, n.section, n.content, n.sentences,
                n.sentence_embeddings, 1 - n.distance AS similarity
         FROM nearest n JOIN products p ON p.id = n.product_id
         ORDER BY n.distance"
    ))
    .bind(Vector::from(query.to_vec()))
    .bind(merchant)
    .bind(model)
    .bind(limit as i64)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|mut row| {
            let section = row.section.parse().ok()?;
            let sentences = row.stored_sentences();
            Some(RetrievedChunk {
                id: row.id,
                product_id: row.product_id,
                product_title: row.product_title,
                section,
                content: row.content,
                similarity: row.similarity as f32,
                sentences,
            })
        })
        .collect())
}

/// The same search without the index, whatever the catalogue's size: every chunk of the
/// merchant compared. The benchmark measures the index's recall against it.
pub async fn search_exact(
    tx: &mut Tx,
    merchant: MerchantId,
    model: &str,
    query: &[f32],
    limit: usize,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM knowledge_chunks WHERE merchant_id = $2 AND model = $3
         ORDER BY (embedding <=> $1) + 0 LIMIT $4",
    )
    .bind(Vector::from(query.to_vec()))
    .bind(merchant)
    .bind(model)
    .bind(limit as i64)
    .fetch_all(&mut **tx)
    .await
}

//! Product knowledge at catalogue scale, each figure beside a baseline measured in the same run:
//!
//! 1. Retrieval over `--chunks` chunks of one merchant (plus other merchants' chunks, so the
//!    merchant filter has rows to skip): latency of [`retrieval::search`], the search the
//!    agent runs (through the HNSW index past `retrieval::EXACT_SCAN_MAX_CHUNKS` chunks, which
//!    the output names), against [`retrieval::search_exact`], a sequential scan comparing every
//!    chunk, and the search's recall@10 against the exact results.
//! 2. Local embedding throughput: chunk-sized texts embedded `--embed-batch` (32, as
//!    `embedding.batch_size`) at a time against one at a time, and the encoder's achieved
//!    GFLOP/s against candle multiplying two large matrices on the same cores, the rate the
//!    encoder would reach if all its work were such products.
//! 3. An inbound message to its stored reply, without a language model: the whole
//!    `answer` task ([`conversations::handle_task`]) against embedding the question alone, the
//!    one step no answer can skip.
//!
//! Vectors are realistic without embedding 100,000 texts: the real sentences of the evaluation
//! catalogue (`eval/products.json`) and its questions are embedded with the real model, and the
//! stored chunks are those vectors with gaussian noise added and re-normalised. The chunks are
//! then clustered around real text the way a large catalogue's are (many rewordings of the
//! same few hundred facts), not spread uniformly over the sphere, where every vector is about as
//! far from every other and an index has nothing to exploit. Gaussian noise spreads each
//! sentence's copies over all 384 dimensions, where real rewordings vary along few: the copies
//! of one sentence are nearer each other than anything else, so the HNSW graph links them mostly
//! among themselves, and the recall measured here is a harsh case rather than a typical one.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use candle_core::{Device, Tensor};
use chrono::Utc;
use clap::{Parser, ValueEnum};
use pgvector::Vector;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use recete_agent::Agent;
use recete_agent::evaluation::{self, Dataset};
use recete_bench::catalogue::{self, Catalogue};
use recete_bench::hnsw_sweep::{self, Build};
use recete_config::{Settings, base_figment};
use recete_embed::{LocalMiniLm, MODEL_NAME};
use recete_jobs::execution::Outcome;
use recete_knowledge::embedder::cosine;
use recete_knowledge::{DIMENSIONS, Embedder, SectionKind, retrieval, sentences};
use recete_platform::crypto::Keyring;
use recete_platform::db;
use recete_platform::ids::{CustomerId, MerchantId, TaskId};
use recete_shared::{customers, merchants, message_bodies, tasks};
use recete_testkit::TestDatabase;
use recete_workers::conversations::{self, ConversationDeps};
use sqlx::PgPool;
use uuid::Uuid;

/// The parts of the benchmark; all run unless `--phases` names some.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Phase {
    Retrieval,
    Answers,
    Embedding,
    /// The HNSW settings swept on `--corpus` (only when named).
    Sweep,
}

/// What the sweep's chunks are made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Corpus {
    /// Generated product text ([`catalogue`]), every chunk embedded by the model.
    Catalogue,
    /// The evaluation sentences' vectors with gaussian noise, as the retrieval phase loads.
    Synthetic,
}

#[derive(Parser)]
struct Args {
    /// Parts to run, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Phase::Retrieval, Phase::Answers, Phase::Embedding])]
    phases: Vec<Phase>,
    /// Chunks of the merchant whose searches are measured.
    #[arg(long, default_value_t = 100_000)]
    chunks: usize,
    /// Products those chunks belong to.
    #[arg(long, default_value_t = 1_000)]
    products: usize,
    /// Chunks of three other merchants, as a share of `--chunks`: rows the merchant filter of
    /// the search must skip.
    #[arg(long, default_value_t = 0.1)]
    other_merchants_share: f64,
    /// Searches timed (the evaluation questions, then noisy copies of them).
    #[arg(long, default_value_t = 300)]
    queries: usize,
    /// Standard deviation of the gaussian noise added to each coordinate of a real sentence's
    /// unit vector. 0.03 over 384 dimensions puts a synthetic chunk at cosine ≈ 0.86 from its
    /// sentence and two chunks of the same sentence at ≈ 0.74 from each other, about what this
    /// model gives a sentence and its paraphrase: each real fact stands for many rewordings.
    #[arg(long, default_value_t = 0.03)]
    noise: f32,
    /// Chunk-sized texts (about 60 words) embedded in the throughput measurement.
    #[arg(long, default_value_t = 256)]
    embed_texts: usize,
    /// Texts per call on the batched side of the throughput measurement (`embedding.batch_size`).
    #[arg(long, default_value_t = 32)]
    embed_batch: usize,
    /// Threads each batch is spread over (default: one per core, as the product runs it).
    #[arg(long)]
    embed_threads: Option<usize>,
    /// Inbound messages answered and timed.
    #[arg(long, default_value_t = 100)]
    messages: usize,
    /// Folder holding `products.json` and `questions.json`.
    #[arg(long, default_value = "eval")]
    dataset: PathBuf,
    /// Seed of the noise, so two runs store the same vectors.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// The sweep's chunks: generated product text embedded by the model (slow to load: the
    /// model embeds every chunk) or noisy copies of the evaluation sentences.
    #[arg(long, value_enum, default_value_t = Corpus::Catalogue)]
    corpus: Corpus,
    /// Index builds the sweep makes, each `m:ef_construction` (pgvector's defaults are 16:64).
    #[arg(long, value_delimiter = ',', default_values = ["16:64", "16:128", "24:128", "32:200"])]
    sweep_builds: Vec<Build>,
    /// `hnsw.ef_search` values the sweep tries on each build (the product uses 80).
    #[arg(long, value_delimiter = ',', default_values_t = [40, 80, 160, 320])]
    sweep_ef: Vec<u32>,
}

/// Chunks the agent retrieves per question (`agent.top_k`'s default): the timed search.
const AGENT_TOP_K: usize = 5;
/// Depth of the recall check, and of the exact baseline whose results are the truth.
const RECALL_DEPTH: usize = 10;
/// Searches of each kind run before timing, so both start with the same warm caches.
const WARMUP_QUERIES: usize = 20;
/// Rows per bulk `INSERT`: large enough that per-statement cost vanishes, small enough that one
/// statement's arrays (about 3 MB of vectors) stay modest.
const INSERT_BATCH: usize = 2_000;
/// Other merchants sharing the table with the measured one.
const OTHER_MERCHANTS: usize = 3;
/// Products of each other merchant.
const OTHER_MERCHANT_PRODUCTS: usize = 50;
/// Words per text in the throughput measurement: about 400 characters, a typical packed chunk
/// (they hold at most 600).
const WORDS_PER_CHUNK: usize = 60;
/// Messages answered before timing: the first answer also embeds the intent examples.
const WARMUP_MESSAGES: usize = 5;
/// Side of the square matrices of the matrix-product baseline: large enough that the product
/// runs at the library's full speed (about 17 GFLOP per product).
const MATMUL_SIZE: usize = 2048;
/// Products timed for the baseline, after one untimed.
const MATMUL_ROUNDS: u32 = 3;

/// Latencies of one measured operation.
#[derive(Default)]
struct Latencies(Vec<Duration>);

impl Latencies {
    fn record(&mut self, elapsed: Duration) {
        self.0.push(elapsed);
    }

    /// Nearest-rank percentile in milliseconds; 0 when nothing was recorded.
    fn percentile_ms(&self, quantile: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        let rank = ((quantile * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
        sorted.get(rank - 1).map_or(0.0, |elapsed| elapsed.as_secs_f64() * 1000.0)
    }
}

/// One real sentence of the catalogue, as the chunker would label and embed it.
struct SourceSentence {
    section: SectionKind,
    content: String,
    embedding_input: String,
}

/// Every sentence of every section, prefixed with the product title and section label like a
/// chunk's embedding input, so their vectors sit where real chunks' do.
fn source_sentences(dataset: &Dataset) -> Vec<SourceSentence> {
    let mut found = Vec::new();
    for product in &dataset.products {
        for section in &product.sections {
            let label = section.heading.clone().unwrap_or_else(|| section.kind.as_str().to_owned());
            for sentence in sentences::split(&section.text) {
                found.push(SourceSentence {
                    section: section.kind,
                    embedding_input: format!("{} — {label}: {sentence}", product.title),
                    content: sentence,
                });
            }
        }
    }
    found
}

/// Windows of [`WORDS_PER_CHUNK`] words over each product's text, eight words apart, repeated
/// when the catalogue holds fewer than `count` (the model keeps no cache, so a repeat costs the
/// same as a new text).
fn chunk_sized_texts(dataset: &Dataset, count: usize) -> Vec<String> {
    let mut windows = Vec::new();
    for product in &dataset.products {
        let text = std::iter::once(product.title.as_str())
            .chain(product.sections.iter().map(|section| section.text.as_str()))
            .collect::<Vec<_>>()
            .join(" ");
        let words: Vec<&str> = text.split_whitespace().collect();
        let mut start = 0;
        while start + WORDS_PER_CHUNK <= words.len() {
            windows.push(words[start..start + WORDS_PER_CHUNK].join(" "));
            start += 8;
        }
    }
    windows.iter().cycle().take(if windows.is_empty() { 0 } else { count }).cloned().collect()
}

/// A standard normal sample (Box–Muller; `rand` alone has no normal distribution).
fn standard_normal(rng: &mut StdRng) -> f32 {
    let uniform_open: f64 = 1.0 - rng.random::<f64>();
    let angle: f64 = rng.random::<f64>() * std::f64::consts::TAU;
    ((-2.0 * uniform_open.ln()).sqrt() * angle.cos()) as f32
}

/// `source` plus gaussian noise of `sigma` per coordinate, scaled back to unit length like every
/// vector the embedder returns.
fn perturbed(source: &[f32], sigma: f32, rng: &mut StdRng) -> Vec<f32> {
    let mut vector: Vec<f32> = source.iter().map(|value| value + sigma * standard_normal(rng)).collect();
    let norm = vector.iter().map(|value| value * value).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|value| *value /= norm);
    }
    vector
}

async fn embed_all(embedder: &dyn Embedder, texts: &[String]) -> anyhow::Result<Vec<Vec<f32>>> {
    let vectors = embedder.embed(texts).await?;
    anyhow::ensure!(vectors.len() == texts.len(), "{} vectors for {} texts", vectors.len(), texts.len());
    anyhow::ensure!(vectors.iter().all(|v| v.len() == DIMENSIONS), "a vector is not {DIMENSIONS}-dimensional");
    Ok(vectors)
}

/// Median over the real sentences of the cosine to their nearest other sentence: how far apart
/// real facts sit, against which the noise level is chosen.
fn median_nearest_cosine(vectors: &[Vec<f32>]) -> f32 {
    let mut nearest: Vec<f32> = vectors
        .iter()
        .enumerate()
        .map(|(index, vector)| {
            vectors
                .iter()
                .enumerate()
                .filter(|(other, _)| *other != index)
                .map(|(_, other)| cosine(vector, other))
                .fold(f32::MIN, f32::max)
        })
        .collect();
    nearest.sort_by(f32::total_cmp);
    nearest.get(nearest.len() / 2).copied().unwrap_or(0.0)
}

/// A merchant's share of the synthetic catalogue.
struct SyntheticTenant {
    merchant: MerchantId,
    products: usize,
    chunks: usize,
}

/// Chunk rows for one bulk `INSERT`.
#[derive(Default)]
struct ChunkBatch {
    ids: Vec<Uuid>,
    products: Vec<Uuid>,
    sections: Vec<&'static str>,
    positions: Vec<i32>,
    contents: Vec<String>,
    hashes: Vec<Vec<u8>>,
    embeddings: Vec<Vector>,
}

impl ChunkBatch {
    fn push(&mut self, product: Uuid, section: SectionKind, position: usize, content: &str, embedding: Vec<f32>) {
        let id = Uuid::now_v7();
        self.ids.push(id);
        self.products.push(product);
        self.sections.push(section.as_str());
        self.positions.push(position as i32);
        self.contents.push(content.to_owned());
        // Unique per row, which is all the (product, content_hash) key asks.
        self.hashes.push(id.as_bytes().to_vec());
        self.embeddings.push(Vector::from(embedding));
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    /// Inserts the rows in one statement and empties the batch.
    async fn insert(&mut self, admin: &PgPool, merchant: MerchantId) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO knowledge_chunks (id, merchant_id, product_id, section, position, content, content_hash, model, embedding)
             SELECT id, $2, product_id, section, position, content, content_hash, $3, embedding
             FROM UNNEST($1::uuid[], $4::uuid[], $5::text[], $6::int[], $7::text[], $8::bytea[], $9::vector[])
                 AS c(id, product_id, section, position, content, content_hash, embedding)",
        )
        .bind(&self.ids)
        .bind(merchant)
        .bind(MODEL_NAME)
        .bind(&self.products)
        .bind(&self.sections)
        .bind(&self.positions)
        .bind(&self.contents)
        .bind(&self.hashes)
        .bind(&self.embeddings)
        .execute(admin)
        .await?;
        *self = Self::default();
        Ok(())
    }
}

/// The merchant's products, one per title; their ids in the same order.
async fn insert_products(admin: &PgPool, merchant: MerchantId, titles: &[String]) -> anyhow::Result<Vec<Uuid>> {
    let product_ids: Vec<Uuid> = titles.iter().map(|_| Uuid::now_v7()).collect();
    sqlx::query(
        "INSERT INTO products (id, merchant_id, title, sku, source)
         SELECT id, $2, title, 'SKU-' || ordinality, 'api'
         FROM UNNEST($1::uuid[], $3::text[]) WITH ORDINALITY AS p(id, title, ordinality)",
    )
    .bind(&product_ids)
    .bind(merchant)
    .bind(titles)
    .execute(admin)
    .await?;
    Ok(product_ids)
}

/// Drops the chunk index before a bulk load: inserting into a live HNSW graph costs a graph
/// search per row, while a build over loaded rows can use parallel workers. DDL goes through the
/// superuser pool, since the application role need not own the table.
async fn drop_chunk_index(admin: &PgPool) -> anyhow::Result<()> {
    sqlx::query("DROP INDEX IF EXISTS knowledge_chunks_embedding_idx").execute(admin).await?;
    Ok(())
}

/// VACUUM as well as ANALYZE after a bulk load: otherwise autovacuum wakes up for the fresh rows
/// in the middle of the timed searches and takes one of the two cores.
async fn vacuum_catalogue(admin: &PgPool) -> anyhow::Result<()> {
    sqlx::query("VACUUM (ANALYZE) knowledge_chunks").execute(admin).await?;
    sqlx::query("VACUUM (ANALYZE) products").execute(admin).await?;
    Ok(())
}

/// Stores the synthetic chunks (the index must be dropped first): each a real sentence's vector
/// with gaussian noise, under a random product of its tenant.
async fn load_synthetic_chunks(
    admin: &PgPool,
    tenants: &[SyntheticTenant],
    sentences: &[SourceSentence],
    sentence_vectors: &[Vec<f32>],
    noise: f32,
    rng: &mut StdRng,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    for tenant in tenants {
        let titles: Vec<String> = (0..tenant.products).map(|i| format!("Catalogue product {i}")).collect();
        let product_ids = insert_products(admin, tenant.merchant, &titles).await?;
        let mut batch = ChunkBatch::default();
        for position in 0..tenant.chunks {
            let source = rng.random_range(0..sentences.len());
            let product = product_ids[rng.random_range(0..product_ids.len())];
            let vector = perturbed(&sentence_vectors[source], noise, rng);
            batch.push(product, sentences[source].section, position, &sentences[source].content, vector);
            if batch.len() == INSERT_BATCH {
                batch.insert(admin, tenant.merchant).await?;
            }
        }
        if batch.len() > 0 {
            batch.insert(admin, tenant.merchant).await?;
        }
    }
    Ok(started.elapsed())
}

/// Generates each tenant's catalogue ([`catalogue::generate`]), embeds every chunk with the real
/// model and stores it (the index must be dropped first); returns the measured merchant's
/// catalogue (the first tenant's), for its questions, and the texts embedded per second.
async fn load_catalogue_chunks(
    admin: &PgPool,
    tenants: &[SyntheticTenant],
    embedder: &LocalMiniLm,
    rng: &mut StdRng,
) -> anyhow::Result<(Catalogue, f64)> {
    let mut measured = None;
    let mut embedded = 0usize;
    let mut embedding_time = Duration::ZERO;
    for tenant in tenants {
        let generated = catalogue::generate(tenant.products, tenant.chunks, rng);
        let product_ids = insert_products(admin, tenant.merchant, &generated.titles).await?;
        for (slice_index, slice) in generated.chunks.chunks(INSERT_BATCH).enumerate() {
            let inputs: Vec<String> = slice.iter().map(|chunk| chunk.embedding_input.clone()).collect();
            let started = Instant::now();
            let vectors = embed_all(embedder, &inputs).await?;
            embedding_time += started.elapsed();
            embedded += inputs.len();
            let mut batch = ChunkBatch::default();
            for (offset, (chunk, vector)) in slice.iter().zip(vectors).enumerate() {
                let position = slice_index * INSERT_BATCH + offset;
                batch.push(product_ids[chunk.product], chunk.section, position, &chunk.content, vector);
            }
            batch.insert(admin, tenant.merchant).await?;
            eprintln!("knowledge-bench: {embedded} catalogue chunks embedded and stored");
        }
        measured.get_or_insert(generated);
    }
    let measured = measured.context("no tenant to generate a catalogue for")?;
    Ok((measured, embedded as f64 / embedding_time.as_secs_f64().max(1e-9)))
}

/// Retrieval figures of one run.
struct RetrievalFigures {
    /// How [`retrieval::search`] searched the measured merchant: the index past
    /// [`retrieval::EXACT_SCAN_MAX_CHUNKS`] chunks, an exact scan below.
    plan: retrieval::SearchPlan,
    hnsw: Latencies,
    exact: Latencies,
    /// Share of the exact top ten the HNSW top ten holds, mean and worst over the queries.
    id_recall: Summary,
    /// The same for their texts: a synthetic chunk's text is its source sentence's, so a miss
    /// here means a fact the agent would not have seen, not a near-identical copy swapped for
    /// another.
    text_recall: Summary,
    /// Cosine similarity of the tenth result, exact and HNSW: how near a tie the misses are.
    exact_tenth_similarity: Summary,
    hnsw_tenth_similarity: Summary,
}

/// Mean and minimum of a per-query figure.
struct Summary {
    sum: f64,
    count: usize,
    worst: f64,
}

impl Default for Summary {
    fn default() -> Self {
        Self { sum: 0.0, count: 0, worst: f64::INFINITY }
    }
}

impl Summary {
    fn add(&mut self, value: f64) {
        self.sum += value;
        self.count += 1;
        self.worst = self.worst.min(value);
    }

    fn mean(&self) -> f64 {
        if self.count == 0 { 0.0 } else { self.sum / self.count as f64 }
    }
}

/// Share of `truth` found in `found`.
fn overlap<T: Eq + std::hash::Hash>(truth: &HashSet<T>, found: &HashSet<T>) -> f64 {
    if truth.is_empty() { 1.0 } else { truth.intersection(found).count() as f64 / truth.len() as f64 }
}

/// Each query through the HNSW search (timed, top [`AGENT_TOP_K`]), the exact scan (timed, top
/// [`RECALL_DEPTH`]) and the HNSW search again at [`RECALL_DEPTH`] for recall, all in one tenant
/// transaction as the agent runs them.
async fn measure_retrieval(
    pool: &PgPool,
    merchant: MerchantId,
    queries: &[Vec<f32>],
) -> anyhow::Result<RetrievalFigures> {
    for query in queries.iter().take(WARMUP_QUERIES) {
        let mut tx = db::tenant_tx(pool, merchant).await?;
        retrieval::search(&mut tx, merchant, MODEL_NAME, query, AGENT_TOP_K).await?;
        retrieval::search_exact(&mut tx, merchant, MODEL_NAME, query, RECALL_DEPTH).await?;
        tx.rollback().await?;
    }
    let mut tx = db::tenant_tx(pool, merchant).await?;
    let plan = retrieval::plan(&mut tx, merchant, MODEL_NAME).await?;
    tx.rollback().await?;
    let mut figures = RetrievalFigures {
        plan,
        hnsw: Latencies::default(),
        exact: Latencies::default(),
        id_recall: Summary::default(),
        text_recall: Summary::default(),
        exact_tenth_similarity: Summary::default(),
        hnsw_tenth_similarity: Summary::default(),
    };
    for query in queries {
        let mut tx = db::tenant_tx(pool, merchant).await?;
        let started = Instant::now();
        let found = retrieval::search(&mut tx, merchant, MODEL_NAME, query, AGENT_TOP_K).await?;
        figures.hnsw.record(started.elapsed());
        anyhow::ensure!(found.len() == AGENT_TOP_K, "the HNSW search found {} chunks, not {AGENT_TOP_K}", found.len());
        let started = Instant::now();
        let exact = retrieval::search_exact(&mut tx, merchant, MODEL_NAME, query, RECALL_DEPTH).await?;
        figures.exact.record(started.elapsed());
        anyhow::ensure!(exact.len() == RECALL_DEPTH, "the exact scan found {} chunks", exact.len());
        let approximate = retrieval::search(&mut tx, merchant, MODEL_NAME, query, RECALL_DEPTH).await?;
        let exact_rows: Vec<(String, f64)> = sqlx::query_as(
            "SELECT content, 1 - (embedding <=> $2) FROM knowledge_chunks WHERE id = ANY($1) ORDER BY embedding <=> $2",
        )
        .bind(&exact)
        .bind(Vector::from(query.clone()))
        .fetch_all(&mut *tx)
        .await?;
        tx.rollback().await?;
        let exact_ids: HashSet<Uuid> = exact.iter().copied().collect();
        let approximate_ids: HashSet<Uuid> = approximate.iter().map(|chunk| chunk.id).collect();
        figures.id_recall.add(overlap(&exact_ids, &approximate_ids));
        let exact_texts: HashSet<&str> = exact_rows.iter().map(|(content, _)| content.as_str()).collect();
        let approximate_texts: HashSet<&str> = approximate.iter().map(|chunk| chunk.content.as_str()).collect();
        figures.text_recall.add(overlap(&exact_texts, &approximate_texts));
        if let (Some((_, exact_tenth)), Some(hnsw_tenth)) = (exact_rows.last(), approximate.last()) {
            figures.exact_tenth_similarity.add(*exact_tenth);
            figures.hnsw_tenth_similarity.add(f64::from(hnsw_tenth.similarity));
        }
    }
    Ok(figures)
}

/// GFLOP/s of candle multiplying two [`MATMUL_SIZE`]-square f32 matrices with every core: the
/// matrix-product-bound rate of this machine, the ceiling for the encoder's.
fn matmul_gflops() -> anyhow::Result<f64> {
    let a = Tensor::randn(0f32, 1.0, (MATMUL_SIZE, MATMUL_SIZE), &Device::Cpu)?;
    let b = Tensor::randn(0f32, 1.0, (MATMUL_SIZE, MATMUL_SIZE), &Device::Cpu)?;
    a.matmul(&b)?;
    let started = Instant::now();
    for _ in 0..MATMUL_ROUNDS {
        a.matmul(&b)?;
    }
    let flops = 2.0 * (MATMUL_SIZE as f64).powi(3) * f64::from(MATMUL_ROUNDS);
    Ok(flops / started.elapsed().as_secs_f64() / 1e9)
}

/// Embedding throughput of one run, and the arithmetic it did.
struct EmbeddingFigures {
    /// Texts per second, one text per call (the baseline).
    single_rate: f64,
    /// Texts per second, `--embed-batch` texts per call.
    batched_rate: f64,
    /// GFLOP/s of the batched calls, counting each text's own tokens.
    batched_gflops: f64,
    /// GFLOP/s of a large matrix product, before and after the embedding.
    matmul_gflops: (f64, f64),
    /// Mean tokens per text.
    mean_tokens: f64,
}

impl EmbeddingFigures {
    fn matmul_mean(&self) -> f64 {
        (self.matmul_gflops.0 + self.matmul_gflops.1) / 2.0
    }
}

/// The embedding figures, the matrix-product baseline measured just before and just after.
async fn measure_embedding(
    embedder: &LocalMiniLm,
    texts: &[String],
    batch_size: usize,
) -> anyhow::Result<EmbeddingFigures> {
    let tokens: Vec<usize> = texts.iter().map(|text| embedder.token_count(text)).collect::<Result<_, _>>()?;
    let flops: f64 = tokens.iter().map(|&count| embedder.forward_flops(count)).sum();
    let matmul_before = matmul_gflops()?;
    let (single_rate, batched_rate) = embedding_rates(embedder, texts, batch_size).await?;
    let matmul_after = matmul_gflops()?;
    Ok(EmbeddingFigures {
        single_rate,
        batched_rate,
        batched_gflops: flops * batched_rate / texts.len() as f64 / 1e9,
        matmul_gflops: (matmul_before, matmul_after),
        mean_tokens: tokens.iter().sum::<usize>() as f64 / texts.len() as f64,
    })
}

/// Chunks per second embedding `texts` one call per text (the baseline) and `batch_size` per
/// call. The two alternate batch by batch over the same texts, so a burst of other work on the
/// machine slows both alike.
async fn embedding_rates(embedder: &LocalMiniLm, texts: &[String], batch_size: usize) -> anyhow::Result<(f64, f64)> {
    let batched = embedder.with_batch_size(batch_size);
    embed_all(&batched, &texts[..texts.len().min(batched.batch_size())]).await?;
    let (mut one_by_one, mut together) = (Duration::ZERO, Duration::ZERO);
    for round in texts.chunks(batched.batch_size()) {
        let started = Instant::now();
        for text in round {
            embed_all(&batched, std::slice::from_ref(text)).await?;
        }
        one_by_one += started.elapsed();
        let started = Instant::now();
        embed_all(&batched, round).await?;
        together += started.elapsed();
    }
    let rate = |elapsed: Duration| texts.len() as f64 / elapsed.as_secs_f64();
    Ok((rate(one_by_one), rate(together)))
}

/// The merchant, customer and open conversation the inbound messages arrive on.
struct Conversation {
    merchant: MerchantId,
    customer: CustomerId,
    id: Uuid,
    /// Knowledge chunks of the merchant: the evaluation catalogue's.
    chunks: i64,
}

/// A merchant with the evaluation catalogue stored and embedded through the real sync, and one
/// customer with consent and an open conversation.
async fn seed_conversation(
    pool: &PgPool,
    admin: &PgPool,
    keyring: &Keyring,
    dataset: &Dataset,
    embedder: &dyn Embedder,
    batch_size: usize,
) -> anyhow::Result<Conversation> {
    let merchant = merchants::create(pool, "Orrin & Sage", "Europe/Istanbul").await?.merchant_id;
    let mut tx = db::tenant_tx(pool, merchant).await?;
    evaluation::store_catalogue(&mut tx, merchant, &dataset.products, embedder, batch_size).await?;
    let chunks: i64 = sqlx::query_scalar("SELECT count(*) FROM knowledge_chunks").fetch_one(&mut *tx).await?;
    tx.commit().await?;
    let customer = CustomerId::generate();
    let phone = "+905551234567";
    sqlx::query(
        "INSERT INTO customers (id, merchant_id, pii_key_id, phone_sealed, phone_lookup, name_sealed, country_code, whatsapp_consent)
         VALUES ($1, $2, $3, $4, $5, $6, 'TR', 'granted')",
    )
    .bind(customer)
    .bind(merchant)
    .bind(keyring.active_key_id())
    .bind(keyring.seal(phone.as_bytes(), &customers::field_context(merchant, "phone")).bytes)
    .bind(keyring.lookup_hash(customers::PHONE_LOOKUP_DOMAIN, phone).to_vec())
    .bind(keyring.seal(b"Ada Yilmaz", &customers::field_context(merchant, "name")).bytes)
    .execute(admin)
    .await?;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO conversations (id, merchant_id, customer_id, window_expires_at, last_message_at)
         VALUES ($1, $2, $3, now() + interval '24 hours', now())",
    )
    .bind(id)
    .bind(merchant)
    .bind(customer)
    .execute(admin)
    .await?;
    Ok(Conversation { merchant, customer, id, chunks })
}

/// Stores `text` as an inbound WhatsApp message with its `answer` task, the way the
/// whatsapp-events pool does, and returns the task.
async fn receive(
    pool: &PgPool,
    keyring: &Keyring,
    conversation: &Conversation,
    sequence: usize,
    text: &str,
) -> anyhow::Result<(Uuid, TaskId)> {
    let merchant = conversation.merchant;
    let at = Utc::now();
    let mut tx = db::tenant_tx(pool, merchant).await?;
    sqlx::query(
        "UPDATE conversations SET last_message_at = greatest(coalesce(last_message_at, $2), $2),
             window_expires_at = greatest(coalesce(window_expires_at, $3), $3)
         WHERE id = $1",
    )
    .bind(conversation.id)
    .bind(at)
    .bind(at + chrono::Duration::hours(24))
    .execute(&mut *tx)
    .await?;
    let body = keyring.seal(text.as_bytes(), &message_bodies::context(merchant));
    let message_id = Uuid::now_v7();
    let wa_message_id = format!("wamid.bench-{sequence}");
    sqlx::query(
        "INSERT INTO messages (id, merchant_id, conversation_id, customer_id, direction, kind, pii_key_id, body_sealed,
             idempotency_key, wa_message_id, status, status_at, author)
         VALUES ($1, $2, $3, $4, 'inbound', 'text', $5, $6, $7, $8, 'received', $9, 'customer')",
    )
    .bind(message_id)
    .bind(merchant)
    .bind(conversation.id)
    .bind(conversation.customer)
    .bind(&body.key_id)
    .bind(&body.bytes)
    .bind(format!("inbound:{wa_message_id}"))
    .bind(&wa_message_id)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    tasks::schedule_answer(&mut tx, merchant, conversation.customer, message_id).await?;
    let task: TaskId = sqlx::query_scalar(
        "SELECT id FROM scheduled_tasks WHERE merchant_id = $1 AND kind = $2 AND unique_key = 'answer:' || $3::text",
    )
    .bind(merchant)
    .bind(tasks::ANSWER)
    .bind(message_id)
    .fetch_one(&mut *tx)
    .await
    .context("the answer task was not scheduled")?;
    tx.commit().await?;
    Ok((message_id, task))
}

/// Answer-task figures of one run.
struct AnswerFigures {
    answer: Latencies,
    embed_question: Latencies,
    /// The agent's search for the question, to tell the database's share of an answer.
    search: Latencies,
    replies_stored: usize,
    handed_over: usize,
}

/// Each message received, then its `answer` task run and timed; the clock stops when the task
/// has committed, reply included. A hand-over is undone between messages (untimed) so every
/// message is answered rather than left to a person.
async fn measure_answers(
    deps: &ConversationDeps,
    admin: &PgPool,
    conversation: &Conversation,
    questions: &[String],
) -> anyhow::Result<AnswerFigures> {
    let mut figures = AnswerFigures {
        answer: Latencies::default(),
        embed_question: Latencies::default(),
        search: Latencies::default(),
        replies_stored: 0,
        handed_over: 0,
    };
    for (sequence, question) in questions.iter().enumerate() {
        let (message_id, task) = receive(&deps.pool, &deps.keyring, conversation, sequence, question).await?;
        let started = Instant::now();
        let outcome = conversations::handle_task(task, deps).await?;
        let elapsed = started.elapsed();
        anyhow::ensure!(matches!(outcome, Outcome::Done), "the answer task for message {sequence} was skipped");
        let (state, reason): (String, Option<String>) =
            sqlx::query_as("SELECT state, status_reason FROM scheduled_tasks WHERE id = $1")
                .bind(task)
                .fetch_one(admin)
                .await?;
        anyhow::ensure!(state == "done", "message {sequence}: answer task {state}: {}", reason.unwrap_or_default());
        let reply_stored: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM scheduled_tasks WHERE merchant_id = $1 AND kind = 'reply'
                 AND payload -> 'metadata' ->> 'in_reply_to' = $2::text)",
        )
        .bind(conversation.merchant)
        .bind(message_id)
        .fetch_one(admin)
        .await?;
        let reopened = sqlx::query(
            "UPDATE conversations SET state = 'open', handed_over_at = NULL, handover_reason = NULL
             WHERE id = $1 AND state = 'handed_over'",
        )
        .bind(conversation.id)
        .execute(admin)
        .await?;
        if sequence < WARMUP_MESSAGES {
            continue;
        }
        figures.answer.record(elapsed);
        figures.replies_stored += usize::from(reply_stored);
        figures.handed_over += reopened.rows_affected() as usize;
        let embedder = deps.agent.embedder();
        let started = Instant::now();
        let vector = embed_all(embedder.as_ref(), std::slice::from_ref(question)).await?.pop();
        figures.embed_question.record(started.elapsed());
        let vector = vector.context("no vector for the question")?;
        let mut tx = db::tenant_tx(&deps.pool, conversation.merchant).await?;
        let started = Instant::now();
        retrieval::search(&mut tx, conversation.merchant, embedder.model_name(), &vector, AGENT_TOP_K).await?;
        figures.search.record(started.elapsed());
        tx.rollback().await?;
    }
    Ok(figures)
}

fn print_row(name: &str, latencies: &Latencies) {
    println!(
        "{name:<40} {:>6} {:>10.2} {:>10.2}",
        latencies.0.len(),
        latencies.percentile_ms(0.50),
        latencies.percentile_ms(0.99)
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.chunks > 0 && args.products > 0 && args.queries > 0,
        "--chunks, --products and --queries must be positive"
    );
    anyhow::ensure!(
        args.messages > 0 && args.embed_texts > 0 && args.embed_batch > 0,
        "--messages, --embed-texts and --embed-batch must be positive"
    );
    let dataset = Dataset::load(&args.dataset)?;
    let database = TestDatabase::create().await?;
    let settings = Settings::load_from(base_figment(None).merge(("database.url", database.app_url())))?;
    let pool = db::connect_lazy(&settings.database)?;
    let admin = database.admin_pool().await?;
    let local = LocalMiniLm::shared(&settings.embedding.model_dir)?;

    if args.phases.contains(&Phase::Retrieval) {
        retrieval_phase(&args, &dataset, &pool, &admin, &local).await?;
    }
    if args.phases.contains(&Phase::Sweep) {
        sweep_phase(&args, &dataset, &pool, &admin, &local).await?;
    }
    if args.phases.contains(&Phase::Answers) {
        answers_phase(&args, &dataset, &settings, &pool, &admin).await?;
    }
    if args.phases.contains(&Phase::Embedding) {
        let texts = chunk_sized_texts(&dataset, args.embed_texts);
        anyhow::ensure!(!texts.is_empty(), "no product text is {WORDS_PER_CHUNK} words long");
        let embedder = match args.embed_threads {
            Some(threads) => local.with_threads(threads),
            None => local.as_ref().clone(),
        };
        let figures = measure_embedding(&embedder, &texts, args.embed_batch).await?;
        println!(
            "local embedding, {} texts of {WORDS_PER_CHUNK} words ({:.1} tokens on average): one per call \
             (baseline) {:.1}/s, batch {} {:.1}/s; ratio {:.2}",
            texts.len(),
            figures.mean_tokens,
            figures.single_rate,
            args.embed_batch,
            figures.batched_rate,
            figures.batched_rate / figures.single_rate
        );
        println!(
            "encoder {:.1} GFLOP/s batched; {MATMUL_SIZE}² matrix product {:.1} GFLOP/s (before {:.1}, after {:.1}); \
             ratio {:.2}",
            figures.batched_gflops,
            figures.matmul_mean(),
            figures.matmul_gflops.0,
            figures.matmul_gflops.1,
            figures.batched_gflops / figures.matmul_mean()
        );
    }

    pool.close().await;
    admin.close().await;
    drop(database);
    Ok(())
}

/// Vectors for the synthetic catalogue: every catalogue sentence and every question through the
/// real model.
struct RealVectors {
    sentences: Vec<SourceSentence>,
    sentence_vectors: Vec<Vec<f32>>,
    question_vectors: Vec<Vec<f32>>,
}

async fn real_vectors(
    dataset: &Dataset,
    embedder: &LocalMiniLm,
    folder: &std::path::Path,
) -> anyhow::Result<RealVectors> {
    let sentences = source_sentences(dataset);
    anyhow::ensure!(!sentences.is_empty(), "{} has no product sentences", folder.display());
    let inputs: Vec<String> = sentences.iter().map(|s| s.embedding_input.clone()).collect();
    let sentence_vectors = embed_all(embedder, &inputs).await?;
    let questions: Vec<String> = dataset
        .questions
        .answerable
        .iter()
        .map(|q| q.question.clone())
        .chain(dataset.questions.refused.iter().map(|q| q.question.clone()))
        .collect();
    let question_vectors = embed_all(embedder, &questions).await?;
    anyhow::ensure!(!question_vectors.is_empty(), "{} has no questions", folder.display());
    Ok(RealVectors { sentences, sentence_vectors, question_vectors })
}

/// `count` query vectors: the evaluation questions' own, then noisy copies of them.
fn question_queries(question_vectors: &[Vec<f32>], count: usize, noise: f32, rng: &mut StdRng) -> Vec<Vec<f32>> {
    let mut queries: Vec<Vec<f32>> = question_vectors.iter().take(count).cloned().collect();
    while queries.len() < count && !question_vectors.is_empty() {
        let source = &question_vectors[rng.random_range(0..question_vectors.len())];
        queries.push(perturbed(source, noise, rng));
    }
    queries
}

/// The measured merchant (first) with `--chunks` chunks over `--products` products, and
/// [`OTHER_MERCHANTS`] others sharing `--other-merchants-share` of that between them; also how
/// many chunks the others hold.
async fn create_tenants(args: &Args, pool: &PgPool) -> anyhow::Result<(Vec<SyntheticTenant>, usize)> {
    let measured = merchants::create(pool, "Catalogue Store", "UTC").await?.merchant_id;
    let other_chunks = (args.chunks as f64 * args.other_merchants_share).round() as usize;
    let mut tenants = vec![SyntheticTenant { merchant: measured, products: args.products, chunks: args.chunks }];
    for index in 0..OTHER_MERCHANTS {
        let merchant = merchants::create(pool, &format!("Neighbour Store {index}"), "UTC").await?.merchant_id;
        let chunks = other_chunks / OTHER_MERCHANTS + usize::from(index < other_chunks % OTHER_MERCHANTS);
        tenants.push(SyntheticTenant { merchant, products: OTHER_MERCHANT_PRODUCTS, chunks });
    }
    Ok((tenants, other_chunks))
}

/// Loads `--corpus`, then sweeps the index builds and `ef_search` values over it.
async fn sweep_phase(
    args: &Args,
    dataset: &Dataset,
    pool: &PgPool,
    admin: &PgPool,
    embedder: &LocalMiniLm,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        !args.sweep_builds.is_empty() && !args.sweep_ef.is_empty(),
        "the sweep needs builds and ef_search values"
    );
    let mut rng = StdRng::seed_from_u64(args.seed);
    let (tenants, other_chunks) = create_tenants(args, pool).await?;
    let measured = tenants[0].merchant;
    // Only this corpus: chunks an earlier phase of the run stored would be rows of other
    // merchants that the sweep does not describe.
    sqlx::query("DELETE FROM knowledge_chunks WHERE merchant_id <> ALL($1)")
        .bind(tenants.iter().map(|tenant| tenant.merchant).collect::<Vec<_>>())
        .execute(admin)
        .await?;
    drop_chunk_index(admin).await?;
    let started = Instant::now();
    let queries = match args.corpus {
        Corpus::Catalogue => {
            let (catalogue, rate) = load_catalogue_chunks(admin, &tenants, embedder, &mut rng).await?;
            let questions = catalogue::customer_questions(&catalogue, args.queries, &mut rng);
            println!(
                "sweep corpus: generated product text, {} chunks of one merchant ({} products, {} distinct texts) \
                 + {other_chunks} of {OTHER_MERCHANTS} others, every chunk embedded by the model ({rate:.1} texts/s); \
                 {} customer questions about its products",
                args.chunks,
                catalogue.titles.len(),
                catalogue.chunks.iter().map(|chunk| chunk.content.as_str()).collect::<HashSet<_>>().len(),
                questions.len()
            );
            embed_all(embedder, &questions).await?
        }
        Corpus::Synthetic => {
            let RealVectors { sentences, sentence_vectors, question_vectors } =
                real_vectors(dataset, embedder, &args.dataset).await?;
            load_synthetic_chunks(admin, &tenants, &sentences, &sentence_vectors, args.noise, &mut rng).await?;
            println!(
                "sweep corpus: {} chunks of one merchant + {other_chunks} of {OTHER_MERCHANTS} others, \
                 {} real sentence vectors + gaussian noise σ = {}",
                args.chunks,
                sentences.len(),
                args.noise
            );
            question_queries(&question_vectors, args.queries, args.noise, &mut rng)
        }
    };
    vacuum_catalogue(admin).await?;
    println!("loaded in {:.1} s", started.elapsed().as_secs_f64());
    let rows = hnsw_sweep::run(admin, pool, measured, MODEL_NAME, &queries, &args.sweep_builds, &args.sweep_ef).await?;
    hnsw_sweep::print(&rows, queries.len());
    Ok(())
}

async fn retrieval_phase(
    args: &Args,
    dataset: &Dataset,
    pool: &PgPool,
    admin: &PgPool,
    embedder: &LocalMiniLm,
) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(args.seed);
    let RealVectors { sentences, sentence_vectors, question_vectors } =
        real_vectors(dataset, embedder, &args.dataset).await?;
    let queries = question_queries(&question_vectors, args.queries, args.noise, &mut rng);
    let (tenants, other_chunks) = create_tenants(args, pool).await?;
    let measured = tenants[0].merchant;
    drop_chunk_index(admin).await?;
    let insert = load_synthetic_chunks(admin, &tenants, &sentences, &sentence_vectors, args.noise, &mut rng).await?;
    // The index as the migrations define it.
    let index_build = hnsw_sweep::rebuild_index(admin, Build { m: 16, ef_construction: 128 }).await?;
    vacuum_catalogue(admin).await?;
    let retrieval_figures = measure_retrieval(pool, measured, &queries).await?;
    println!(
        "knowledge-bench: {} chunks of one merchant ({} products) + {other_chunks} of {OTHER_MERCHANTS} others; \
         vectors = {} real sentence vectors + gaussian noise σ = {} per coordinate",
        args.chunks,
        args.products,
        sentences.len(),
        args.noise
    );
    let noise_norm_squared = DIMENSIONS as f64 * f64::from(args.noise).powi(2);
    println!(
        "expected cosine chunk-to-sentence {:.2}, chunk-to-sibling {:.2}; real sentences' median nearest-neighbour cosine {:.2}",
        1.0 / (1.0 + noise_norm_squared).sqrt(),
        1.0 / (1.0 + noise_norm_squared),
        median_nearest_cosine(&sentence_vectors)
    );
    println!(
        "bulk insert {:.1} s; HNSW build (m = 16, ef_construction = 128, maintenance_work_mem = 1GB) {:.1} s",
        insert.as_secs_f64(),
        index_build.as_secs_f64()
    );
    println!("{:<40} {:>6} {:>10} {:>10}", "measure", "n", "p50 ms", "p99 ms");
    print_row(&format!("exact scan, top {RECALL_DEPTH} (baseline)"), &retrieval_figures.exact);
    print_row(&format!("search ({:?}), top {AGENT_TOP_K}", retrieval_figures.plan), &retrieval_figures.hnsw);
    println!(
        "ratio exact / HNSW p50: {:.1}",
        retrieval_figures.exact.percentile_ms(0.5) / retrieval_figures.hnsw.percentile_ms(0.5)
    );
    println!(
        "HNSW recall@{RECALL_DEPTH} against the exact scan: chunks mean {:.3} (worst query {:.1}), \
         texts mean {:.3} (worst query {:.1})",
        retrieval_figures.id_recall.mean(),
        retrieval_figures.id_recall.worst,
        retrieval_figures.text_recall.mean(),
        retrieval_figures.text_recall.worst
    );
    println!(
        "mean similarity of the {RECALL_DEPTH}th result: exact {:.3}, HNSW {:.3}",
        retrieval_figures.exact_tenth_similarity.mean(),
        retrieval_figures.hnsw_tenth_similarity.mean()
    );
    Ok(())
}

async fn answers_phase(
    args: &Args,
    dataset: &Dataset,
    settings: &Settings,
    pool: &PgPool,
    admin: &PgPool,
) -> anyhow::Result<()> {
    let keyring = Arc::new(Keyring::from_settings(&settings.crypto)?);
    let agent_embedder = recete_embed::from_settings(&settings.embedding)?;
    let conversation =
        seed_conversation(pool, admin, &keyring, dataset, agent_embedder.as_ref(), settings.embedding.batch_size)
            .await?;
    let deps = ConversationDeps {
        pool: pool.clone(),
        keyring,
        settings: settings.pools.conversations.clone(),
        agent: Arc::new(Agent::new(agent_embedder, None, settings.agent.clone())),
        history_messages: settings.agent.history_messages,
    };
    let answerable: Vec<String> = dataset.questions.answerable.iter().map(|q| q.question.clone()).collect();
    anyhow::ensure!(!answerable.is_empty(), "{} has no answerable questions", args.dataset.display());
    let messages: Vec<String> = answerable.iter().cycle().take(args.messages + WARMUP_MESSAGES).cloned().collect();
    let answers = measure_answers(&deps, admin, &conversation, &messages).await?;
    println!("{:<40} {:>6} {:>10} {:>10}", "measure", "n", "p50 ms", "p99 ms");
    print_row("embed one question (baseline)", &answers.embed_question);
    let plan = if conversation.chunks <= retrieval::EXACT_SCAN_MAX_CHUNKS { "exact" } else { "HNSW" };
    print_row(&format!("  search ({plan}), merchant of {} chunks", conversation.chunks), &answers.search);
    print_row("inbound message -> reply stored", &answers.answer);
    println!(
        "ratio answer / embed p50: {:.1}",
        answers.answer.percentile_ms(0.5) / answers.embed_question.percentile_ms(0.5)
    );
    println!(
        "replies stored: {} of {}; handed over to a person: {}",
        answers.replies_stored,
        answers.answer.0.len(),
        answers.handed_over
    );
    anyhow::ensure!(
        answers.replies_stored == answers.answer.0.len(),
        "{} of {} answered messages have no reply task",
        answers.answer.0.len() - answers.replies_stored,
        answers.answer.0.len()
    );
    Ok(())
}

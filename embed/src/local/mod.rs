//! all-MiniLM-L6-v2 run in-process on the CPU, producing the same vectors as sentence-transformers
//! for the same texts. Inference runs on tokio's blocking threads, one batch at a time, so the
//! async runtime keeps serving while a product's chunks are embedded, and dropping the future
//! stops the work after the batch in progress.
//!
//! Batches are made of texts of similar length ([`crate::batching`]), each padded only to its
//! longest text, and each batch is spread over one thread per core.

mod bert;
mod encoder;
mod files;
mod shared;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use recete_knowledge::{EmbedError, Embedder};

use crate::batching;
use encoder::MiniLmEncoder;
use files::ModelFiles;

/// The name stored beside every vector this embedder makes.
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";

/// Tokens a text is cut to, special tokens included: sentence-transformers' `max_seq_length` for
/// this model, which was trained on texts no longer than that.
pub const MAX_TOKENS: usize = 256;

/// Texts run through the model together unless [`LocalMiniLm::with_batch_size`] says otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 32;

/// Cheap to clone: clones share the loaded weights.
#[derive(Clone)]
pub struct LocalMiniLm {
    encoder: Arc<MiniLmEncoder>,
    batch_size: usize,
    /// Threads a batch is spread over: the machine's cores.
    threads: usize,
}

impl LocalMiniLm {
    /// Loads `config.json`, `model.safetensors` and `tokenizer.json` from `folder` (blocking file
    /// reads of about 90 MB). Prefer [`LocalMiniLm::shared`], which loads each folder once.
    pub fn load(folder: impl AsRef<Path>) -> Result<Self, EmbedError> {
        let files = ModelFiles::locate(folder.as_ref())?;
        let started = Instant::now();
        let encoder = MiniLmEncoder::load(&files)?;
        tracing::info!(
            model = MODEL_NAME,
            folder = %files.folder.display(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "embedding model loaded"
        );
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Ok(Self { encoder: Arc::new(encoder), batch_size: DEFAULT_BATCH_SIZE, threads })
    }

    /// The process-wide model for `folder`, loaded on the first call (blocking) and shared after.
    pub fn shared(folder: impl AsRef<Path>) -> Result<Arc<Self>, EmbedError> {
        shared::get_or_load(folder.as_ref())
    }

    /// The same loaded model, run `batch_size` texts at a time (at least 1).
    pub fn with_batch_size(&self, batch_size: usize) -> Self {
        Self { batch_size: batch_size.max(1), ..self.clone() }
    }

    /// The same loaded model, each batch spread over `threads` threads (at least 1).
    pub fn with_threads(&self, threads: usize) -> Self {
        Self { threads: threads.max(1), ..self.clone() }
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Tokens the model reads for `text`, special tokens included, before padding.
    pub fn token_count(&self, text: &str) -> Result<usize, EmbedError> {
        self.encoder.token_count(text)
    }

    /// Floating-point operations of the model's matrix products for one text of `tokens`
    /// tokens: the useful work of embedding it, against which a throughput becomes FLOP/s.
    pub fn forward_flops(&self, tokens: usize) -> f64 {
        self.encoder.forward_flops(tokens)
    }

    async fn embed_all(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let started = Instant::now();
        let mut vectors = vec![Vec::new(); texts.len()];
        for batch in batching::by_length(texts, self.batch_size) {
            // candle runs element-wise operations on the calling thread and only matrix
            // products on all cores: a batch split over one thread per core keeps every core
            // busy in between.
            let parts = batching::split(&batch, self.threads);
            let runs = parts.into_iter().map(|part| {
                let part_texts: Vec<String> = part.iter().map(|&index| texts[index].clone()).collect();
                let encoder = Arc::clone(&self.encoder);
                async move {
                    let embedded = tokio::task::spawn_blocking(move || encoder.embed_batch(part_texts))
                        .await
                        .map_err(|e| EmbedError::Model(format!("{MODEL_NAME} inference did not finish: {e}")))??;
                    if embedded.len() != part.len() {
                        return Err(EmbedError::Count { expected: part.len(), got: embedded.len() });
                    }
                    Ok(part.into_iter().zip(embedded))
                }
            });
            for (index, vector) in futures::future::try_join_all(runs).await?.into_iter().flatten() {
                vectors[index] = vector;
            }
        }
        tracing::debug!(
            model = MODEL_NAME,
            texts = texts.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "texts embedded"
        );
        Ok(vectors)
    }
}

impl Embedder for LocalMiniLm {
    fn model_name(&self) -> &str {
        MODEL_NAME
    }

    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
        Box::pin(self.embed_all(texts))
    }
}

impl fmt::Debug for LocalMiniLm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalMiniLm").field("model", &MODEL_NAME).field("batch_size", &self.batch_size).finish()
    }
}

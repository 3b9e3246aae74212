//! The trait every embedder implements: the local model and remote OpenAI-compatible endpoints
//! alike, so chunk storage and retrieval never know which one runs.

use futures::future::BoxFuture;

/// Vector size of `knowledge_chunks.embedding`: all-MiniLM-L6-v2's, and what remote embedders
/// are asked for.
pub const DIMENSIONS: usize = 384;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The local model could not be loaded or run (missing files, bad weights).
    #[error("embedding model: {0}")]
    Model(String),
    /// A remote endpoint refused or failed; `retryable` says whether a later attempt may succeed.
    #[error("embedding endpoint: {message}")]
    Remote { message: String, retryable: bool },
    #[error("embedding endpoint did not answer within {0} ms")]
    Timeout(u64),
    #[error("embedder returned {got} dimensions, expected {expected}")]
    Dimensions { expected: usize, got: usize },
    #[error("embedder returned {got} vectors for {expected} texts")]
    Count { expected: usize, got: usize },
}

impl EmbedError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Timeout(_) | Self::Remote { retryable: true, .. })
    }
}

/// Turns texts into unit-length vectors of [`DIMENSIONS`] floats, one per text, in order.
pub trait Embedder: Send + Sync {
    /// The name stored beside each vector (`knowledge_chunks.model`): vectors of different
    /// models are never compared.
    fn model_name(&self) -> &str;

    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>>;
}

/// Cosine similarity of two vectors (their dot product when both are unit length).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let denominator = norm(a) * norm(b);
    if denominator == 0.0 { 0.0 } else { dot / denominator }
}

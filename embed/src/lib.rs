//! Embedders: text in, unit vectors of [`recete_knowledge::DIMENSIONS`] floats out.
//!
//! - [`LocalMiniLm`]: all-MiniLM-L6-v2 in-process on the CPU, the default. Its files come from
//!   `make models` (which verifies them); nothing is ever downloaded at run time, and a missing
//!   file is an error naming the folder and how to fetch it.
//! - [`OpenAiEmbedder`]: any OpenAI-compatible `/embeddings` endpoint, asked for the same
//!   number of dimensions.
//!
//! [`from_settings`] picks one from the `[embedding]` settings.

mod batching;
mod local;
mod openai;
mod pooling;
pub mod settings;

use std::sync::Arc;

use recete_knowledge::{EmbedError, Embedder};

pub use local::{DEFAULT_BATCH_SIZE, LocalMiniLm, MAX_TOKENS, MODEL_NAME};
pub use openai::OpenAiEmbedder;
pub use settings::{EmbeddingProvider, EmbeddingSettings};

/// The embedder `settings.provider` names. The local model is loaded here (blocking, about
/// 90 MB, once per folder per process), so a missing model stops start-up rather than the first
/// job.
pub fn from_settings(settings: &EmbeddingSettings) -> Result<Arc<dyn Embedder>, EmbedError> {
    Ok(match settings.provider {
        EmbeddingProvider::Local => {
            Arc::new(LocalMiniLm::shared(&settings.model_dir)?.with_batch_size(settings.batch_size))
        }
        EmbeddingProvider::Openai => Arc::new(OpenAiEmbedder::new(settings)?),
    })
}

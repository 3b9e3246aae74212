//! One forward pass of all-MiniLM-L6-v2 over a batch of texts on the CPU: tokenise with padding
//! to the batch's longest text, run BERT with the attention mask, mean-pool, normalise. Blocking
//! and CPU-bound, so it is only ever called from a blocking thread.

use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{Config, DTYPE};
use recete_knowledge::{DIMENSIONS, EmbedError};
use tokenizers::{Encoding, PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::bert::Bert;
use super::files::{CONFIG_FILE, ModelFiles, TOKENIZER_FILE, WEIGHTS_FILE};
use super::{MAX_TOKENS, MODEL_NAME};
use crate::pooling;

pub(crate) struct MiniLmEncoder {
    model: Bert,
    tokenizer: Tokenizer,
    shape: Shape,
}

/// The sizes that decide a forward pass's arithmetic.
#[derive(Debug, Clone, Copy)]
struct Shape {
    layers: usize,
    hidden: usize,
    intermediate: usize,
}

impl MiniLmEncoder {
    /// Reads the three files. The weights are read into memory rather than memory-mapped: the
    /// workspace forbids `unsafe`, and candle copies every tensor out of the mapping anyway.
    pub(crate) fn load(files: &ModelFiles) -> Result<Self, EmbedError> {
        let config_text = std::fs::read_to_string(&files.config).map_err(|e| files.unreadable(CONFIG_FILE, e))?;
        let config: Config = serde_json::from_str(&config_text).map_err(|e| files.unreadable(CONFIG_FILE, e))?;
        if config.hidden_size != DIMENSIONS {
            return Err(files.unreadable(
                CONFIG_FILE,
                format!("hidden_size is {}, {MODEL_NAME} has {DIMENSIONS}", config.hidden_size),
            ));
        }

        let weights = std::fs::read(&files.weights).map_err(|e| files.unreadable(WEIGHTS_FILE, e))?;
        let variables = VarBuilder::from_buffered_safetensors(weights, DTYPE, &Device::Cpu)
            .map_err(|e| files.unreadable(WEIGHTS_FILE, e))?;
        let model = Bert::load(variables, &config).map_err(|e| files.unreadable(WEIGHTS_FILE, e))?;

        let mut tokenizer = Tokenizer::from_file(&files.tokenizer).map_err(|e| files.unreadable(TOKENIZER_FILE, e))?;
        // The file pads every text to a fixed 128 tokens and cuts there; sentence-transformers
        // instead pads to the longest text of the batch and cuts at its max_seq_length.
        let padding = tokenizer.get_padding().cloned().unwrap_or_default();
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            pad_to_multiple_of: None,
            ..padding
        }));
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: MAX_TOKENS, ..TruncationParams::default() }))
            .map_err(|e| files.unreadable(TOKENIZER_FILE, e))?;

        let shape = Shape {
            layers: config.num_hidden_layers,
            hidden: config.hidden_size,
            intermediate: config.intermediate_size,
        };
        Ok(Self { model, tokenizer, shape })
    }

    /// Tokens of `text` as the model reads it, special tokens included, before padding.
    pub(crate) fn token_count(&self, text: &str) -> Result<usize, EmbedError> {
        Ok(self
            .tokenizer
            .encode(text, true)
            .map_err(|e| EmbedError::Model(format!("tokenizing for {MODEL_NAME}: {e}")))?
            .len())
    }

    /// Floating-point operations of the matrix products of one forward pass over `tokens`
    /// tokens (no padding): per layer and token, the query, key, value and output projections
    /// (4·h² multiply-adds) and the feed-forward pair (2·h·i); per layer, the attention scores
    /// and their weighted sum (2·n²·h). A multiply-add counts two.
    pub(crate) fn forward_flops(&self, tokens: usize) -> f64 {
        let Shape { layers, hidden, intermediate } = self.shape;
        let (tokens, hidden, intermediate) = (tokens as f64, hidden as f64, intermediate as f64);
        let per_token = 4.0 * hidden * hidden + 2.0 * hidden * intermediate;
        let attention = 2.0 * tokens * tokens * hidden;
        2.0 * layers as f64 * (tokens * per_token + attention)
    }

    /// One unit vector of [`DIMENSIONS`] floats per text, in order.
    pub(crate) fn embed_batch(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts, true)
            .map_err(|e| EmbedError::Model(format!("tokenizing for {MODEL_NAME}: {e}")))?;
        let Some(width) = encodings.first().map(Encoding::len) else {
            return Ok(Vec::new());
        };
        let rows = encodings.len();
        let matrix = |field: fn(&Encoding) -> &[u32]| {
            let values: Vec<u32> = encodings.iter().flat_map(|encoding| field(encoding).iter().copied()).collect();
            Tensor::from_vec(values, (rows, width), &Device::Cpu)
        };
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let token_ids = matrix(Encoding::get_ids)?;
            let type_ids = matrix(Encoding::get_type_ids)?;
            let attention_mask = matrix(Encoding::get_attention_mask)?;
            let hidden = self.model.forward(&token_ids, &type_ids, &attention_mask)?;
            let pooled = pooling::masked_mean(&hidden, &attention_mask)?;
            pooling::l2_normalize_rows(&pooled)?.to_vec2::<f32>()
        };
        run().map_err(|e| EmbedError::Model(format!("running {MODEL_NAME}: {e}")))
    }
}

//! One forward pass of all-MiniLM-L6-v2 over a batch of texts on the CPU: tokenise with padding
//! to the batch's longest text, run BERT with the attention mask, mean-pool, normalise. Blocking
//! and CPU-bound, so it is only ever called from a blocking thread.

use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, DTYPE};
use recete_knowledge::{DIMENSIONS, EmbedError};
use tokenizers::{Encoding, PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::files::{CONFIG_FILE, ModelFiles, TOKENIZER_FILE, WEIGHTS_FILE};
use super::{MAX_TOKENS, MODEL_NAME};
use crate::pooling;

pub(crate) struct MiniLmEncoder {
    model: BertModel,
    tokenizer: Tokenizer,
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
        let model = BertModel::load(variables, &config).map_err(|e| files.unreadable(WEIGHTS_FILE, e))?;

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

        Ok(Self { model, tokenizer })
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
            let hidden = self.model.forward(&token_ids, &type_ids, Some(&attention_mask))?;
            let pooled = pooling::masked_mean(&hidden, &attention_mask)?;
            pooling::l2_normalize_rows(&pooled)?.to_vec2::<f32>()
        };
        run().map_err(|e| EmbedError::Model(format!("running {MODEL_NAME}: {e}")))
    }
}

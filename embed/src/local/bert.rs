//! BERT's forward pass for inference on the CPU, shaped for batches. The same arithmetic as
//! `candle_transformers::models::bert` on the same weights, arranged so a batch costs little
//! more per text than a single text:
//!
//! - every projection multiplies all of the batch's tokens at once, as one matrix of
//!   (texts × tokens) rows; the query, key and value projections are one product, with the
//!   query's weights scaled by 1/√(head size) at load so the scores need no extra pass;
//! - the padding mask is expanded once per batch to the attention scores' shape and added as a
//!   plain tensor in every layer (a broadcast add over four dimensions walks its indices one by
//!   one), and a batch without padding adds none;
//! - softmax and layer norm are candle's fused kernels, which use every core.

use candle_core::{DType, Module, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder, embedding, layer_norm, linear};
use candle_transformers::models::bert::{Config, HiddenAct};

pub(crate) struct Bert {
    words: Embedding,
    positions: Embedding,
    token_types: Embedding,
    embeddings_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    head_size: usize,
}

struct Layer {
    /// Query, key and value in one projection (the query's part pre-scaled).
    qkv: Linear,
    attention_output: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

impl Bert {
    pub(crate) fn load(weights: VarBuilder, config: &Config) -> candle_core::Result<Self> {
        if !matches!(config.hidden_act, HiddenAct::Gelu) {
            candle_core::bail!("only the erf GELU activation is supported, not {:?}", config.hidden_act);
        }
        let hidden = config.hidden_size;
        let heads = config.num_attention_heads;
        if heads == 0 || !hidden.is_multiple_of(heads) {
            candle_core::bail!("hidden_size {hidden} is not a multiple of num_attention_heads {heads}");
        }
        let head_size = hidden / heads;
        let embeddings = weights.pp("embeddings");
        let layers = (0..config.num_hidden_layers)
            .map(|index| Layer::load(weights.pp(format!("encoder.layer.{index}")), config, head_size))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self {
            words: embedding(config.vocab_size, hidden, embeddings.pp("word_embeddings"))?,
            positions: embedding(config.max_position_embeddings, hidden, embeddings.pp("position_embeddings"))?,
            token_types: embedding(config.type_vocab_size, hidden, embeddings.pp("token_type_embeddings"))?,
            embeddings_norm: layer_norm(hidden, config.layer_norm_eps, embeddings.pp("LayerNorm"))?,
            layers,
            heads,
            head_size,
        })
    }

    /// Hidden states (texts × tokens × hidden) of `token_ids` (texts × tokens, u32), where
    /// `attention_mask` (texts × tokens, u32) is 1 on real tokens and 0 on padding.
    pub(crate) fn forward(
        &self,
        token_ids: &Tensor,
        type_ids: &Tensor,
        attention_mask: &Tensor,
    ) -> candle_core::Result<Tensor> {
        let (texts, tokens) = token_ids.dims2()?;
        let positions = Tensor::arange(0u32, tokens as u32, token_ids.device())?;
        let embedded = (self.words.forward(token_ids)? + self.token_types.forward(type_ids)?)?
            .broadcast_add(&self.positions.forward(&positions)?)?;
        let mut hidden = self.embeddings_norm.forward(&embedded)?.reshape((texts * tokens, ()))?;
        let mask = self.score_mask(attention_mask)?;
        let shape = AttentionShape { texts, tokens, heads: self.heads, head_size: self.head_size };
        for layer in &self.layers {
            hidden = layer.forward(&hidden, mask.as_ref(), shape)?;
        }
        hidden.reshape((texts, tokens, ()))
    }

    /// What is added to the attention scores (texts × heads × tokens × tokens): the lowest f32
    /// for padded keys, so softmax gives them no weight; `None` when nothing is padded.
    fn score_mask(&self, attention_mask: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let (texts, tokens) = attention_mask.dims2()?;
        let padded = attention_mask.to_dtype(DType::F32)?;
        if padded.min_all()?.to_scalar::<f32>()? > 0.0 {
            return Ok(None);
        }
        let additive = ((padded - 1.0)? * f64::from(f32::MAX))?;
        additive
            .reshape((texts, 1, 1, tokens))?
            .broadcast_as((texts, self.heads, tokens, tokens))?
            .contiguous()
            .map(Some)
    }
}

/// Sizes of one batch's attention.
#[derive(Debug, Clone, Copy)]
struct AttentionShape {
    texts: usize,
    tokens: usize,
    heads: usize,
    head_size: usize,
}

impl Layer {
    fn load(weights: VarBuilder, config: &Config, head_size: usize) -> candle_core::Result<Self> {
        let hidden = config.hidden_size;
        let attention = weights.pp("attention");
        let projection = |name: &str, scale: f64| -> candle_core::Result<(Tensor, Tensor)> {
            let weights = attention.pp("self").pp(name);
            let weight = (weights.get((hidden, hidden), "weight")? * scale)?;
            let bias = (weights.get(hidden, "bias")? * scale)?;
            Ok((weight, bias))
        };
        let (query, query_bias) = projection("query", 1.0 / (head_size as f64).sqrt())?;
        let (key, key_bias) = projection("key", 1.0)?;
        let (value, value_bias) = projection("value", 1.0)?;
        let qkv = Linear::new(
            Tensor::cat(&[&query, &key, &value], 0)?,
            Some(Tensor::cat(&[&query_bias, &key_bias, &value_bias], 0)?),
        );
        let eps = config.layer_norm_eps;
        Ok(Self {
            qkv,
            attention_output: linear(hidden, hidden, attention.pp("output.dense"))?,
            attention_norm: layer_norm(hidden, eps, attention.pp("output.LayerNorm"))?,
            intermediate: linear(hidden, config.intermediate_size, weights.pp("intermediate.dense"))?,
            output: linear(config.intermediate_size, hidden, weights.pp("output.dense"))?,
            output_norm: layer_norm(hidden, eps, weights.pp("output.LayerNorm"))?,
        })
    }

    /// One encoder layer over `hidden` ((texts × tokens) × hidden).
    fn forward(&self, hidden: &Tensor, mask: Option<&Tensor>, shape: AttentionShape) -> candle_core::Result<Tensor> {
        let AttentionShape { texts, tokens, heads, head_size } = shape;
        // (texts·tokens, 3·hidden) → (3, texts, heads, tokens, head size)
        let qkv = self.qkv.forward(hidden)?.reshape((texts, tokens, 3, heads, head_size))?.permute((2, 0, 3, 1, 4))?;
        let qkv = qkv.contiguous()?;
        let (query, key, value) = (qkv.get(0)?, qkv.get(1)?, qkv.get(2)?);
        let scores = query.matmul(&key.t()?)?;
        let scores = match mask {
            Some(mask) => (scores + mask)?,
            None => scores,
        };
        let weights = candle_nn::ops::softmax_last_dim(&scores)?;
        let context = weights.matmul(&value)?.transpose(1, 2)?.contiguous()?.reshape((texts * tokens, ()))?;
        let attended = self.attention_norm.forward(&(self.attention_output.forward(&context)? + hidden)?)?;
        let intermediate = self.intermediate.forward(&attended)?.gelu_erf()?;
        self.output_norm.forward(&(self.output.forward(&intermediate)? + &attended)?)
    }
}

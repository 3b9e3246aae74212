//! The configured chat model: endpoint, model name and the limits every answer stays within.

use crate::settings::LlmSettings;

use crate::error::LlmError;
use crate::transport::Transport;

/// Highest sampling temperature OpenAI-compatible endpoints accept.
const MAX_TEMPERATURE: f32 = 2.0;

/// An OpenAI-compatible chat model that answers from given sources with tools
/// ([`ChatModel::answer`], in the model loop). Cheap to clone: clones share one connection pool.
#[derive(Clone, Debug)]
pub struct ChatModel {
    pub(crate) transport: Transport,
    pub(crate) model: String,
    pub(crate) temperature: f32,
    pub(crate) max_rounds: usize,
}

impl ChatModel {
    /// Checks the settings once, at start-up, so a bad value is reported before any customer waits.
    pub fn new(settings: &LlmSettings) -> Result<Self, LlmError> {
        let transport = Transport::new(settings)?;
        let model = settings.model.trim();
        if model.is_empty() {
            return Err(LlmError::invalid("model", "must name the model to call"));
        }
        if settings.max_rounds == 0 {
            return Err(LlmError::invalid("max_rounds", "must be at least 1"));
        }
        if !(0.0..=MAX_TEMPERATURE).contains(&settings.temperature) {
            return Err(LlmError::invalid(
                "temperature",
                format!("must be between 0 and {MAX_TEMPERATURE}, got {}", settings.temperature),
            ));
        }
        Ok(Self {
            transport,
            model: model.to_owned(),
            temperature: settings.temperature,
            max_rounds: settings.max_rounds,
        })
    }

    pub fn model(&self) -> &str {
        &self.model
    }
}

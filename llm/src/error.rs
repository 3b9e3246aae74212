//! Why a [`ChatModel`](crate::ChatModel) could not be built from the configuration.

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("no chat model is configured: llm.base_url is empty")]
    NotConfigured,
    #[error("llm.{setting} is invalid: {problem}")]
    InvalidSetting { setting: &'static str, problem: String },
    #[error("cannot build the HTTP client for the chat model: {0}")]
    HttpClient(#[source] reqwest::Error),
}

impl LlmError {
    pub(crate) fn invalid(setting: &'static str, problem: impl Into<String>) -> Self {
        Self::InvalidSetting { setting, problem: problem.into() }
    }
}

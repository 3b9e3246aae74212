//! The `[embedding]` section of the configuration file: which embedder turns product knowledge
//! and questions into vectors, and which values are refused. The documented defaults are in
//! `config/default.toml`; the whole file is composed and loaded by `recete-config`.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

/// Which embedder turns product knowledge and questions into vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmbeddingProvider {
    /// all-MiniLM-L6-v2 run in-process on the CPU from `model_dir`.
    Local,
    /// Any OpenAI-compatible `/embeddings` endpoint.
    Openai,
}

/// The embedder's settings. `api_key` is a [`SecretString`]: `Debug` shows it redacted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingSettings {
    pub provider: EmbeddingProvider,
    /// Folder holding `model.safetensors`, `tokenizer.json` and `config.json` (`make models`).
    pub model_dir: PathBuf,
    /// Texts embedded per call.
    pub batch_size: usize,
    /// OpenAI-compatible endpoint, model and key (provider = "openai").
    pub base_url: String,
    pub model: String,
    pub api_key: SecretString,
    pub request_timeout_ms: u64,
}

impl EmbeddingSettings {
    /// What is wrong with these settings, naming the setting.
    pub fn problem(&self) -> Option<String> {
        if self.batch_size == 0 {
            return Some("embedding.batch_size must be at least 1".into());
        }
        if self.provider == EmbeddingProvider::Openai && self.base_url.trim().is_empty() {
            return Some("embedding.provider is \"openai\" but embedding.base_url is empty".into());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use figment::Figment;
    use figment::providers::{Format, Toml};
    use figment::value::Value;
    use secrecy::ExposeSecret;

    use super::*;

    /// The `[embedding]` section as the configuration file documents it, with `changes` over it.
    fn documented(changes: &[(&str, Value)]) -> EmbeddingSettings {
        let mut figment = Figment::from(Toml::string(include_str!("../../config/default.toml")));
        for (key, value) in changes {
            figment = figment.merge((format!("embedding.{key}"), value.clone()));
        }
        figment.extract_inner("embedding").expect("the [embedding] section reads")
    }

    #[test]
    fn the_documented_defaults_are_the_local_model_and_valid() {
        let settings = documented(&[]);
        assert_eq!(settings.provider, EmbeddingProvider::Local);
        assert_eq!(settings.model_dir, PathBuf::from("models/all-MiniLM-L6-v2"));
        assert_eq!(settings.batch_size, 32);
        assert_eq!(settings.base_url, "");
        assert_eq!(settings.model, "all-MiniLM-L6-v2");
        assert_eq!(settings.api_key.expose_secret(), "");
        assert_eq!(settings.request_timeout_ms, 20_000);
        assert_eq!(settings.problem(), None);
    }

    #[test]
    fn a_zero_batch_is_refused_by_name() {
        let problem = documented(&[("batch_size", 0.into())]).problem().expect("zero is refused");
        assert!(problem.contains("embedding.batch_size"), "{problem}");
    }

    #[test]
    fn an_openai_provider_needs_its_endpoint() {
        let problem = documented(&[("provider", "openai".into())]).problem().expect("no base_url");
        assert!(problem.contains("embedding.base_url"), "{problem}");
        let given = documented(&[("provider", "openai".into()), ("base_url", "https://models.internal/v1".into())]);
        assert_eq!(given.provider, EmbeddingProvider::Openai);
        assert_eq!(given.problem(), None);
    }

    #[test]
    fn an_unknown_provider_is_refused_by_name() {
        let figment = Figment::from(Toml::string(include_str!("../../config/default.toml")))
            .merge(("embedding.provider", "cohere"));
        let error = figment.extract_inner::<EmbeddingSettings>("embedding").expect_err("not a provider");
        assert!(error.to_string().contains("cohere"), "{error}");
    }

    #[test]
    fn the_api_key_never_prints() {
        let settings = documented(&[("api_key", "sk-embedding-secret-123".into())]);
        assert_eq!(settings.api_key.expose_secret(), "sk-embedding-secret-123");
        let shown = format!("{settings:?}");
        assert!(!shown.contains("sk-embedding-secret-123"), "{shown}");
    }
}

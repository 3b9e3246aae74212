//! The `[llm]` section of the configuration file: the chat model the answering agent may use,
//! and which values are refused. The documented defaults are in `config/default.toml`; the whole
//! file is composed and loaded by `recete-config`. [`crate::ChatModel::new`] checks the rest of
//! a configured model (its URL, timeout and temperature) when it is built.

use secrecy::SecretString;
use serde::Deserialize;

/// An OpenAI-compatible chat model for the answering agent; an empty `base_url` means none, and
/// the agent answers extractively from the retrieved text. `api_key` is a [`SecretString`]:
/// `Debug` shows it redacted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmSettings {
    pub base_url: String,
    pub model: String,
    pub api_key: SecretString,
    pub request_timeout_ms: u64,
    /// Model calls one answer may make (each tool round is one more call).
    pub max_rounds: usize,
    pub temperature: f32,
}

impl LlmSettings {
    pub fn is_configured(&self) -> bool {
        !self.base_url.trim().is_empty()
    }

    /// What is wrong with these settings, naming the setting. A model that is not configured
    /// has nothing to check.
    pub fn problem(&self) -> Option<String> {
        if self.is_configured() && (self.model.trim().is_empty() || self.max_rounds == 0) {
            return Some("llm.base_url is set, so llm.model and llm.max_rounds (at least 1) are needed".into());
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

    /// The `[llm]` section as the configuration file documents it, with `changes` over it.
    fn documented(changes: &[(&str, Value)]) -> LlmSettings {
        let mut figment = Figment::from(Toml::string(include_str!("../../config/default.toml")));
        for (key, value) in changes {
            figment = figment.merge((format!("llm.{key}"), value.clone()));
        }
        figment.extract_inner("llm").expect("the [llm] section reads")
    }

    #[test]
    fn the_documented_defaults_are_no_model() {
        let settings = documented(&[]);
        assert!(!settings.is_configured());
        assert_eq!(settings.model, "");
        assert_eq!(settings.api_key.expose_secret(), "");
        assert_eq!(settings.request_timeout_ms, 20_000);
        assert_eq!(settings.max_rounds, 4);
        assert_eq!(settings.temperature, 0.2);
        assert_eq!(settings.problem(), None, "no model is a valid choice");
    }

    #[test]
    fn a_configured_model_needs_a_name_and_rounds() {
        let base_url = || ("base_url", Value::from("https://models.internal/v1"));
        let problem = documented(&[base_url()]).problem().expect("no model name");
        assert!(problem.contains("llm.model"), "{problem}");
        let problem = documented(&[base_url(), ("model", "small".into()), ("max_rounds", 0.into())])
            .problem()
            .expect("zero rounds");
        assert!(problem.contains("llm.max_rounds"), "{problem}");
        let settings = documented(&[base_url(), ("model", "small".into())]);
        assert!(settings.is_configured());
        assert_eq!(settings.problem(), None);
    }

    #[test]
    fn a_blank_base_url_is_no_model() {
        let settings = documented(&[("base_url", "   ".into()), ("max_rounds", 0.into())]);
        assert!(!settings.is_configured());
        assert_eq!(settings.problem(), None, "an unused model's limits are not checked");
    }

    #[test]
    fn the_api_key_never_prints() {
        let settings = documented(&[("api_key", "sk-chat-secret-456".into())]);
        let shown = format!("{settings:?}");
        assert!(!shown.contains("sk-chat-secret-456"), "{shown}");
        assert_eq!(settings.api_key.expose_secret(), "sk-chat-secret-456");
    }
}

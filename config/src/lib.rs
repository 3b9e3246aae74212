//! The one configuration file, composed: the platform's sections, declared by `recete-platform`
//! ([`PlatformSettings`]), and the sections the adapter crates declare for themselves:
//! `[scrape]` ([`ScrapeSettings`], `recete-scrape`), `[embedding]` ([`EmbeddingSettings`],
//! `recete-embed`) and `[llm]` ([`LlmSettings`], `recete-llm`). Each crate keeps its section's
//! type and the checks of its values; this crate reads them all from the same layers
//! (`config/default.toml`, `RECETE_CONFIG`, `RECETE__SECTION__KEY` variables and their `_FILE`
//! forms, as `recete_platform::config` describes) and refuses a section no crate declares.
//!
//! The adapters sit above `recete-platform` (through `recete-knowledge`), so `recete-platform` cannot
//! name their types; the composition lives here, above both, and the processes (`recete`, the
//! workers, the console) read [`Settings`].

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};

use figment::Figment;
use recete_platform::config::describe_load_error;
use serde::Deserialize;
use serde::de::IgnoredAny;

pub use recete_embed::{EmbeddingProvider, EmbeddingSettings};
pub use recete_llm::LlmSettings;
pub use recete_platform::config::{
    ConfigError, Environment, PlatformSettings, base_figment, figment_with_env, process_figment,
};
pub use recete_scrape::ScrapeSettings;

/// The sections the adapter crates declare, by name.
const ADAPTER_SECTIONS: [&str; 3] = ["scrape", "embedding", "llm"];

/// Every setting of a process. The platform's sections read through it as its own fields
/// (`settings.api`, `settings.crypto`), and a `&Settings` serves where a `&PlatformSettings` is
/// asked for; the adapters' sections are fields of their own.
#[derive(Debug, Clone)]
pub struct Settings {
    platform: PlatformSettings,
    pub scrape: ScrapeSettings,
    pub embedding: EmbeddingSettings,
    pub llm: LlmSettings,
}

/// The adapters' sections, read from the same layers as the platform's.
#[derive(Deserialize)]
struct AdapterSections {
    scrape: ScrapeSettings,
    embedding: EmbeddingSettings,
    llm: LlmSettings,
}

impl Settings {
    /// Loads settings from the defaults, `RECETE_CONFIG` and the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_from(process_figment())
    }

    /// Loads and validates every section from an already layered figment (tests pass their own).
    /// A message names the section or key at fault, never a secret's value.
    pub fn load_from(figment: Figment) -> Result<Self, ConfigError> {
        refuse_unknown_sections(&figment)?;
        let platform = PlatformSettings::load_from(figment.clone())?;
        let AdapterSections { scrape, embedding, llm } =
            figment.extract().map_err(|error| ConfigError::Load(describe_load_error(error)))?;
        let production = platform.app.environment == Environment::Production;
        if let Some(problem) = scrape.problem(production).or_else(|| embedding.problem()).or_else(|| llm.problem()) {
            return Err(ConfigError::Invalid(problem));
        }
        Ok(Self { platform, scrape, embedding, llm })
    }

    /// The platform's sections alone.
    pub fn platform(&self) -> &PlatformSettings {
        &self.platform
    }
}

impl Deref for Settings {
    type Target = PlatformSettings;

    fn deref(&self) -> &PlatformSettings {
        &self.platform
    }
}

impl DerefMut for Settings {
    fn deref_mut(&mut self) -> &mut PlatformSettings {
        &mut self.platform
    }
}

/// Every section a crate declares: the platform's and the adapters'.
fn known_sections() -> impl Iterator<Item = &'static str> {
    PlatformSettings::SECTIONS.into_iter().chain(ADAPTER_SECTIONS)
}

/// A section of the file that no crate declares (a typo such as `[embeding]`) is refused by name.
fn refuse_unknown_sections(figment: &Figment) -> Result<(), ConfigError> {
    let sections: BTreeMap<String, IgnoredAny> =
        figment.extract().map_err(|error| ConfigError::Load(describe_load_error(error)))?;
    match sections.keys().find(|name| !known_sections().any(|known| known == name.as_str())) {
        Some(unknown) => Err(ConfigError::Load(format!(
            "unknown section `{unknown}`: the sections are {}",
            known_sections().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;

//! The composed file: every crate's section loads from the same layers, and what is refused.

use std::path::Path;

use figment::providers::{Format, Toml};
use secrecy::ExposeSecret;

use super::*;

/// A valid 32-byte key and lookup key (base64) that are not development keys.
const KEY: &str = "Pq0G3y8rZmG3qk2Q8m0w9b1m7n5r3t1v2x4z6c8e0g0=";
const LOOKUP: &str = "c2VjcmV0LWxvb2t1cC1rZXktb2YtdGhpcnR5LXR3by1ieXRlcw==";

fn production() -> Figment {
    base_figment(None).merge(("app.environment", "production")).merge(Toml::string(&format!(
        "[crypto]\nactive_key_id = \"k-1\"\nkeys = {{ \"k-1\" = \"{KEY}\" }}\n\
         active_lookup_key_id = \"l-1\"\nlookup_keys = {{ \"l-1\" = \"{LOOKUP}\" }}\n"
    )))
}

fn refusal(figment: Figment) -> String {
    Settings::load_from(figment).expect_err("must be refused").to_string()
}

#[test]
fn default_config_loads_every_crates_section() {
    let settings = Settings::load_from(base_figment(None)).expect("default.toml must load");
    assert_eq!(settings.app.environment, Environment::Development);
    assert_eq!(settings.platform().api.body_limit_bytes, 1024 * 1024);
    assert_eq!(settings.scrape.max_bytes, 5 * 1024 * 1024);
    assert!(!settings.scrape.allow_loopback);
    assert_eq!(settings.embedding.provider, EmbeddingProvider::Local);
    assert_eq!(settings.embedding.batch_size, 32);
    assert!(!settings.llm.is_configured());
    assert_eq!(settings.llm.max_rounds, 4);

    let settings = Settings::load_from(production()).expect("production with its own keys starts");
    assert_eq!(settings.app.environment, Environment::Production);
}

#[test]
fn config_sections_are_those_the_file_documents() {
    let documented: BTreeMap<String, IgnoredAny> = base_figment(None).extract().expect("default.toml has sections");
    let documented: Vec<&str> = documented.keys().map(String::as_str).collect();
    let mut declared: Vec<&str> = known_sections().collect();
    declared.sort_unstable();
    assert_eq!(documented, declared, "every declared section is documented, and only those");
}

#[test]
fn production_config_refuses_loopback_scraping() {
    let error = refusal(production().merge(("scrape.allow_loopback", true)));
    assert!(error.contains("scrape.allow_loopback"), "{error}");
    let settings = Settings::load_from(base_figment(None).merge(("scrape.allow_loopback", true)))
        .expect("development may scrape loopback (tests, the demo)");
    assert!(settings.scrape.allow_loopback);
}

#[test]
fn adapter_config_refusals_name_the_setting() {
    let cases = [
        (base_figment(None).merge(("scrape.max_bytes", 0)), "scrape.max_bytes"),
        (base_figment(None).merge(("embedding.batch_size", 0)), "embedding.batch_size"),
        (base_figment(None).merge(("embedding.provider", "openai")), "embedding.base_url"),
        (base_figment(None).merge(("llm.base_url", "https://models.internal/v1")), "llm.model"),
    ];
    for (figment, named) in cases {
        let error = refusal(figment);
        assert!(error.contains(named), "{named}: {error}");
    }
}

#[test]
fn unknown_config_sections_and_keys_are_refused_by_name() {
    let error = refusal(base_figment(None).merge(("embeding.batch_size", 3)));
    assert!(error.contains("unknown section `embeding`"), "{error}");
    let error = refusal(base_figment(None).merge(("embedding.batch_sise", 3)));
    assert!(error.contains("batch_sise"), "{error}");
    let error = refusal(base_figment(None).merge(("api.lisen", "x")));
    assert!(error.contains("lisen"), "{error}");
}

#[test]
#[allow(clippy::result_large_err)] // figment::Jail fixes the closure's error type
fn environment_variables_override_adapter_config() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("llm-key", "sk-from-a-file\n")?;
        jail.set_env("RECETE__EMBEDDING__BATCH_SIZE", "7");
        jail.set_env("RECETE__SCRAPE__MAX_REDIRECTS", "2");
        jail.set_env("RECETE__LLM__BASE_URL", "https://models.internal/v1");
        jail.set_env("RECETE__LLM__MODEL", "small");
        jail.set_env("RECETE__LLM__API_KEY_FILE", "llm-key");
        jail.set_env("RECETE__API__LISTEN", "127.0.0.1:9999");
        let settings = Settings::load_from(figment_with_env(base_figment(None))).map_err(|e| e.to_string())?;
        assert_eq!(settings.embedding.batch_size, 7);
        assert_eq!(settings.scrape.max_redirects, 2);
        assert!(settings.llm.is_configured());
        assert_eq!(settings.llm.api_key.expose_secret(), "sk-from-a-file", "the trailing newline is dropped");
        assert_eq!(settings.api.listen.port(), 9999);

        jail.set_env("RECETE__EMBEDDING__BATCH_SIZE", "0");
        let error = Settings::load_from(figment_with_env(base_figment(None))).expect_err("zero").to_string();
        assert!(error.contains("embedding.batch_size"), "{error}");
        Ok(())
    });
}

#[test]
#[allow(clippy::result_large_err)]
fn config_errors_and_debug_never_show_an_adapter_secret() {
    let error = refusal(base_figment(None).merge(("embedding.api_key", 123456789)).merge(("llm.api_key", 987654321)));
    assert!(!error.contains("123456789") && !error.contains("987654321"), "{error}");
    assert!(error.contains("api_key"), "the key is named: {error}");

    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "override.toml",
            "[embedding]\napi_key = \"sk-embed-secret\"\n[llm]\napi_key = \"sk-llm-secret\"\n",
        )?;
        let settings =
            Settings::load_from(base_figment(Some(Path::new("override.toml")))).map_err(|e| e.to_string())?;
        assert_eq!(settings.embedding.api_key.expose_secret(), "sk-embed-secret");
        let shown = format!("{settings:?}");
        assert!(!shown.contains("sk-embed-secret") && !shown.contains("sk-llm-secret"), "{shown}");
        Ok(())
    });
}

//! The `[scrape]` section of the configuration file: how product pages are fetched, and which
//! values are refused. The documented defaults are in `config/default.toml`; the whole file is
//! composed and loaded by `recete-config`.

use serde::Deserialize;

/// Fetching merchants' product pages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeSettings {
    pub connect_timeout_ms: u64,
    /// The whole fetch of one page (robots.txt and each redirect count separately).
    pub request_timeout_ms: u64,
    /// A page larger than this is refused while it downloads, not after.
    pub max_bytes: usize,
    pub max_redirects: usize,
    pub user_agent: String,
    /// Lets pages on 127.0.0.1 and ::1 be fetched. For tests and the demo (`recete all --demo`
    /// turns it on in development, to scrape the API's own demo pages): in production a product
    /// URL must never reach the fleet's own loopback services.
    pub allow_loopback: bool,
}

impl ScrapeSettings {
    /// What is wrong with these settings, naming the setting; `production` refuses what is for
    /// tests only.
    pub fn problem(&self, production: bool) -> Option<String> {
        if self.max_bytes == 0 || self.request_timeout_ms == 0 {
            return Some("scrape.max_bytes and scrape.request_timeout_ms must be positive".into());
        }
        if self.allow_loopback && production {
            return Some("scrape.allow_loopback is for tests only and is refused in production".into());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use figment::Figment;
    use figment::providers::{Format, Toml};
    use figment::value::Value;

    use super::*;

    /// The `[scrape]` section as the configuration file documents it, with `changes` over it.
    fn documented(changes: &[(&str, Value)]) -> ScrapeSettings {
        let mut figment = Figment::from(Toml::string(include_str!("../../config/default.toml")));
        for (key, value) in changes {
            figment = figment.merge((format!("scrape.{key}"), value.clone()));
        }
        figment.extract_inner("scrape").expect("the [scrape] section reads")
    }

    #[test]
    fn the_documented_defaults_are_read_and_valid_in_production() {
        let settings = documented(&[]);
        assert_eq!(settings.connect_timeout_ms, 3000);
        assert_eq!(settings.request_timeout_ms, 15_000);
        assert_eq!(settings.max_bytes, 5 * 1024 * 1024);
        assert_eq!(settings.max_redirects, 5);
        assert!(settings.user_agent.starts_with("ReceteBot/"), "{}", settings.user_agent);
        assert!(!settings.allow_loopback);
        assert_eq!(settings.problem(true), None);
        assert_eq!(settings.problem(false), None);
    }

    #[test]
    fn zero_caps_are_refused_by_name() {
        for key in ["max_bytes", "request_timeout_ms"] {
            let problem = documented(&[(key, 0.into())]).problem(false).expect("zero is refused");
            assert!(problem.contains(&format!("scrape.{key}")), "{key}: {problem}");
        }
    }

    #[test]
    fn loopback_is_refused_in_production_only() {
        let settings = documented(&[("allow_loopback", true.into())]);
        assert_eq!(settings.problem(false), None, "tests and the demo may scrape loopback");
        let problem = settings.problem(true).expect("production refuses loopback");
        assert!(problem.contains("scrape.allow_loopback"), "{problem}");
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let figment =
            Figment::from(Toml::string(include_str!("../../config/default.toml"))).merge(("scrape.max_byte", 10));
        let error = figment.extract_inner::<ScrapeSettings>("scrape").expect_err("a typo is refused");
        assert!(error.to_string().contains("max_byte"), "{error}");
    }
}

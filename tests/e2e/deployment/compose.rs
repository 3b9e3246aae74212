//! The compose files and the production env example say only what the code understands: every
//! `RECETE__SECTION__KEY` they set is a documented setting, and every variable the production
//! file requires is in the example an operator copies.

use figment::Figment;
use figment::providers::{Format, Toml};

const DEFAULTS: &str = include_str!("../../../config/default.toml");
const COMPOSE: &str = include_str!("../../../docker-compose.yml");
const PRODUCTION: &str = include_str!("../../../docker-compose.production.yml");
const ENV_EXAMPLE: &str = include_str!("../../../deploy/production.env.example");

/// `RECETE__…` names in `text`.
fn setting_variables(text: &str) -> Vec<String> {
    let pattern = regex::Regex::new(r"RECETE__[A-Z0-9_]+").expect("pattern");
    let mut names: Vec<String> = pattern
        .find_iter(text)
        .map(|found| found.as_str().to_owned())
        .filter(|name| name != "RECETE__SECTION__KEY") // the pattern, as the comments spell it
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn every_setting_the_compose_files_set_is_a_documented_key() {
    let defaults = Figment::from(Toml::string(DEFAULTS));
    for (file, text) in [("docker-compose.yml", COMPOSE), ("docker-compose.production.yml", PRODUCTION)] {
        let variables = setting_variables(text);
        assert!(!variables.is_empty(), "{file} sets settings");
        for variable in variables {
            let key = variable.trim_start_matches("RECETE__").to_lowercase().replace("__", ".");
            // Secrets have no default value; their keys are documented in comments.
            let name = key.rsplit('.').next().unwrap_or_default();
            let documented = regex::Regex::new(&format!(r"(?m)^#\s*{name} = ")).expect("pattern");
            assert!(
                defaults.find_value(&key).is_ok() || (key.starts_with("crypto.") && documented.is_match(DEFAULTS)),
                "{file} sets {variable}, but config/default.toml has no `{key}`"
            );
        }
    }
}

#[test]
fn every_variable_the_production_file_requires_is_in_the_env_example() {
    // `${NAME:?message}` must be set; `${NAME:-default}` may be.
    let required = regex::Regex::new(r"\$\{([A-Z0-9_]+):\?").expect("pattern");
    let optional = regex::Regex::new(r"\$\{([A-Z0-9_]+):-").expect("pattern");
    let example: Vec<&str> =
        ENV_EXAMPLE.lines().filter(|line| !line.starts_with('#')).filter_map(|line| line.split('=').next()).collect();
    for captures in required.captures_iter(PRODUCTION).chain(optional.captures_iter(PRODUCTION)) {
        let name = &captures[1];
        if name == "RECETE_IMAGE" || name == "RECETE_API_PORT" {
            continue; // build-time choices with sensible defaults
        }
        assert!(
            example.contains(&name),
            "docker-compose.production.yml reads {name}; add it to deploy/production.env.example"
        );
    }
    assert!(PRODUCTION.contains("RECETE__APP__ENVIRONMENT: production"));
}

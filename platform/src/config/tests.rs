//! How the layers combine, and what production refuses.

use secrecy::ExposeSecret;

use super::*;

/// A valid 32-byte key (base64) that is not a development key.
const KEY: &str = "Pq0G3y8rZmG3qk2Q8m0w9b1m7n5r3t1v2x4z6c8e0g0=";
const LOOKUP: &str = "c2VjcmV0LWxvb2t1cC1rZXktb2YtdGhpcnR5LXR3by1ieXRlcw==";

fn production(crypto: &str) -> Figment {
    base_figment(None).merge(("app.environment", "production")).merge(Toml::string(crypto))
}

fn refusal(figment: Figment) -> String {
    PlatformSettings::load_from(figment).expect_err("must be refused").to_string()
}

#[test]
fn defaults_are_valid_and_use_the_development_keys() {
    let settings = PlatformSettings::load_from(base_figment(None)).expect("default.toml must load");
    assert_eq!(settings.app.environment, Environment::Development);
    assert_eq!(settings.api.body_limit_bytes, 1024 * 1024);
    assert_eq!(settings.crypto.active_key_id, DEVELOPMENT_KEY_ID);
    assert_eq!(settings.crypto.keys.keys().collect::<Vec<_>>(), [DEVELOPMENT_KEY_ID]);
    assert_eq!(settings.crypto.lookup_key_set().0, DEVELOPMENT_LOOKUP_KEY_ID);
}

#[test]
fn operator_keys_are_the_whole_key_set() {
    let figment = base_figment(None).merge(("crypto.active_key_id", "k-1")).merge(("crypto.keys.k-1", KEY));
    let settings = PlatformSettings::load_from(figment).expect("loads");
    assert_eq!(settings.crypto.keys.keys().collect::<Vec<_>>(), ["k-1"], "no development key remains");
    // The lookup key set was not given, so outside production it is still the development one.
    assert_eq!(settings.crypto.lookup_key_set().0, DEVELOPMENT_LOOKUP_KEY_ID);

    let figment =
        base_figment(None).merge(("crypto.active_lookup_key_id", "l-1")).merge(("crypto.lookup_keys.l-1", LOOKUP));
    let settings = PlatformSettings::load_from(figment).expect("loads");
    let (active, lookup_keys) = settings.crypto.lookup_key_set();
    assert_eq!((active.as_str(), lookup_keys.keys().collect::<Vec<_>>()), ("l-1", vec![&"l-1".to_owned()]));
    assert_eq!(settings.crypto.active_key_id, DEVELOPMENT_KEY_ID);
}

#[test]
fn unknown_active_key_is_rejected_by_name() {
    let figment = base_figment(None).merge(("crypto.active_key_id", "missing")).merge(("crypto.keys.k-1", KEY));
    let error = refusal(figment);
    assert!(error.contains("crypto.active_key_id `missing` is not one of crypto.keys"), "{error}");
}

#[test]
fn production_starts_with_its_own_keys_only() {
    let crypto = format!(
        "[crypto]\nactive_key_id = \"prod-2026\"\nkeys = {{ \"prod-2026\" = \"{KEY}\" }}\n\
         active_lookup_key_id = \"l-2026\"\nlookup_keys = {{ \"l-2026\" = \"{LOOKUP}\" }}\n"
    );
    let settings = PlatformSettings::load_from(production(&crypto)).expect("production with its own keys starts");
    assert_eq!(settings.app.environment, Environment::Production);
    assert_eq!(settings.crypto.keys.keys().collect::<Vec<_>>(), ["prod-2026"]);
    // The older single lookup key is still read, as id `lookup`.
    let crypto = format!(
        "[crypto]\nactive_key_id = \"prod-2026\"\nkeys = {{ \"prod-2026\" = \"{KEY}\" }}\nlookup_key = \"{LOOKUP}\"\n"
    );
    let settings = PlatformSettings::load_from(production(&crypto)).expect("the single lookup key is read");
    assert_eq!(settings.crypto.lookup_key_set().0, LEGACY_LOOKUP_KEY_ID);
}

#[test]
fn production_refuses_each_bad_key_by_name_without_its_value() {
    let lookup = format!("active_lookup_key_id = \"l-1\"\nlookup_keys = {{ \"l-1\" = \"{LOOKUP}\" }}\n");
    let short = "c2hvcnQtYnktb25lLWJ5dGUtMzEtYnl0ZXMtb2theQ=="; // 31 bytes
    let cases = [
        (String::new(), "no crypto keys are configured", None),
        (
            format!("active_key_id = \"dev-1\"\nkeys = {{ \"dev-1\" = \"{KEY}\" }}\n{lookup}"),
            "crypto.keys.dev-1 is a development key",
            Some(KEY),
        ),
        (
            format!("active_key_id = \"k-1\"\nkeys = {{ \"k-1\" = \"{DEVELOPMENT_KEY}\" }}\n{lookup}"),
            "crypto.keys.k-1 is the public development key",
            Some(DEVELOPMENT_KEY),
        ),
        (
            format!("active_key_id = \"k-2\"\nkeys = {{ \"k-1\" = \"{KEY}\" }}\n{lookup}"),
            "crypto.active_key_id `k-2` is not one of crypto.keys",
            Some(KEY),
        ),
        (
            format!("active_key_id = \"k-1\"\nkeys = {{ \"k-1\" = \"{short}\" }}\n{lookup}"),
            "crypto.keys.k-1 is not base64 of 32 bytes",
            Some(short),
        ),
        (
            format!("active_key_id = \"k-1\"\nkeys = {{ \"k-1\" = \"not*base64*at*all\" }}\n{lookup}"),
            "crypto.keys.k-1 is not base64 of 32 bytes",
            Some("not*base64*at*all"),
        ),
        (
            format!("active_key_id = \"k-1\"\nkeys = {{ \"k-1\" = \"{KEY}\" }}\n"),
            "no lookup key is configured",
            Some(KEY),
        ),
        (
            format!(
                "active_key_id = \"k-1\"\nkeys = {{ \"k-1\" = \"{KEY}\" }}\nlookup_key = \"{DEVELOPMENT_LOOKUP_KEY}\"\n"
            ),
            "crypto.lookup_key is the default (development) lookup key",
            Some(DEVELOPMENT_LOOKUP_KEY),
        ),
        (
            format!(
                "active_key_id = \"k-1\"\nkeys = {{ \"k-1\" = \"{KEY}\" }}\nactive_lookup_key_id = \"dev-lookup-1\"\n\
                 lookup_keys = {{ \"dev-lookup-1\" = \"{LOOKUP}\" }}\n"
            ),
            "crypto.lookup_keys.dev-lookup-1 is a development lookup key",
            Some(LOOKUP),
        ),
        (
            format!(
                "active_key_id = \"k-1\"\nkeys = {{ \"k-1\" = \"{KEY}\" }}\nactive_lookup_key_id = \"l-9\"\n\
                 lookup_keys = {{ \"l-1\" = \"{LOOKUP}\" }}\n"
            ),
            "crypto.active_lookup_key_id `l-9` is not one of crypto.lookup_keys",
            Some(LOOKUP),
        ),
    ];
    for (crypto, expected, secret) in cases {
        let error = refusal(production(&format!("[crypto]\n{crypto}")));
        assert!(error.contains(expected), "expected {expected:?}, got {error}");
        if let Some(secret) = secret {
            assert!(!error.contains(secret), "the message shows a key: {error}");
        }
    }
}

#[test]
fn production_keeps_refusing_loopback_webhooks() {
    let crypto = format!(
        "[crypto]\nactive_key_id = \"k-1\"\nkeys = {{ \"k-1\" = \"{KEY}\" }}\n\
         active_lookup_key_id = \"l-1\"\nlookup_keys = {{ \"l-1\" = \"{LOOKUP}\" }}\n"
    );
    let error = refusal(production(&crypto).merge(("webhooks.allow_loopback", true)));
    assert!(error.contains("webhooks.allow_loopback"), "{error}");
}

#[test]
fn a_webhook_attempt_must_end_before_its_job_does() {
    let error = refusal(
        base_figment(None).merge(("webhooks.request_timeout_ms", 30_000)).merge(("pools.webhooks.timeout_secs", 30)),
    );
    assert!(error.contains("webhooks.request_timeout_ms"), "{error}");
}

#[test]
fn order_events_are_batched_by_fifty_and_a_batch_size_outside_1_to_500_is_refused() {
    let settings = PlatformSettings::load_from(base_figment(None)).expect("the defaults load");
    assert_eq!(settings.pools.order_events.batch_size, 50);
    assert_eq!(settings.pools.messages.batch_size, 1, "only order events are batched");
    for size in [0, 501] {
        let error = refusal(base_figment(None).merge(("pools.order_events.batch_size", size)));
        assert!(error.contains("pools.order_events.batch_size"), "{size}: {error}");
    }
    let one = PlatformSettings::load_from(base_figment(None).merge(("pools.order_events.batch_size", 1)))
        .expect("1 applies each event alone");
    assert_eq!(one.pools.order_events.batch_size, 1);
}

#[test]
#[allow(clippy::result_large_err)] // figment::Jail fixes the closure's error type
fn environment_variables_override_files() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("RECETE__API__LISTEN", "127.0.0.1:9999");
        jail.set_env("DATABASE_URL", "postgres://someone@db/elsewhere");
        let settings = PlatformSettings::load_from(figment_with_env(base_figment(None))).map_err(|e| e.to_string())?;
        assert_eq!(settings.api.listen.port(), 9999);
        assert_eq!(settings.database.url.expose_secret(), "postgres://someone@db/elsewhere");
        Ok(())
    });
}

#[test]
#[allow(clippy::result_large_err)]
fn production_keys_from_a_config_file_and_from_variables() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "recete.toml",
            &format!(
                "[app]\nenvironment = \"production\"\n[crypto]\nactive_key_id = \"prod-2026\"\n\
                 keys = {{ \"prod-2026\" = \"{KEY}\" }}\nactive_lookup_key_id = \"l-1\"\n\
                 lookup_keys = {{ \"l-1\" = \"{LOOKUP}\" }}\n"
            ),
        )?;
        let settings = PlatformSettings::load_from(figment_with_env(base_figment(Some(Path::new("recete.toml")))))
            .map_err(|e| e.to_string())?;
        assert_eq!(settings.crypto.keys.keys().collect::<Vec<_>>(), ["prod-2026"]);

        jail.set_env("RECETE__APP__ENVIRONMENT", "production");
        jail.set_env("RECETE__CRYPTO__ACTIVE_KEY_ID", "k-env");
        jail.set_env("RECETE__CRYPTO__KEYS__K-ENV", KEY);
        jail.set_env("RECETE__CRYPTO__ACTIVE_LOOKUP_KEY_ID", "l-env");
        jail.set_env("RECETE__CRYPTO__LOOKUP_KEYS__L-ENV", LOOKUP);
        let settings = PlatformSettings::load_from(figment_with_env(base_figment(None))).map_err(|e| e.to_string())?;
        assert_eq!(settings.crypto.keys.keys().collect::<Vec<_>>(), ["k-env"]);
        assert_eq!(settings.crypto.lookup_key_set().0, "l-env");
        Ok(())
    });
}

#[test]
#[allow(clippy::result_large_err)]
fn values_come_from_files_named_by_file_variables() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("sealing-key", &format!("{KEY}\n"))?;
        jail.create_file("lookup-key", LOOKUP)?;
        jail.create_file("database-url", "postgres://from-a-file@db/recete\n")?;
        jail.set_env("RECETE__APP__ENVIRONMENT", "production");
        jail.set_env("RECETE__CRYPTO__ACTIVE_KEY_ID", "k-file");
        jail.set_env("RECETE__CRYPTO__KEYS__K-FILE_FILE", "sealing-key");
        jail.set_env("RECETE__CRYPTO__ACTIVE_LOOKUP_KEY_ID", "l-file");
        jail.set_env("RECETE__CRYPTO__LOOKUP_KEYS__L-FILE_FILE", "lookup-key");
        jail.set_env("DATABASE_URL_FILE", "database-url");
        let settings = PlatformSettings::load_from(figment_with_env(base_figment(None))).map_err(|e| e.to_string())?;
        assert_eq!(settings.crypto.keys["k-file"].expose_secret(), KEY, "the trailing newline is dropped");
        assert_eq!(settings.database.url.expose_secret(), "postgres://from-a-file@db/recete");

        jail.set_env("REDIS_URL_FILE", "no-such-file");
        let error =
            PlatformSettings::load_from(figment_with_env(base_figment(None))).expect_err("missing file").to_string();
        assert!(error.contains("REDIS_URL_FILE names no-such-file, which cannot be read"), "{error}");
        Ok(())
    });
}

#[test]
#[allow(clippy::result_large_err)]
fn a_keys_file_gives_the_key_set() {
    figment::Jail::expect_with(|jail| {
        let section = crate::crypto::production_crypto_section(crate::crypto::today());
        jail.create_file("keys.toml", &section)?;
        jail.set_env("RECETE__APP__ENVIRONMENT", "production");
        jail.set_env("RECETE__CRYPTO__KEYS_FILE", "keys.toml");
        let settings = PlatformSettings::load_from(figment_with_env(base_figment(None))).map_err(|e| e.to_string())?;
        assert!(settings.crypto.active_key_id.starts_with("k-"));
        assert_eq!(settings.crypto.keys.len(), 1);

        jail.create_file("extra.toml", &format!("{section}[app]\nenvironment = \"development\"\n"))?;
        jail.set_env("RECETE__CRYPTO__KEYS_FILE", "extra.toml");
        let error =
            PlatformSettings::load_from(figment_with_env(base_figment(None))).expect_err("more than keys").to_string();
        assert!(error.contains("crypto.keys_file extra.toml must hold one [crypto] section"), "{error}");

        jail.set_env("RECETE__CRYPTO__KEYS_FILE", "missing.toml");
        let error = PlatformSettings::load_from(figment_with_env(base_figment(None))).expect_err("missing").to_string();
        assert!(error.contains("crypto.keys_file names missing.toml, which cannot be read"), "{error}");
        Ok(())
    });
}

#[test]
#[allow(clippy::result_large_err)]
fn errors_never_quote_a_secret() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("broken.toml", "[crypto]\nkeys = { \"k-1\" = \"topsecretvalue }\n")?;
        let error = PlatformSettings::load_from(base_figment(Some(Path::new("broken.toml"))))
            .expect_err("bad TOML")
            .to_string();
        assert!(!error.contains("topsecretvalue"), "{error}");
        assert!(error.contains("broken.toml"), "{error}");

        let figment = base_figment(None).merge(("crypto.keys.k-1", 123456789)).merge(("database.url", 987654321));
        let error = refusal(figment);
        assert!(!error.contains("123456789") && !error.contains("987654321"), "{error}");
        Ok(())
    });
    let keyring = crate::crypto::Keyring::from_settings(
        &PlatformSettings::load_from(base_figment(None)).expect("defaults").crypto,
    )
    .expect("keyring");
    let shown = format!("{keyring:?} {:?}", PlatformSettings::load_from(base_figment(None)).expect("defaults").crypto);
    assert!(!shown.contains(DEVELOPMENT_KEY) && !shown.contains(DEVELOPMENT_LOOKUP_KEY), "{shown}");
}

#[test]
fn a_typo_in_a_key_is_reported() {
    let figment = base_figment(None).merge(("api.lisen", "x"));
    let error = PlatformSettings::load_from(figment).expect_err("must fail");
    assert!(error.to_string().contains("lisen"), "{error}");
}

#[test]
fn upload_bounds_metrics_token_and_key_expiry_are_checked_by_name() {
    let cases = [
        (base_figment(None).merge(("imports.max_concurrent_uploads_per_merchant", 0)), "max_concurrent_uploads"),
        (
            base_figment(None)
                .merge(("imports.max_concurrent_uploads_per_merchant", 4))
                .merge(("imports.max_concurrent_uploads", 3)),
            "max_concurrent_uploads",
        ),
        (base_figment(None).merge(("api.metrics_token", "short")), "api.metrics_token"),
        (base_figment(None).merge(("api.default_key_expiry_days", 731)), "api.default_key_expiry_days"),
        (base_figment(None).merge(("database.idle_in_transaction_timeout_ms", 0)), "idle_in_transaction"),
    ];
    for (figment, named) in cases {
        let error = PlatformSettings::load_from(figment).expect_err("must fail");
        assert!(error.to_string().contains(named), "{named}: {error}");
    }
    let token = base_figment(None).merge(("api.metrics_token", "a-long-enough-metrics-token-1234"));
    PlatformSettings::load_from(token).expect("a long token is fine");
}

#[test]
fn event_stream_bounds_and_retention_are_checked_by_name() {
    for key in [
        "events.stream_heartbeat_secs",
        "events.stream_poll_secs",
        "events.max_streams_per_merchant",
        "events.retention_days",
    ] {
        let error = PlatformSettings::load_from(base_figment(None).merge((key, 0))).expect_err("zero must fail");
        assert!(error.to_string().contains(key), "{key}: {error}");
    }
    let settings = PlatformSettings::load_from(base_figment(None)).expect("defaults");
    assert_eq!(settings.events.stream_heartbeat_secs, 15);
}

#[test]
#[allow(clippy::result_large_err)]
fn listen_connections_go_to_the_pool_a_url_of_their_own_or_nowhere() {
    let settings = PlatformSettings::load_from(base_figment(None)).expect("defaults");
    assert!(matches!(settings.database.listen_target(), ListenTarget::Pool));

    let off = PlatformSettings::load_from(base_figment(None).merge(("database.listen_url", "OFF"))).expect("off");
    assert!(matches!(off.database.listen_target(), ListenTarget::Off));

    figment::Jail::expect_with(|jail| {
        jail.set_env("DATABASE_LISTEN_URL", "postgres://recete:pw@db.internal:5432/recete?sslmode=require");
        let settings = PlatformSettings::load_from(figment_with_env(base_figment(None))).map_err(|e| e.to_string())?;
        match settings.database.listen_target() {
            ListenTarget::Direct(url) => {
                assert_eq!(url.expose_secret(), "postgres://recete:pw@db.internal:5432/recete?sslmode=require")
            }
            other => panic!("expected a URL of its own, got {other:?}"),
        }
        Ok(())
    });

    let error = refusal(base_figment(None).merge(("database.listen_url", "mysql://secret-password@db/x")));
    assert!(error.contains("database.listen_url"), "{error}");
    assert!(!error.contains("secret-password"), "{error}");
}

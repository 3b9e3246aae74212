//! `recete all` in production: it starts only with the operator's own keys (from variables, a
//! RECETE_CONFIG file, a keys file, or a key set printed by `recete keys generate`) and then
//! serves a signed webhook through to a committed order. Every configuration production refuses
//! exits non-zero with a message naming the key at fault, and never the key itself.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use recete_platform::crypto::Keyring;
use recete_shared::integrations::{self, IntegrationKind, NewIntegration};
use recete_shared::merchants;
use recete_testkit::process::ChildProcess;
use recete_testkit::{TestDatabase, TestRedis, signing};
use serde_json::json;

use super::{LOOKUP_KEY, SEALING_KEY, recete};
use crate::helpers::fixture;

/// A folder of its own for the files a test hands to `recete`; removed with the guard.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("recete-production-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).expect("scratch folder");
        Self(path)
    }

    fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, content).expect("scratch file");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn crypto_section(key_id: &str, key: &str, lookup_id: &str, lookup: &str) -> String {
    format!(
        "[crypto]\nactive_key_id = \"{key_id}\"\nkeys = {{ \"{key_id}\" = \"{key}\" }}\n\
         active_lookup_key_id = \"{lookup_id}\"\nlookup_keys = {{ \"{lookup_id}\" = \"{lookup}\" }}\n"
    )
}

/// The production fleet's database and Redis prefix, and the command that starts it there.
struct Deployment {
    db: TestDatabase,
    redis: TestRedis,
}

impl Deployment {
    async fn new() -> Self {
        Self { db: TestDatabase::create().await.expect("test database"), redis: TestRedis::new() }
    }

    /// `recete <args>` in production against this deployment; keys come from the caller.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = recete();
        command
            .args(args)
            .env("RECETE__APP__ENVIRONMENT", "production")
            .env("DATABASE_URL", self.db.app_url())
            .env("REDIS_URL", &self.redis.url)
            .env("RECETE__REDIS__KEY_PREFIX", &self.redis.prefix)
            .env("RECETE__OPS__LISTEN", "127.0.0.1:0")
            .env("RECETE__LOG__FORMAT", "json")
            .env("RECETE__LOG__FILTER", "warn,recete_api::startup=info");
        command
    }

    /// Starts `recete all` and waits for its API address.
    fn start(&self, mut command: Command) -> (ChildProcess, String) {
        command.args(["all", "--listen", "127.0.0.1:0"]).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = ChildProcess::spawn("recete all (production)", &mut command).expect("recete starts");
        let stderr = child.take_stderr().expect("stderr is piped");
        let (found, listening) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let address = serde_json::from_str::<serde_json::Value>(&line).ok().and_then(|entry| {
                    (entry["message"] == "api listening").then(|| entry["address"].as_str().map(str::to_owned))?
                });
                let _ = found.send(address.ok_or(line));
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match listening.recv_timeout(left) {
                Ok(Ok(address)) => return (child, address),
                Ok(Err(line)) => seen.push(line),
                Err(_) => {
                    let status = child.exit_status().expect("status");
                    panic!("recete all did not start in production ({status:?}): {}", seen.join("\n"));
                }
            }
        }
    }

    /// A merchant and a Shopify integration, its secret sealed with the deployment's own keys.
    async fn shopify(&self, crypto: serde_json::Value) -> integrations::CreatedIntegration {
        let crypto: recete_platform::config::CryptoSettings = serde_json::from_value(crypto).expect("crypto settings");
        let keyring = Arc::new(Keyring::from_settings(&crypto).expect("keyring"));
        let pool = self.db.app_pool().await.expect("app pool");
        let merchant = merchants::create(&pool, "Production Store", "Europe/Istanbul").await.expect("merchant");
        integrations::create(
            &pool,
            &keyring,
            NewIntegration {
                merchant_id: merchant.merchant_id,
                kind: IntegrationKind::Shopify,
                secret: None,
                phone_number_id: None,
            },
        )
        .await
        .expect("integration")
    }

    /// A signed Shopify order webhook is accepted and becomes a committed order whose customer is
    /// sealed and hashed with the deployment's keys.
    async fn serves_an_order(&self, address: &str, shop: &integrations::CreatedIntegration, key_id: &str) {
        let body = fixture("shopify_orders_create.json");
        let response = reqwest::Client::new()
            .post(format!("http://{address}{}", shop.webhook_path))
            .header("content-type", "application/json")
            .header("x-shopify-topic", "orders/create")
            .header("x-shopify-webhook-id", "w-production")
            .header("x-shopify-event-id", "event-w-production")
            .header("x-shopify-shop-domain", "test-store.myshopify.com")
            .header("x-shopify-hmac-sha256", signing::base64_hmac(&shop.secret, &body))
            .body(body)
            .send()
            .await
            .expect("webhook sent");
        assert_eq!(response.status(), 202, "{}", response.text().await.unwrap_or_default());
        let admin = self.db.admin_pool().await.expect("admin pool");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let orders: i64 =
                sqlx::query_scalar("SELECT count(*) FROM orders WHERE external_order_id = '820982911946154508'")
                    .fetch_one(&admin)
                    .await
                    .expect("orders");
            if orders == 1 {
                break;
            }
            assert!(Instant::now() < deadline, "the order was not committed within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (pii_key_id, event_key_id): (String, String) =
            sqlx::query_as("SELECT c.pii_key_id, e.key_id FROM customers c, external_events e")
                .fetch_one(&admin)
                .await
                .expect("customer and event");
        assert_eq!((pii_key_id.as_str(), event_key_id.as_str()), (key_id, key_id));
    }
}

fn crypto_json(key_id: &str, key: &str, lookup_id: &str, lookup: &str) -> serde_json::Value {
    json!({
        "active_key_id": key_id, "keys": { key_id: key },
        "active_lookup_key_id": lookup_id, "lookup_keys": { lookup_id: lookup },
    })
}

#[tokio::test]
async fn production_starts_with_keys_from_variables_and_serves_a_webhook() {
    let deployment = Deployment::new().await;
    let mut command = deployment.command(&[]);
    command
        .env("RECETE__CRYPTO__ACTIVE_KEY_ID", "prod-2026")
        .env("RECETE__CRYPTO__KEYS__PROD-2026", SEALING_KEY)
        .env("RECETE__CRYPTO__ACTIVE_LOOKUP_KEY_ID", "lookup-2026")
        .env("RECETE__CRYPTO__LOOKUP_KEYS__LOOKUP-2026", LOOKUP_KEY);
    let (_fleet, address) = deployment.start(command);
    let shop = deployment.shopify(crypto_json("prod-2026", SEALING_KEY, "lookup-2026", LOOKUP_KEY)).await;
    deployment.serves_an_order(&address, &shop, "prod-2026").await;
    let admin = deployment.db.admin_pool().await.expect("admin pool");
    let lookup_key_id: Option<String> =
        sqlx::query_scalar("SELECT lookup_key_id FROM customers").fetch_one(&admin).await.expect("customer");
    assert_eq!(lookup_key_id.as_deref(), Some("lookup-2026"), "the customer's hashes name their lookup key");
}

#[tokio::test]
async fn production_starts_with_keys_from_a_config_file() {
    let deployment = Deployment::new().await;
    let scratch = Scratch::new();
    let file = scratch.write(
        "recete.toml",
        &format!(
            "[app]\nenvironment = \"production\"\n{}",
            crypto_section("prod-2026", SEALING_KEY, "l-1", LOOKUP_KEY)
        ),
    );
    let mut command = deployment.command(&[]);
    command.env("RECETE_CONFIG", &file);
    let (_fleet, address) = deployment.start(command);
    let shop = deployment.shopify(crypto_json("prod-2026", SEALING_KEY, "l-1", LOOKUP_KEY)).await;
    deployment.serves_an_order(&address, &shop, "prod-2026").await;
}

#[tokio::test]
async fn keys_printed_by_keys_generate_start_production_from_a_keys_file_and_a_config_file() {
    let generated = recete().args(["keys", "generate"]).env("RECETE__APP__ENVIRONMENT", "production").output();
    let generated = generated.expect("recete keys generate runs");
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    let section = String::from_utf8(generated.stdout).expect("text");
    let again = recete().args(["keys", "generate"]).output().expect("runs again");
    assert_ne!(section, String::from_utf8_lossy(&again.stdout), "every run makes new keys");
    let table: toml_section::Crypto = toml_section::parse(&section);

    // As a keys file, the way a Docker or Kubernetes secret is mounted.
    let deployment = Deployment::new().await;
    let scratch = Scratch::new();
    let keys_file = scratch.write("keys.toml", &section);
    let mut command = deployment.command(&[]);
    command.env("RECETE__CRYPTO__KEYS_FILE", &keys_file);
    let (fleet, address) = deployment.start(command);
    let shop = deployment.shopify(table.json()).await;
    deployment.serves_an_order(&address, &shop, &table.active_key_id).await;
    drop(fleet);

    // Pasted into the RECETE_CONFIG file.
    let deployment = Deployment::new().await;
    let config = scratch.write("recete.toml", &format!("[app]\nenvironment = \"production\"\n\n{section}"));
    let mut command = deployment.command(&[]);
    command.env("RECETE_CONFIG", &config);
    let (_fleet, address) = deployment.start(command);
    let shop = deployment.shopify(table.json()).await;
    deployment.serves_an_order(&address, &shop, &table.active_key_id).await;
}

/// Reads back the section `recete keys generate` printed, with the TOML reader the product uses.
mod toml_section {
    use std::collections::BTreeMap;

    use figment::Figment;
    use figment::providers::{Format, Toml};

    #[derive(serde::Deserialize)]
    pub struct Crypto {
        pub active_key_id: String,
        pub keys: BTreeMap<String, String>,
        pub active_lookup_key_id: String,
        pub lookup_keys: BTreeMap<String, String>,
    }

    impl Crypto {
        pub fn json(&self) -> serde_json::Value {
            serde_json::json!({
                "active_key_id": self.active_key_id, "keys": self.keys,
                "active_lookup_key_id": self.active_lookup_key_id, "lookup_keys": self.lookup_keys,
            })
        }
    }

    pub fn parse(section: &str) -> Crypto {
        let crypto: Crypto = Figment::from(Toml::string(section)).extract_inner("crypto").expect("a [crypto] section");
        assert_eq!(crypto.keys.len(), 1);
        assert_eq!(crypto.lookup_keys.len(), 1);
        assert!(crypto.active_key_id.starts_with("k-") && crypto.active_lookup_key_id.starts_with("l-"));
        assert_ne!(crypto.keys[&crypto.active_key_id], crypto.lookup_keys[&crypto.active_lookup_key_id]);
        crypto
    }
}

/// Runs `recete api` with `configure` applied; it must exit non-zero, saying `expected` and never
/// showing `secret`.
async fn refused(deployment: &Deployment, configure: impl FnOnce(&mut Command), expected: &str, secret: Option<&str>) {
    let mut command = deployment.command(&["api", "--listen", "127.0.0.1:0"]);
    configure(&mut command);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = ChildProcess::spawn(format!("recete api refusing: {expected}"), &mut command).expect("starts");
    let status = child.wait_for_exit(Duration::from_secs(30)).await.expect("a refused configuration exits");
    let (stdout, stderr) = child.read_output().expect("output");
    assert!(!status.success(), "{expected}: exit {status}");
    assert!(stderr.contains(expected), "expected {expected:?} in: {stderr}");
    if let Some(secret) = secret {
        assert!(!stderr.contains(secret) && !stdout.contains(secret), "the key is shown: {stderr}");
    }
}

#[tokio::test]
async fn production_refuses_each_bad_configuration_by_name_without_showing_keys() {
    let deployment = Deployment::new().await;
    let keys = |command: &mut Command, key_id: &str, key: &str| {
        command
            .env("RECETE__CRYPTO__ACTIVE_KEY_ID", key_id)
            .env(format!("RECETE__CRYPTO__KEYS__{}", key_id.to_uppercase()), key)
            .env("RECETE__CRYPTO__ACTIVE_LOOKUP_KEY_ID", "l-1")
            .env("RECETE__CRYPTO__LOOKUP_KEYS__L-1", LOOKUP_KEY);
    };
    refused(&deployment, |_| {}, "no crypto keys are configured", None).await;
    let development_key = "V9Vc3qhT+72RXDN4fudRtgKoeU6B+4fiWftwxACTK+k=";
    refused(
        &deployment,
        |c| keys(c, "dev-1", development_key),
        "crypto.keys.dev-1 is a development key",
        Some(development_key),
    )
    .await;
    refused(
        &deployment,
        |c| {
            keys(c, "prod-2026", SEALING_KEY);
            c.env_remove("RECETE__CRYPTO__ACTIVE_LOOKUP_KEY_ID")
                .env_remove("RECETE__CRYPTO__LOOKUP_KEYS__L-1")
                .env("RECETE__CRYPTO__LOOKUP_KEY", "BzxC+rlEZCf5VID7fWW6s9kglaxSdM0YYl/57SGViLo=");
        },
        "crypto.lookup_key is the default (development) lookup key",
        Some("BzxC+rlEZCf5VID7fWW6s9kglaxSdM0YYl/57SGViLo="),
    )
    .await;
    refused(
        &deployment,
        |c| {
            keys(c, "prod-2026", SEALING_KEY);
            c.env("RECETE__CRYPTO__ACTIVE_KEY_ID", "prod-2027");
        },
        "crypto.active_key_id `prod-2027` is not one of crypto.keys",
        Some(SEALING_KEY),
    )
    .await;
    let short = "c2hvcnQtYnktb25lLWJ5dGUtMzEtYnl0ZXMtb2theQ=="; // 31 bytes
    refused(
        &deployment,
        |c| keys(c, "prod-2026", short),
        "crypto.keys.prod-2026 is not base64 of 32 bytes",
        Some(short),
    )
    .await;
    let not_base64 = "this-is-not-base64-at-all!";
    refused(
        &deployment,
        |c| keys(c, "prod-2026", not_base64),
        "crypto.keys.prod-2026 is not base64 of 32 bytes",
        Some(not_base64),
    )
    .await;
    refused(
        &deployment,
        |c| {
            c.env("RECETE__CRYPTO__KEYS_FILE", "/nonexistent/recete-keys.toml");
        },
        "crypto.keys_file names /nonexistent/recete-keys.toml, which cannot be read",
        None,
    )
    .await;
    refused(
        &deployment,
        |c| {
            keys(c, "prod-2026", SEALING_KEY);
            c.env("DATABASE_URL_FILE", "/nonexistent/database-url");
        },
        "DATABASE_URL_FILE names /nonexistent/database-url, which cannot be read",
        Some(SEALING_KEY),
    )
    .await;
    refused(
        &deployment,
        |c| {
            keys(c, "prod-2026", SEALING_KEY);
            c.env("RECETE__SCRAPE__ALLOW_LOOPBACK", "true");
        },
        "scrape.allow_loopback is for tests only and is refused in production",
        Some(SEALING_KEY),
    )
    .await;
}

#[tokio::test]
async fn keys_from_secret_files_start_production() {
    let deployment = Deployment::new().await;
    let scratch = Scratch::new();
    let sealing = scratch.write("sealing-key", &format!("{SEALING_KEY}\n"));
    let lookup = scratch.write("lookup-key", &format!("{LOOKUP_KEY}\n"));
    let database_url = scratch.write("database-url", &format!("{}\n", deployment.db.app_url()));
    let mut command = deployment.command(&[]);
    command
        .env_remove("DATABASE_URL")
        .env("DATABASE_URL_FILE", &database_url)
        .env("RECETE__CRYPTO__ACTIVE_KEY_ID", "prod-2026")
        .env("RECETE__CRYPTO__KEYS__PROD-2026_FILE", &sealing)
        .env("RECETE__CRYPTO__ACTIVE_LOOKUP_KEY_ID", "lookup-2026")
        .env("RECETE__CRYPTO__LOOKUP_KEYS__LOOKUP-2026_FILE", &lookup);
    let (_fleet, address) = deployment.start(command);
    let shop = deployment.shopify(crypto_json("prod-2026", SEALING_KEY, "lookup-2026", LOOKUP_KEY)).await;
    deployment.serves_an_order(&address, &shop, "prod-2026").await;
}

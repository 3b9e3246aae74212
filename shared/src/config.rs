//! Layered, validated settings.
//!
//! Sources, later ones winning: `config/default.toml` (every key documented there), an optional
//! file named by `RECETE_CONFIG`, then `RECETE__SECTION__KEY` environment variables
//! (`RECETE__API__LISTEN=0.0.0.0:8080`). `DATABASE_URL` and `REDIS_URL` are honoured as they are,
//! because every platform that provisions PostgreSQL or Redis sets them. Loading fails fast with a
//! message naming the key at fault; nothing reads the environment after start.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::SecretString;
use serde::Deserialize;

/// The defaults compiled into the binary, so `recete` runs from any directory.
const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub app: AppSettings,
    pub api: ApiSettings,
    pub ingest: IngestSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub crypto: CryptoSettings,
    pub log: LogSettings,
    pub worker: WorkerSettings,
    pub queue: QueueSettings,
    pub pools: PoolsSettings,
    pub housekeeping: HousekeepingSettings,
    pub whatsapp: WhatsAppSettings,
    pub scrape: ScrapeSettings,
    pub embedding: EmbeddingSettings,
    pub llm: LlmSettings,
    pub agent: AgentSettings,
    pub rate_limits: RateLimitSettings,
    pub imports: ImportSettings,
    pub ops: OpsSettings,
    pub metrics: MetricsSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Test,
    Production,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSettings {
    pub environment: Environment,
    /// Base URL stores and Meta use to reach the API; used to print webhook URLs.
    pub public_url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    pub listen: SocketAddr,
    pub body_limit_bytes: usize,
    pub request_timeout_ms: u64,
    pub shutdown_grace_secs: u64,
    /// On SIGTERM, how long `/readyz` answers 503 while requests are still served, so load
    /// balancers stop routing here before the listener closes. Part of the grace, at most half.
    pub readiness_drain_ms: u64,
    /// Days a key made through the API lives when it does not say; 0 means such keys never expire
    /// (unless the key making them does).
    pub default_key_expiry_days: u32,
    /// Opens `/metrics` and the detailed `/readyz` on this listener to `Authorization: Bearer
    /// <token>`; empty keeps both on the operators' listener (`ops.listen`) only.
    pub metrics_token: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSettings {
    /// Rows one commit may carry; webhooks arriving together share one durable commit.
    pub max_batch: usize,
    /// Concurrent committers; each holds one connection while it writes.
    pub writers: usize,
    /// Requests waiting for a committer before new ones get 503.
    pub queue_capacity: usize,
    /// Age after which a signed generic event is rejected as a replay.
    pub generic_signature_tolerance_secs: i64,
    /// How long an integration's secret is cached in memory.
    pub integration_cache_ttl_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// The application role, which serves traffic and owns nothing.
    pub url: SecretString,
    /// The owner role, for `recete migrate` only; empty means `url`.
    pub migration_url: SecretString,
    pub max_connections: u32,
    pub acquire_timeout_ms: u64,
    pub statement_timeout_ms: u64,
    /// A transaction left idle (no statement running) this long is ended by PostgreSQL, with its
    /// connection, so a stalled holder cannot keep locks or a pooled connection. Set per
    /// transaction, so it also holds through a transaction-mode pooler.
    pub idle_in_transaction_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://` or, for TLS, `rediss://`.
    pub url: SecretString,
    /// PEM file of the certificate authority that signed the server's certificate, for
    /// `rediss://`; empty means the public web roots.
    pub ca_file: String,
    /// Prefix of every key we write, so several deployments or tests share one Redis.
    pub key_prefix: String,
    pub response_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CryptoSettings {
    /// Key id used for new data; every id ever used must stay in `keys` until re-encrypted.
    pub active_key_id: String,
    /// Key id to base64 of 32 random bytes.
    pub keys: BTreeMap<String, SecretString>,
    /// Base64 of at least 32 random bytes for keyed lookup hashes (phone, email).
    pub lookup_key: SecretString,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    /// An `EnvFilter` directive; `RUST_LOG` wins when set.
    pub filter: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    /// Health and metrics listener of a worker-only process.
    pub listen: SocketAddr,
    pub shutdown_grace_secs: u64,
}

/// How the queue layer moves work between PostgreSQL and Redis (see `queue` in the shared crate).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSettings {
    /// How often an idle worker asks Redis for work.
    pub poll_interval_ms: u64,
    /// Worker heartbeat; a dead worker's jobs return after heartbeat × missed heartbeats.
    pub heartbeat_secs: u64,
    pub missed_heartbeats: usize,
    /// Pause between relay passes that found less than a full batch.
    pub relay_interval_ms: u64,
    /// Rows one relay pass hands to Redis at most.
    pub relay_batch: usize,
    /// Jobs a queue may hold in Redis; apalis-redis 1.0 breaks past about 8,000.
    pub max_backlog: usize,
    /// A pending row handed over longer ago than this is handed over again.
    pub reconcile_after_secs: u64,
    /// Scheduled tasks are handed to Redis this long before they are due, as delayed jobs.
    pub schedule_horizon_secs: u64,
    /// How often finished jobs are removed from Redis.
    pub prune_interval_secs: u64,
    /// Longest pause before a failed pool is restarted (the pause doubles from one second).
    pub restart_backoff_max_secs: u64,
}

/// One worker pool's limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolSettings {
    /// Jobs one process runs at once in this pool.
    pub concurrency: usize,
    /// Jobs one fetch takes from Redis. apalis waits a poll interval between fetches, so this
    /// bounds throughput at fetch_batch per poll interval; jobs fetched but not yet started
    /// return to the queue if the worker dies.
    pub fetch_batch: usize,
    /// A job running longer is abandoned (its transaction rolls back) and counts as failed.
    pub timeout_secs: u64,
    /// Attempts before a job is dead-lettered.
    pub max_attempts: i32,
    /// First retry delay; each further retry doubles it, up to `backoff_max_secs`.
    pub backoff_base_ms: u64,
    pub backoff_max_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolsSettings {
    pub order_events: PoolSettings,
    pub whatsapp_events: PoolSettings,
    pub messages: PoolSettings,
    pub knowledge: PoolSettings,
    pub conversations: PoolSettings,
    pub imports: PoolSettings,
}

/// The WhatsApp Business Cloud API. With no access token, messages go to the local outbox.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsAppSettings {
    pub graph_base_url: String,
    pub api_version: String,
    /// A system-user token with `whatsapp_business_messaging`; empty means the local outbox.
    pub access_token: SecretString,
    pub connect_timeout_ms: u64,
    pub request_timeout_ms: u64,
    /// Messages per second per business phone number, shared by every worker.
    pub messages_per_second: u32,
    /// Minimum seconds between two messages to one customer.
    pub customer_gap_secs: u64,
    /// After a send whose outcome is unknown (a timeout), how long to wait for Meta's status
    /// webhook before sending again.
    pub unknown_outcome_wait_secs: u64,
}

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
    /// Lets pages on 127.0.0.1 and ::1 be fetched. For tests only: in production a product URL
    /// must never reach the fleet's own loopback services.
    pub allow_loopback: bool,
}

/// Which embedder turns product knowledge and questions into vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmbeddingProvider {
    /// all-MiniLM-L6-v2 run in-process on the CPU from `model_dir`.
    Local,
    /// Any OpenAI-compatible `/embeddings` endpoint.
    Openai,
}

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

/// An OpenAI-compatible chat model for the answering agent; an empty `base_url` means none, and
/// the agent answers extractively from the retrieved text.
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
}

/// How the agent retrieves and when it gives up.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSettings {
    /// Chunks retrieved per question.
    pub top_k: usize,
    /// Cosine similarity below which a chunk does not count as support for an answer.
    pub min_similarity: f32,
    /// Earlier messages of the conversation given to the model.
    pub history_messages: usize,
}

/// CSV imports of orders and products.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportSettings {
    /// The largest file accepted; a larger upload gets 413 as soon as it passes the limit.
    pub max_upload_bytes: usize,
    /// Bytes per stored piece of an uploaded file; a worker holds about two at a time.
    pub chunk_bytes: usize,
    /// Rows applied per committed batch; a crash repeats at most one batch.
    pub batch_rows: usize,
    /// How long an upload may take, in place of `api.request_timeout_ms`: 50 MB from a merchant
    /// on a slow line needs minutes, not seconds.
    pub upload_timeout_secs: u64,
    /// Uploads one merchant may have streaming in at once on one API process.
    pub max_concurrent_uploads_per_merchant: usize,
    /// Uploads all merchants together may have streaming in at once on one API process.
    pub max_concurrent_uploads: usize,
}

/// The operators' queue board, served by the API process on its own address.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsSettings {
    /// Serve the board at all; off, `/ops` exists nowhere.
    pub enabled: bool,
    /// Its own address, so it can stay on a private network while the API faces the internet.
    pub listen: SocketAddr,
    /// How long a signed-in operator stays signed in without using the board.
    pub session_ttl_secs: u64,
    /// A queue whose oldest ready job is older than this is shown with a warning.
    pub oldest_job_warning_secs: u64,
    /// Jobs changed per transaction by a bulk retry or cancel.
    pub bulk_batch_size: usize,
    /// The most of a job's payload a detail page loads; the rest is cut with a note.
    pub payload_preview_bytes: usize,
}

/// Metrics read from PostgreSQL rather than counted in the process.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// How often queue depths by state, oldest ready age and paused queues are sampled.
    pub sample_interval_secs: u64,
    /// How often a worker process records that it is alive, with its slots and busy slots.
    pub heartbeat_interval_secs: u64,
}

impl ImportSettings {
    pub fn upload_timeout(&self) -> Duration {
        Duration::from_secs(self.upload_timeout_secs)
    }
}

/// Request quotas per client address, API key, merchant and webhook sender, shared by every API
/// replica through Redis (see `rate_limit`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Off serves every request without asking Redis.
    pub enabled: bool,
    /// Proxies whose `X-Forwarded-For` is believed; a request from anywhere else is counted by its
    /// peer address whatever the header says.
    pub trusted_proxies: Vec<crate::rate_limit::Cidr>,
    /// A check Redis has not answered within this is skipped and the request served.
    pub redis_timeout_ms: u64,
    pub ip: QuotaSettings,
    pub api_key: QuotaSettings,
    pub merchant: QuotaSettings,
    pub integration: QuotaSettings,
    pub whatsapp_number: QuotaSettings,
    /// Per client address, webhook deliveries whose signature did not verify (unknown ids
    /// included); past it the address is refused before any signature is checked.
    pub webhook_auth_failures: QuotaSettings,
}

/// `quantity` requests per `window_secs`, all of which may come at once.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaSettings {
    pub quantity: u64,
    pub window_secs: u64,
}

/// Longest quota window: a day, so a misplaced zero cannot lock a client out for months.
const MAX_RATE_LIMIT_WINDOW_SECS: u64 = 86_400;

impl RateLimitSettings {
    fn problem(&self) -> Option<String> {
        if self.redis_timeout_ms == 0 {
            return Some("rate_limits.redis_timeout_ms must be positive".into());
        }
        let quotas = [
            ("ip", &self.ip),
            ("api_key", &self.api_key),
            ("merchant", &self.merchant),
            ("integration", &self.integration),
            ("whatsapp_number", &self.whatsapp_number),
        ];
        quotas.into_iter().find_map(|(name, quota)| {
            if quota.quantity == 0 {
                Some(format!("rate_limits.{name}.quantity must be at least 1"))
            } else if quota.window_secs == 0 || quota.window_secs > MAX_RATE_LIMIT_WINDOW_SECS {
                Some(format!("rate_limits.{name}.window_secs must be 1 to {MAX_RATE_LIMIT_WINDOW_SECS}"))
            } else if quota.quantity > quota.window_secs.saturating_mul(1_000_000) {
                Some(format!("rate_limits.{name}.quantity may be at most one million per second of window_secs"))
            } else {
                None
            }
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HousekeepingSettings {
    /// How often periodic jobs (assumed deliveries, queue gauges, the analytics rollup, the daily
    /// API key expiry) run.
    pub interval_secs: u64,
    /// The analytics rollup re-reads rows written this long before its previous run started, so
    /// a transaction still open then and committed later is not missed.
    pub analytics_overlap_secs: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error("cannot read configuration: {0}")]
    Load(#[from] Box<figment::Error>),
}

/// Key ids of the development keys in `config/default.toml`; refused in production.
const DEVELOPMENT_KEY_PREFIX: &str = "dev-";

impl Settings {
    /// Loads settings from the defaults, `RECETE_CONFIG` and the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        let extra = std::env::var_os("RECETE_CONFIG").map(PathBuf::from);
        Self::load_from(figment_with_env(base_figment(extra.as_deref())))
    }

    /// Loads and validates settings from an already layered figment (tests pass their own).
    pub fn load_from(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = figment.extract().map_err(Box::new)?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: String| Err(ConfigError::Invalid(message));
        if !self.crypto.keys.contains_key(&self.crypto.active_key_id) {
            return invalid(format!("crypto.active_key_id `{}` is not one of crypto.keys", self.crypto.active_key_id));
        }
        if self.app.environment == Environment::Production
            && self.crypto.keys.keys().any(|id| id.starts_with(DEVELOPMENT_KEY_PREFIX))
        {
            return invalid(format!(
                "crypto.keys holds a development key (id starting `{DEVELOPMENT_KEY_PREFIX}`); production needs its own keys"
            ));
        }
        if self.ingest.max_batch == 0 || self.ingest.writers == 0 || self.ingest.queue_capacity == 0 {
            return invalid("ingest.max_batch, ingest.writers and ingest.queue_capacity must be at least 1".into());
        }
        if self.database.max_connections < self.ingest.writers as u32 + 2 {
            return invalid(format!(
                "database.max_connections ({}) must exceed ingest.writers ({}) by at least 2",
                self.database.max_connections, self.ingest.writers
            ));
        }
        if self.queue.max_backlog == 0 || self.queue.max_backlog > 7000 {
            return invalid(format!(
                "queue.max_backlog is {}; it must be 1 to 7000 (apalis-redis fails past about 8,000 due jobs)",
                self.queue.max_backlog
            ));
        }
        if self.queue.relay_batch == 0 || self.queue.poll_interval_ms == 0 || self.queue.heartbeat_secs == 0 {
            return invalid(
                "queue.relay_batch, queue.poll_interval_ms and queue.heartbeat_secs must be positive".into(),
            );
        }
        let pools = [
            ("order_events", &self.pools.order_events),
            ("whatsapp_events", &self.pools.whatsapp_events),
            ("messages", &self.pools.messages),
            ("knowledge", &self.pools.knowledge),
            ("conversations", &self.pools.conversations),
            ("imports", &self.pools.imports),
        ];
        for (name, pool) in pools {
            if pool.concurrency == 0 || pool.fetch_batch == 0 || pool.max_attempts < 1 || pool.timeout_secs == 0 {
                return invalid(format!(
                    "pools.{name} needs concurrency, fetch_batch, max_attempts and timeout_secs of at least 1"
                ));
            }
        }
        if self.scrape.max_bytes == 0 || self.scrape.request_timeout_ms == 0 {
            return invalid("scrape.max_bytes and scrape.request_timeout_ms must be positive".into());
        }
        if self.scrape.allow_loopback && self.app.environment == Environment::Production {
            return invalid("scrape.allow_loopback is for tests only and is refused in production".into());
        }
        if self.embedding.batch_size == 0 {
            return invalid("embedding.batch_size must be at least 1".into());
        }
        if self.embedding.provider == EmbeddingProvider::Openai && self.embedding.base_url.trim().is_empty() {
            return invalid("embedding.provider is \"openai\" but embedding.base_url is empty".into());
        }
        if self.llm.is_configured() && (self.llm.model.trim().is_empty() || self.llm.max_rounds == 0) {
            return invalid("llm.base_url is set, so llm.model and llm.max_rounds (at least 1) are needed".into());
        }
        if self.agent.top_k == 0 || !(0.0..=1.0).contains(&self.agent.min_similarity) {
            return invalid("agent.top_k must be at least 1 and agent.min_similarity between 0 and 1".into());
        }
        if self.imports.max_upload_bytes == 0
            || self.imports.chunk_bytes == 0
            || self.imports.batch_rows == 0
            || self.imports.upload_timeout_secs == 0
        {
            return invalid(
                "imports.max_upload_bytes, imports.chunk_bytes, imports.batch_rows and imports.upload_timeout_secs \
                 must be positive"
                    .into(),
            );
        }
        if self.imports.max_concurrent_uploads_per_merchant == 0
            || self.imports.max_concurrent_uploads < self.imports.max_concurrent_uploads_per_merchant
        {
            return invalid(
                "imports.max_concurrent_uploads_per_merchant must be at least 1 and imports.max_concurrent_uploads \
                 at least as large"
                    .into(),
            );
        }
        if self.database.idle_in_transaction_timeout_ms == 0 {
            return invalid("database.idle_in_transaction_timeout_ms must be positive".into());
        }
        if self.housekeeping.interval_secs == 0 {
            return invalid("housekeeping.interval_secs must be at least 1".into());
        }
        {
            use secrecy::ExposeSecret;
            let token = self.api.metrics_token.expose_secret();
            if !token.is_empty() && token.trim().len() < 24 {
                return invalid(
                    "api.metrics_token must be at least 24 characters (or empty: not served publicly)".into(),
                );
            }
        }
        if i64::from(self.api.default_key_expiry_days) > 730 {
            return invalid("api.default_key_expiry_days must be at most 730 (the longest an API key may live)".into());
        }
        if self.api.body_limit_bytes == 0 {
            return invalid("api.body_limit_bytes must be positive".into());
        }
        if self.redis.key_prefix.is_empty() || self.redis.key_prefix.contains(char::is_whitespace) {
            return invalid("redis.key_prefix must be a non-empty word without spaces".into());
        }
        if self.redis.ca_file().is_some() && !self.redis.url_is_tls() {
            return invalid(
                "redis.ca_file is set but redis.url does not start with rediss://, so it would not be used".into(),
            );
        }
        if let Some(problem) = self.rate_limits.problem() {
            return invalid(problem);
        }
        Ok(())
    }
}

/// Defaults plus an optional override file, without the environment.
pub fn base_figment(extra_file: Option<&Path>) -> Figment {
    let figment = Figment::from(Toml::string(DEFAULT_TOML));
    match extra_file {
        Some(path) => figment.merge(Toml::file_exact(path)),
        None => figment,
    }
}

/// Adds `RECETE__SECTION__KEY` variables and the conventional `DATABASE_URL` / `REDIS_URL`.
pub fn figment_with_env(figment: Figment) -> Figment {
    figment
        .merge(Env::prefixed("RECETE__").split("__"))
        .merge(Env::raw().only(&["DATABASE_URL"]).map(|_| "database.url".into()))
        .merge(Env::raw().only(&["DATABASE_MIGRATION_URL"]).map(|_| "database.migration_url".into()))
        .merge(Env::raw().only(&["REDIS_URL"]).map(|_| "redis.url".into()))
}

impl ApiSettings {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

impl RedisSettings {
    /// `ca_file`, unless empty.
    pub fn ca_file(&self) -> Option<&Path> {
        let path = self.ca_file.trim();
        (!path.is_empty()).then(|| Path::new(path))
    }

    /// True for `rediss://` (and `valkeys://`) URLs.
    pub fn url_is_tls(&self) -> bool {
        use secrecy::ExposeSecret;
        let url = self.url.expose_secret();
        url.starts_with("rediss://") || url.starts_with("valkeys://")
    }
}

impl DatabaseSettings {
    /// The URL `recete migrate` connects with: `migration_url`, else `url`.
    pub fn migration_settings(&self) -> DatabaseSettings {
        use secrecy::ExposeSecret;
        let mut settings = self.clone();
        if !self.migration_url.expose_secret().trim().is_empty() {
            settings.url = self.migration_url.clone();
        }
        settings
    }

    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.acquire_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let settings = Settings::load_from(base_figment(None)).expect("default.toml must load");
        assert_eq!(settings.app.environment, Environment::Development);
        assert_eq!(settings.api.body_limit_bytes, 1024 * 1024);
    }

    #[test]
    fn unknown_active_key_is_rejected_by_name() {
        let figment = base_figment(None).merge(("crypto.active_key_id", "missing"));
        let error = Settings::load_from(figment).expect_err("must fail");
        assert!(error.to_string().contains("crypto.active_key_id `missing`"), "{error}");
    }

    #[test]
    fn production_refuses_development_keys() {
        let figment = base_figment(None).merge(("app.environment", "production"));
        let error = Settings::load_from(figment).expect_err("must fail");
        assert!(error.to_string().contains("development key"), "{error}");
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail fixes the closure's error type
    fn environment_variables_override_files() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("RECETE__API__LISTEN", "127.0.0.1:9999");
            jail.set_env("DATABASE_URL", "postgres://someone@db/elsewhere");
            let settings = Settings::load_from(figment_with_env(base_figment(None))).map_err(|e| e.to_string())?;
            assert_eq!(settings.api.listen.port(), 9999);
            use secrecy::ExposeSecret;
            assert_eq!(settings.database.url.expose_secret(), "postgres://someone@db/elsewhere");
            Ok(())
        });
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
            let error = Settings::load_from(figment).expect_err("must fail");
            assert!(error.to_string().contains(named), "{named}: {error}");
        }
        let token = base_figment(None).merge(("api.metrics_token", "a-long-enough-metrics-token-1234"));
        Settings::load_from(token).expect("a long token is fine");
    }

    #[test]
    fn a_typo_in_a_key_is_reported() {
        let figment = base_figment(None).merge(("api.lisen", "x"));
        let error = Settings::load_from(figment).expect_err("must fail");
        assert!(error.to_string().contains("lisen"), "{error}");
    }
}

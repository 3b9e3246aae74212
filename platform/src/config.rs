//! Layered, validated settings.
//!
//! Sources, later ones winning: `config/default.toml` (every key documented there), an optional
//! file named by `RECETE_CONFIG`, then `RECETE__SECTION__KEY` environment variables
//! (`RECETE__API__LISTEN=0.0.0.0:8080`). `DATABASE_URL` and `REDIS_URL` are honoured as they are,
//! because every platform that provisions PostgreSQL or Redis sets them. Each variable has a
//! `_FILE` form naming a file that holds the value (`RECETE__CRYPTO__KEYS__K-1_FILE`,
//! `DATABASE_URL_FILE`), and `crypto.keys_file` names a file holding the whole `[crypto]` section,
//! read last: how container platforms mount secrets.
//!
//! Crypto keys are never merged with defaults: the defaults hold none, and the public development
//! keys fill in only outside production and only a key set (sealing, lookup) that no layer gives.
//! Loading fails fast with a message naming the key at fault, never a secret's value; nothing
//! reads the environment after start.
//!
//! This crate owns the platform's sections ([`PlatformSettings`]) and the loading rules above.
//! The crates above it declare their own sections (`[scrape]`, `[embedding]`, `[llm]`), and
//! `recete-config` composes them all into the one file's settings; its loader refuses a section
//! that no crate declares.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::IgnoredAny;

/// The defaults compiled into the binary, so `recete` runs from any directory.
const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// The sections of the configuration file this crate owns (every section's keys are checked;
/// sections owned by other crates are left to them).
#[derive(Debug, Clone, Deserialize)]
pub struct PlatformSettings {
    pub app: AppSettings,
    pub api: ApiSettings,
    pub ingest: IngestSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    #[serde(default)]
    pub crypto: CryptoSettings,
    pub log: LogSettings,
    pub worker: WorkerSettings,
    pub queue: QueueSettings,
    pub pools: PoolsSettings,
    pub housekeeping: HousekeepingSettings,
    pub whatsapp: WhatsAppSettings,
    pub agent: AgentSettings,
    pub rate_limits: RateLimitSettings,
    pub imports: ImportSettings,
    pub webhooks: WebhookSettings,
    pub events: EventSettings,
    pub ops: OpsSettings,
    pub console: ConsoleSettings,
    pub metrics: MetricsSettings,
}

impl PlatformSettings {
    /// The names of the fields above: a composed loader refuses any section of the file that
    /// neither this crate nor one above it declares.
    pub const SECTIONS: [&'static str; 20] = [
        "app",
        "api",
        "ingest",
        "database",
        "redis",
        "crypto",
        "log",
        "worker",
        "queue",
        "pools",
        "housekeeping",
        "whatsapp",
        "agent",
        "rate_limits",
        "imports",
        "webhooks",
        "events",
        "ops",
        "console",
        "metrics",
    ];
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
    /// Where `LISTEN` connections go: empty means `url`, `off` means none (relays and event
    /// streams poll). Behind a transaction-mode pooler it must name the server itself, or be
    /// `off`: a `LISTEN` left on a shared server connection hands its notifications to whichever
    /// client runs there next, which then fails.
    pub listen_url: SecretString,
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

/// The keys that seal personal data and key its lookup hashes. The whole set comes from one
/// place: the operator's layers (`RECETE_CONFIG`, `crypto.keys_file`, `RECETE__CRYPTO__…` and
/// their `_FILE` forms) or, outside production and only when those give none, the public
/// development keys built into the binary. The two are never mixed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CryptoSettings {
    /// Key id used for new data; every id ever used must stay in `keys` until re-encrypted.
    #[serde(default)]
    pub active_key_id: String,
    /// Key id to base64 of 32 random bytes.
    #[serde(default)]
    pub keys: BTreeMap<String, SecretString>,
    /// Lookup key id used for new lookup hashes (phones, emails).
    #[serde(default)]
    pub active_lookup_key_id: String,
    /// Lookup key id to base64 of at least 32 random bytes. Lookups try every one, so a rotated
    /// out key stays here until `recete keys rotate` has re-hashed its rows.
    #[serde(default)]
    pub lookup_keys: BTreeMap<String, SecretString>,
    /// The single lookup key of earlier versions, read as the lookup key with id
    /// [`LEGACY_LOOKUP_KEY_ID`] (and active unless `active_lookup_key_id` names another).
    #[serde(default)]
    pub lookup_key: Option<SecretString>,
    /// A TOML file holding a `[crypto]` section (what `recete keys generate` prints), read
    /// after every other layer: how Docker and Kubernetes secrets are mounted.
    #[serde(default)]
    pub keys_file: Option<PathBuf>,
}

/// The id `crypto.lookup_key` (the single lookup key of earlier versions) is known by.
pub const LEGACY_LOOKUP_KEY_ID: &str = "lookup";

/// The public development keys: used outside production when no crypto keys are configured.
pub const DEVELOPMENT_KEY_ID: &str = "dev-1";
const DEVELOPMENT_KEY: &str = "V9Vc3qhT+72RXDN4fudRtgKoeU6B+4fiWftwxACTK+k=";
pub const DEVELOPMENT_LOOKUP_KEY_ID: &str = "dev-lookup-1";
const DEVELOPMENT_LOOKUP_KEY: &str = "BzxC+rlEZCf5VID7fWW6s9kglaxSdM0YYl/57SGViLo=";

/// Key ids of development keys; refused in production.
const DEVELOPMENT_KEY_PREFIX: &str = "dev-";

/// The bytes of a base64 key, when it decodes to exactly (or, for lookup keys, at least) 32.
pub fn decode_key(encoded: &SecretString, exactly_32: bool) -> Option<Vec<u8>> {
    use base64::Engine;
    use secrecy::ExposeSecret;
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded.expose_secret().trim()).ok()?;
    let fits = if exactly_32 { bytes.len() == 32 } else { bytes.len() >= 32 };
    fits.then_some(bytes)
}

impl CryptoSettings {
    /// The active lookup key id and every lookup key by id, `crypto.lookup_key` included.
    pub fn lookup_key_set(&self) -> (String, BTreeMap<String, &SecretString>) {
        let mut set: BTreeMap<String, &SecretString> =
            self.lookup_keys.iter().map(|(id, key)| (id.clone(), key)).collect();
        if let Some(legacy) = &self.lookup_key {
            set.entry(LEGACY_LOOKUP_KEY_ID.to_owned()).or_insert(legacy);
        }
        let active = if !self.active_lookup_key_id.is_empty() {
            self.active_lookup_key_id.clone()
        } else if self.lookup_key.is_some() {
            LEGACY_LOOKUP_KEY_ID.to_owned()
        } else {
            String::new()
        };
        (active, set)
    }

    /// The first thing wrong with the keys, by the name of the key at fault; never a key's value.
    fn problem(&self, environment: Environment) -> Option<String> {
        use secrecy::ExposeSecret;
        let production = environment == Environment::Production;
        let generate = "`recete keys generate` prints a complete set";
        if self.keys.is_empty() && self.active_key_id.is_empty() {
            return Some(format!(
                "no crypto keys are configured: set crypto.active_key_id and crypto.keys (in RECETE_CONFIG, \
                 crypto.keys_file or RECETE__CRYPTO__… variables); {generate}"
            ));
        }
        for (id, key) in &self.keys {
            if production && id.starts_with(DEVELOPMENT_KEY_PREFIX) {
                return Some(format!(
                    "crypto.keys.{id} is a development key (id starting `{DEVELOPMENT_KEY_PREFIX}`); production needs its own keys: {generate}"
                ));
            }
            if decode_key(key, true).is_none() {
                return Some(format!("crypto.keys.{id} is not base64 of 32 bytes"));
            }
            if production && key.expose_secret().trim() == DEVELOPMENT_KEY {
                return Some(format!(
                    "crypto.keys.{id} is the public development key; production needs its own keys: {generate}"
                ));
            }
        }
        if self.active_key_id.is_empty() {
            return Some("crypto.active_key_id is not set: it names the key in crypto.keys that seals new data".into());
        }
        if !self.keys.contains_key(&self.active_key_id) {
            return Some(format!("crypto.active_key_id `{}` is not one of crypto.keys", self.active_key_id));
        }
        let (active_lookup, lookup_keys) = self.lookup_key_set();
        if self.lookup_key.is_some() && self.lookup_keys.contains_key(LEGACY_LOOKUP_KEY_ID) {
            return Some(format!(
                "crypto.lookup_key and crypto.lookup_keys.{LEGACY_LOOKUP_KEY_ID} are both set; keep one"
            ));
        }
        if lookup_keys.is_empty() && active_lookup.is_empty() {
            return Some(format!(
                "no lookup key is configured: set crypto.active_lookup_key_id and crypto.lookup_keys; {generate}"
            ));
        }
        for (id, key) in &lookup_keys {
            let name = if self.lookup_keys.contains_key(id) {
                format!("crypto.lookup_keys.{id}")
            } else {
                "crypto.lookup_key".to_owned()
            };
            if production && id.starts_with(DEVELOPMENT_KEY_PREFIX) {
                return Some(format!(
                    "{name} is a development lookup key (id starting `{DEVELOPMENT_KEY_PREFIX}`); production needs its own: {generate}"
                ));
            }
            if decode_key(key, false).is_none() {
                return Some(format!("{name} is not base64 of at least 32 bytes"));
            }
            if production && key.expose_secret().trim() == DEVELOPMENT_LOOKUP_KEY {
                return Some(format!(
                    "{name} is the default (development) lookup key; production needs its own: {generate}"
                ));
            }
        }
        if active_lookup.is_empty() {
            return Some(
                "crypto.active_lookup_key_id is not set: it names the key in crypto.lookup_keys that hashes new lookups"
                    .into(),
            );
        }
        if !lookup_keys.contains_key(&active_lookup) {
            return Some(format!("crypto.active_lookup_key_id `{active_lookup}` is not one of crypto.lookup_keys"));
        }
        None
    }
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

/// How the queue layer moves work between PostgreSQL and Redis (see the `recete-jobs` crate).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSettings {
    /// How often an idle worker asks Redis for work.
    pub poll_interval_ms: u64,
    /// Worker heartbeat; a dead worker's jobs return after heartbeat × missed heartbeats.
    pub heartbeat_secs: u64,
    pub missed_heartbeats: usize,
    /// Pause between relay passes while the queue is full, or while notifications of new work
    /// are not arriving.
    pub relay_interval_ms: u64,
    /// How often an idle relay looks for work nobody notified it of (rows a lost job or a lost
    /// notification left behind); new work wakes it at once.
    pub sweep_interval_secs: u64,
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
    /// Events one order-events job applies in one transaction: its own and up to
    /// `batch_size - 1` more that are due and handed over, each under its own savepoint so a
    /// failing one costs only its own retry. 1 applies each event alone (the other pools ignore
    /// it). At most [`MAX_BATCH_SIZE`].
    #[serde(default = "one_at_a_time")]
    pub batch_size: usize,
}

/// The largest `pools.*.batch_size`: a batch stays well inside one job's time bound.
pub const MAX_BATCH_SIZE: usize = 500;

fn one_at_a_time() -> usize {
    1
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
    pub webhooks: PoolSettings,
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

/// Notifications to merchants' own systems (outbound webhooks, Standard Webhooks format).
/// Attempts, their timeout and the retry schedule are `pools.webhooks`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    pub connect_timeout_ms: u64,
    /// One delivery attempt, from connecting to the end of the response's headers; a receiver
    /// slower than this has failed the attempt.
    pub request_timeout_ms: u64,
    /// After a secret is rotated, the old one still signs (beside the new) this long, so the
    /// merchant can roll the new one out without dropping a delivery.
    pub secret_overlap_secs: u64,
    /// An endpoint whose every attempt failed for this long is disabled with the reason.
    pub disable_after_secs: u64,
    pub user_agent: String,
    /// Lets endpoints on 127.0.0.1 and ::1 be registered and called, and over plain http.
    /// For tests only: refused in production.
    pub allow_loopback: bool,
}

/// The live event stream (`GET /api/events/stream`) and how long merchant events are kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSettings {
    /// A comment line is written on an idle stream this often, so proxies keep it open.
    pub stream_heartbeat_secs: u64,
    /// A stream reads the table this often even when no notification arrived (one may be lost
    /// while the API process reconnects its `LISTEN` connection).
    pub stream_poll_secs: u64,
    /// Streams one merchant may hold open at once on one API process; past it, 429.
    pub max_streams_per_merchant: usize,
    /// Merchant events (and finished webhook deliveries) older than this are deleted by the
    /// workers' housekeeping; a stream resuming from an older `Last-Event-ID` gets `reset` first.
    pub retention_days: u32,
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

/// The merchants' web console (`/console`), served on the API's own listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSettings {
    /// Serve the console at all; off, `/console` exists nowhere.
    pub enabled: bool,
    /// How long a signed-in user stays signed in without using the console.
    pub session_idle_secs: u64,
    /// How long a one-time sign-in link (from `recete users add` or an owner's invitation) works.
    pub sign_in_link_ttl_secs: u64,
    /// Failed sign-ins one account may have within `sign_in_window_secs` before it must wait.
    pub sign_in_failures_per_account: u32,
    /// Failed sign-ins one client address may have within `sign_in_window_secs`.
    pub sign_in_failures_per_address: u32,
    /// The window failed sign-ins are counted in.
    pub sign_in_window_secs: u64,
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
    pub trusted_proxies: Vec<crate::client_ip::Cidr>,
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
    /// The configuration could not be read; the message names the key and source at fault but
    /// never a secret's value.
    #[error("cannot read configuration: {0}")]
    Load(String),
}

/// The layers a process reads: the defaults, the file `RECETE_CONFIG` names, the environment.
pub fn process_figment() -> Figment {
    let extra = std::env::var_os("RECETE_CONFIG").map(PathBuf::from);
    figment_with_env(base_figment(extra.as_deref()))
}

impl PlatformSettings {
    /// Loads and validates this crate's sections from an already layered figment (tests pass
    /// their own): reads `crypto.keys_file`, falls back to the development keys where allowed,
    /// validates. Other crates' sections are not read here; `recete-config` reads the whole file.
    pub fn load_from(figment: Figment) -> Result<Self, ConfigError> {
        let figment = with_keys_file(figment)?;
        let figment = with_development_keys(figment)?;
        let settings: PlatformSettings =
            figment.extract().map_err(|error| ConfigError::Load(describe_load_error(error)))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: String| Err(ConfigError::Invalid(message));
        if let Some(problem) = self.crypto.problem(self.app.environment) {
            return invalid(problem);
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
        if self.queue.relay_batch == 0
            || self.queue.poll_interval_ms == 0
            || self.queue.heartbeat_secs == 0
            || self.queue.sweep_interval_secs == 0
        {
            return invalid(
                "queue.relay_batch, queue.poll_interval_ms, queue.heartbeat_secs and queue.sweep_interval_secs must be positive"
                    .into(),
            );
        }
        let pools = [
            ("order_events", &self.pools.order_events),
            ("whatsapp_events", &self.pools.whatsapp_events),
            ("messages", &self.pools.messages),
            ("knowledge", &self.pools.knowledge),
            ("conversations", &self.pools.conversations),
            ("imports", &self.pools.imports),
            ("webhooks", &self.pools.webhooks),
        ];
        for (name, pool) in pools {
            if pool.concurrency == 0 || pool.fetch_batch == 0 || pool.max_attempts < 1 || pool.timeout_secs == 0 {
                return invalid(format!(
                    "pools.{name} needs concurrency, fetch_batch, max_attempts and timeout_secs of at least 1"
                ));
            }
            if !(1..=MAX_BATCH_SIZE).contains(&pool.batch_size) {
                return invalid(format!("pools.{name}.batch_size must be between 1 and {MAX_BATCH_SIZE}"));
            }
        }
        if self.webhooks.allow_loopback && self.app.environment == Environment::Production {
            return invalid("webhooks.allow_loopback is for tests only and is refused in production".into());
        }
        if self.webhooks.connect_timeout_ms == 0 || self.webhooks.request_timeout_ms == 0 {
            return invalid("webhooks.connect_timeout_ms and webhooks.request_timeout_ms must be positive".into());
        }
        if self.webhooks.request_timeout_ms >= self.pools.webhooks.timeout_secs.saturating_mul(1000) {
            return invalid("webhooks.request_timeout_ms must be shorter than pools.webhooks.timeout_secs".into());
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
        if let ListenTarget::Direct(url) = self.database.listen_target() {
            use secrecy::ExposeSecret;
            let url = url.expose_secret();
            let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
            if !postgres || url.parse::<sqlx::postgres::PgConnectOptions>().is_err() {
                return invalid(format!(
                    "database.listen_url must be empty (listen on database.url), {LISTEN_OFF}, or a postgres:// URL"
                ));
            }
        }
        if self.events.stream_heartbeat_secs == 0
            || self.events.stream_poll_secs == 0
            || self.events.max_streams_per_merchant == 0
            || self.events.retention_days == 0
        {
            return invalid(
                "events.stream_heartbeat_secs, events.stream_poll_secs, events.max_streams_per_merchant and \
                 events.retention_days must be at least 1"
                    .into(),
            );
        }
        let console = &self.console;
        if console.session_idle_secs == 0
            || console.sign_in_link_ttl_secs == 0
            || console.sign_in_failures_per_account == 0
            || console.sign_in_failures_per_address == 0
            || console.sign_in_window_secs == 0
        {
            return invalid(
                "console.session_idle_secs, console.sign_in_link_ttl_secs, console.sign_in_failures_per_account, \
                 console.sign_in_failures_per_address and console.sign_in_window_secs must be at least 1"
                    .into(),
            );
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

/// Adds `RECETE__SECTION__KEY` variables, the conventional `DATABASE_URL` / `REDIS_URL`, and
/// the `_FILE` form of each (`RECETE__SECTION__KEY_FILE`, `DATABASE_URL_FILE`,
/// `REDIS_URL_FILE`), whose value is read from the file the variable names.
pub fn figment_with_env(figment: Figment) -> Figment {
    figment
        .merge(Env::prefixed("RECETE__").split("__").filter(|key| !names_a_file(key.as_str())))
        .merge(Env::raw().only(&["DATABASE_URL"]).map(|_| "database.url".into()))
        .merge(Env::raw().only(&["DATABASE_MIGRATION_URL"]).map(|_| "database.migration_url".into()))
        .merge(Env::raw().only(&["DATABASE_LISTEN_URL"]).map(|_| "database.listen_url".into()))
        .merge(Env::raw().only(&["REDIS_URL"]).map(|_| "redis.url".into()))
        .merge(SecretFiles)
}

/// Settings whose own name ends in `_file` (they hold a path the process reads itself); every
/// other `RECETE__…_FILE` variable names a file holding the value.
const SETTINGS_NAMED_FILE: [&str; 2] = ["crypto.keys_file", "redis.ca_file"];

fn names_a_file(dotted_key: &str) -> bool {
    let key = dotted_key.to_ascii_lowercase();
    key.ends_with("_file") && !SETTINGS_NAMED_FILE.contains(&key.as_str())
}

/// The setting a `_FILE` environment variable fills, if it is one.
fn file_variable_key(name: &str) -> Option<String> {
    match name {
        "DATABASE_URL_FILE" => return Some("database.url".into()),
        "REDIS_URL_FILE" => return Some("redis.url".into()),
        _ => {}
    }
    let upper = name.to_ascii_uppercase();
    let rest = upper.strip_prefix("RECETE__")?;
    let dotted = rest.replace("__", ".").to_ascii_lowercase();
    let key = dotted.strip_suffix("_file").filter(|_| names_a_file(&dotted))?;
    (!key.is_empty() && !key.split('.').any(str::is_empty)).then(|| key.to_owned())
}

/// Settings whose value sits in a file, as Docker and Kubernetes mount secrets: the file's content
/// without its trailing newline. A file that cannot be read is an error naming the variable and
/// the path.
struct SecretFiles;

impl figment::Provider for SecretFiles {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named("`_FILE` environment variable(s)")
    }

    fn data(&self) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        let mut files = Figment::new();
        for (name, path) in std::env::vars_os() {
            let Some(name) = name.to_str() else { continue };
            let Some(key) = file_variable_key(name) else { continue };
            let path = PathBuf::from(path);
            let content = std::fs::read_to_string(&path).map_err(|error| {
                figment::Error::from(format!("{name} names {}, which cannot be read: {error}", path.display()))
            })?;
            files = files.merge((key, content.trim_end_matches(['\n', '\r']).to_owned()));
        }
        files.data()
    }
}

/// What `load_from` needs to know before extracting everything.
#[derive(Deserialize, Default)]
struct Peek {
    #[serde(default)]
    app: PeekApp,
    #[serde(default)]
    crypto: PeekCrypto,
}

#[derive(Deserialize, Default)]
struct PeekApp {
    environment: Option<Environment>,
}

#[derive(Deserialize, Default)]
struct PeekCrypto {
    keys_file: Option<PathBuf>,
}

fn peek(figment: &Figment) -> Result<Peek, ConfigError> {
    figment.extract::<Peek>().map_err(|error| ConfigError::Load(describe_load_error(error)))
}

/// The shape of a keys file: one `[crypto]` section with key settings, nothing else. Only the
/// names are checked here; the values are read with every other layer.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    #[serde(rename = "crypto")]
    _crypto: KeysFileCrypto,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFileCrypto {
    #[serde(rename = "active_key_id")]
    _active_key_id: Option<IgnoredAny>,
    #[serde(rename = "keys")]
    _keys: Option<IgnoredAny>,
    #[serde(rename = "active_lookup_key_id")]
    _active_lookup_key_id: Option<IgnoredAny>,
    #[serde(rename = "lookup_keys")]
    _lookup_keys: Option<IgnoredAny>,
    #[serde(rename = "lookup_key")]
    _lookup_key: Option<IgnoredAny>,
}

/// Layers the file named by `crypto.keys_file` over everything else.
fn with_keys_file(figment: Figment) -> Result<Figment, ConfigError> {
    let Some(path) = peek(&figment)?.crypto.keys_file.filter(|path| !path.as_os_str().is_empty()) else {
        return Ok(figment);
    };
    let content = std::fs::read_to_string(&path).map_err(|error| {
        ConfigError::Invalid(format!("crypto.keys_file names {}, which cannot be read: {error}", path.display()))
    })?;
    let keys = Figment::from(Toml::string(&content));
    keys.extract::<KeysFile>().map_err(|error| {
        ConfigError::Invalid(format!(
            "crypto.keys_file {} must hold one [crypto] section as `recete keys generate` prints it: {}",
            path.display(),
            describe_load_error(error)
        ))
    })?;
    // Layered from the file itself, so a wrong value is reported with the file's name.
    Ok(figment.merge(Toml::file_exact(&path)))
}

/// Outside production, a key set the operator's layers do not give at all (sealing keys, lookup
/// keys) is the public development one. In production nothing is filled in.
fn with_development_keys(figment: Figment) -> Result<Figment, ConfigError> {
    let environment = peek(&figment)?.app.environment.unwrap_or(Environment::Development);
    if environment == Environment::Production {
        return Ok(figment);
    }
    let given = |keys: &[&str]| keys.iter().any(|key| figment.find_value(key).is_ok());
    let sealing_given = given(&["crypto.active_key_id", "crypto.keys"]);
    let lookup_given = given(&["crypto.active_lookup_key_id", "crypto.lookup_keys", "crypto.lookup_key"]);
    let mut figment = figment;
    if !sealing_given {
        figment = figment
            .merge(("crypto.active_key_id", DEVELOPMENT_KEY_ID))
            .merge(("crypto.keys", BTreeMap::from([(DEVELOPMENT_KEY_ID, DEVELOPMENT_KEY)])));
    }
    if !lookup_given {
        figment = figment
            .merge(("crypto.active_lookup_key_id", DEVELOPMENT_LOOKUP_KEY_ID))
            .merge(("crypto.lookup_keys", BTreeMap::from([(DEVELOPMENT_LOOKUP_KEY_ID, DEVELOPMENT_LOOKUP_KEY)])));
    }
    Ok(figment)
}

/// A figment error as a message naming the key and where it came from, without the value when
/// the key holds a secret, and without the quoted source line a TOML syntax error carries.
pub fn describe_load_error(error: figment::Error) -> String {
    error.into_iter().map(|error| describe_one(&error)).collect::<Vec<_>>().join("; ")
}

fn describe_one(error: &figment::Error) -> String {
    use figment::error::Kind;
    // An error without a path may be about any value, so its value is not shown either.
    let secret = error.path.is_empty() || holds_secret(&error.path);
    let mut text = match &error.kind {
        Kind::InvalidType(actual, expected) if secret => {
            format!("invalid type: found {}, expected {expected}", shape(actual))
        }
        Kind::InvalidValue(actual, expected) if secret => {
            format!("invalid value: found {}, expected {expected}", shape(actual))
        }
        Kind::Unsupported(actual) | Kind::UnsupportedKey(actual, _) if secret => {
            format!("unsupported {}", shape(actual))
        }
        Kind::Message(message) => without_source_lines(message),
        kind => kind.to_string(),
    };
    if !error.path.is_empty() {
        text.push_str(&format!(" for key `{}`", error.path.join(".")));
    }
    if let Some(metadata) = &error.metadata {
        text.push_str(&format!(" in {}", metadata.name));
        if let Some(source) = &metadata.source {
            text.push_str(&format!(" {source}"));
        }
    }
    text
}

/// Whether a setting holds a secret whose value must never be printed.
fn holds_secret(path: &[String]) -> bool {
    match path {
        [section, ..] if section == "crypto" => true,
        [section, key] if (section == "database" || section == "redis") && key == "url" => true,
        [.., key] => key == "api_key" || key == "access_token",
        [] => false,
    }
}

fn shape(actual: &figment::error::Actual) -> &'static str {
    use figment::error::Actual;
    match actual {
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) | Actual::Float(_) => "a number",
        Actual::Char(_) | Actual::Str(_) => "a string",
        Actual::Bytes(_) => "bytes",
        Actual::Seq => "an array",
        Actual::Map => "a table",
        _ => "another kind of value",
    }
}

/// A TOML syntax error quotes the offending line (`12 | key = "…"`): drop those lines.
fn without_source_lines(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| {
            let quoted = line.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start();
            !line.is_empty() && !quoted.starts_with('|')
        })
        .collect::<Vec<_>>()
        .join(" ")
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

    /// Where `LISTEN` connections go (`listen_url`).
    pub fn listen_target(&self) -> ListenTarget {
        use secrecy::ExposeSecret;
        let listen_url = self.listen_url.expose_secret().trim();
        if listen_url.is_empty() {
            ListenTarget::Pool
        } else if listen_url.eq_ignore_ascii_case(LISTEN_OFF) {
            ListenTarget::Off
        } else {
            ListenTarget::Direct(SecretString::from(listen_url.to_owned()))
        }
    }

    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.acquire_timeout_ms)
    }
}

/// The `database.listen_url` that turns listening off.
pub const LISTEN_OFF: &str = "off";

/// Where a process opens its `LISTEN` connections.
#[derive(Debug, Clone)]
pub enum ListenTarget {
    /// On the pool of `database.url`.
    Pool,
    /// On a connection of its own to this URL (the server itself, past any pooler).
    Direct(SecretString),
    /// Nowhere: whatever would wake on a notification polls instead.
    Off,
}

#[cfg(test)]
mod tests;

//! One scenario's world: a database and a Redis prefix of its own (on the shared servers or on
//! private ones), `recete` processes started against them, and counts read back as the superuser.

use std::ops::Range;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use recete_config::{Settings, base_figment};
use recete_platform::crypto::Keyring;
use recete_platform::ids::MerchantId;
use recete_shared::integrations::{self, CreatedIntegration, IntegrationKind, NewIntegration};
use recete_shared::merchants;
use recete_testkit::process::{ChildProcess, free_port};
use recete_testkit::{TestDatabase, TestRedis, signing};
use sqlx::PgPool;

use crate::report::Tally;

pub const PROCESSED: &str = "SELECT count(*) FROM external_events WHERE state = 'processed'";
/// Only the commerce pool: the scenarios count orders, and the other pools would load the
/// embedding model for nothing.
pub const ORDER_EVENTS: &str = "order-events";

/// Where a stack's database and Redis live.
#[derive(Default)]
pub struct Servers {
    /// A superuser URL of a private cluster; the shared server when `None`.
    pub postgres_admin_url: Option<String>,
    /// A private Redis; the shared one when `None`.
    pub redis_url: Option<String>,
}

pub struct Stack {
    scenario: &'static str,
    started_processes: AtomicUsize,
    pub keyring: Arc<Keyring>,
    /// As the application role: row-level security applies.
    pub pool: PgPool,
    /// As the superuser: sees every merchant's rows, for counting.
    pub admin: PgPool,
    pub redis: TestRedis,
    // Dropped after the pools above.
    pub db: TestDatabase,
}

/// The `recete` subcommand a process runs.
pub enum Role {
    /// `recete all`: the API and every worker pool in one process.
    All,
    /// `recete worker --queues order-events`.
    OrderWorker,
}

/// A `recete` process and the address of its health (and, for `all`, API) listener.
pub struct Recete {
    pub process: ChildProcess,
    pub http: Http,
}

impl Stack {
    pub async fn new(scenario: &'static str, servers: Servers) -> anyhow::Result<Self> {
        let db = match &servers.postgres_admin_url {
            Some(url) => TestDatabase::create_in(url).await?,
            None => TestDatabase::create().await?,
        };
        let redis = match servers.redis_url {
            Some(url) => TestRedis::on(url),
            None => TestRedis::new(),
        };
        // The same defaults the processes load, so both seal and open with the same keys.
        let settings = Settings::load_from(base_figment(None)).context("default settings")?;
        let keyring = Arc::new(Keyring::from_settings(&settings.crypto).context("keyring")?);
        Ok(Self {
            scenario,
            started_processes: AtomicUsize::new(0),
            keyring,
            pool: db.app_pool().await?,
            admin: db.admin_pool().await?,
            redis,
            db,
        })
    }

    pub async fn generic_integration(&self) -> anyhow::Result<(MerchantId, CreatedIntegration)> {
        let merchant = merchants::create(&self.pool, "Faults Store", "Europe/Istanbul").await?.merchant_id;
        let integration = integrations::create(
            &self.pool,
            &self.keyring,
            NewIntegration {
                merchant_id: merchant,
                kind: IntegrationKind::Generic,
                secret: None,
                phone_number_id: None,
            },
        )
        .await?;
        Ok((merchant, integration))
    }

    /// Stores `count` new-order events through the API's own batch writer, as a burst of
    /// webhooks would; returns their merchant and the integration they came through.
    pub async fn store_orders(&self, count: usize) -> anyhow::Result<(MerchantId, Arc<CreatedIntegration>)> {
        let (merchant, integration) = self.generic_integration().await?;
        recete_testkit::orders::store_new_orders(
            &self.pool,
            self.keyring.clone(),
            merchant,
            integration.integration_id,
            count,
        )
        .await?;
        Ok((merchant, Arc::new(integration)))
    }

    /// Starts `recete` against this stack with short queue timings; `settings` are extra
    /// `RECETE__…` variables. Its log goes to a file under the target directory.
    pub fn recete(&self, role: Role, settings: &[(&str, &str)]) -> anyhow::Result<Recete> {
        let port = free_port()?;
        let listen = format!("127.0.0.1:{port}");
        let (args, label): (Vec<&str>, &str) = match role {
            Role::All => (vec!["all", "--listen", &listen], "all"),
            Role::OrderWorker => (vec!["worker", "--queues", ORDER_EVENTS, "--listen", &listen], "worker"),
        };
        let number = self.started_processes.fetch_add(1, Ordering::Relaxed) + 1;
        let log = log_dir()?.join(format!("{}-{number}-{label}.log", self.scenario));
        let log_file = std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut command = Command::new(env!("CARGO_BIN_EXE_recete"));
        command
            .args(&args)
            .env_remove("RUST_LOG")
            .env_remove("RECETE_CONFIG")
            .env("DATABASE_URL", self.db.app_url())
            .env("REDIS_URL", &self.redis.url)
            .env("RECETE__REDIS__KEY_PREFIX", &self.redis.prefix)
            .envs(QUICK_SETTINGS.iter().copied())
            .envs(settings.iter().copied())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        let process = ChildProcess::spawn(format!("recete {label} #{number} of {}", self.scenario), &mut command)?;
        let recete = Recete { process, http: Http::new(format!("http://{listen}"))? };
        Ok(recete)
    }

    /// A count query run as the superuser.
    pub async fn count(&self, sql: &str) -> anyhow::Result<i64> {
        sqlx::query_scalar(sql).fetch_one(&self.admin).await.with_context(|| format!("count failed: {sql}"))
    }

    /// Polls `sql` until it reaches `target`; returns how long that took.
    pub async fn wait_for_count(&self, sql: &str, target: i64, timeout: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            let current = self.count(sql).await?;
            if current >= target {
                return Ok(started.elapsed());
            }
            anyhow::ensure!(started.elapsed() < timeout, "{current} of {target} after {timeout:?} ({sql})");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Counts every effect of `events` new-order events: one order, one item, one customer and
    /// one creation audit row each, and every event processed once.
    pub async fn tally_effects(&self, tally: &Tally, events: i64) -> anyhow::Result<()> {
        tally.equal("events processed", self.count(PROCESSED).await?, events);
        tally.equal("orders", self.count("SELECT count(*) FROM orders").await?, events);
        tally.equal("order items", self.count("SELECT count(*) FROM order_items").await?, events);
        tally.equal("customers", self.count("SELECT count(*) FROM customers").await?, events);
        tally.equal(
            "order.created audits",
            self.count("SELECT count(*) FROM audit_log WHERE action = 'order.created'").await?,
            events,
        );
        Ok(())
    }
}

/// Queue timings short enough for a test: work is handed over within tens of milliseconds, a
/// lost hand-over is repeated after 5 s, a failed pool restarts within 2 s.
const QUICK_SETTINGS: &[(&str, &str)] = &[
    ("RECETE__LOG__FILTER", "warn"),
    // The queue board listens on a fixed port; scenarios running side by side would collide.
    ("RECETE__OPS__ENABLED", "false"),
    ("RECETE__QUEUE__POLL_INTERVAL_MS", "50"),
    ("RECETE__QUEUE__RELAY_INTERVAL_MS", "20"),
    ("RECETE__QUEUE__SWEEP_INTERVAL_SECS", "1"),
    ("RECETE__QUEUE__RECONCILE_AFTER_SECS", "5"),
    ("RECETE__QUEUE__PRUNE_INTERVAL_SECS", "1"),
    ("RECETE__QUEUE__RESTART_BACKOFF_MAX_SECS", "2"),
    ("RECETE__WORKER__SHUTDOWN_GRACE_SECS", "3"),
    ("RECETE__API__SHUTDOWN_GRACE_SECS", "3"),
    // Every request of a scenario comes from 127.0.0.1 through one integration.
    ("RECETE__RATE_LIMITS__IP__QUANTITY", "1000000"),
    ("RECETE__RATE_LIMITS__INTEGRATION__QUANTITY", "1000000"),
    ("RECETE__RATE_LIMITS__MERCHANT__QUANTITY", "1000000"),
    // The board is off, so the API's own address serves the detailed /readyz to this token.
    ("RECETE__API__METRICS_TOKEN", METRICS_TOKEN),
];

/// Opens the detailed `/readyz` (and `/metrics`) on the API's address; workers ignore it.
const METRICS_TOKEN: &str = "faults-metrics-token-0123456789";

fn log_dir() -> anyhow::Result<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("faults");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// A new-order webhook body for order `number` of a burst sent through the API. Event, order
/// and phone differ from the orders `store_orders` writes, so every one is a new customer.
pub fn webhook_order(number: usize) -> Vec<u8> {
    recete_testkit::orders::generic_order(
        &format!("webhook-evt-{number}"),
        &format!("webhook-order-{number}"),
        "order.created",
        5,
        &format!("+90532{number:07}"),
    )
}

/// How the API answered one webhook; no status when the request itself failed.
pub struct Answer {
    pub status: Option<u16>,
    pub retry_after: Option<String>,
}

/// How many `answers` have `status`.
pub fn answered(answers: &[Answer], status: u16) -> i64 {
    answers.iter().filter(|answer| answer.status == Some(status)).count() as i64
}

/// HTTP to one `recete` process, every request bounded in time.
#[derive(Clone)]
pub struct Http {
    base: String,
    client: reqwest::Client,
}

impl Http {
    fn new(base: String) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(2))
            .build()
            .context("HTTP client")?;
        Ok(Self { base, client })
    }

    pub async fn get(&self, path: &str) -> reqwest::Result<reqwest::Response> {
        self.client.get(format!("{}{path}", self.base)).bearer_auth(METRICS_TOKEN).send().await
    }

    /// Posts a signed generic-API webhook, as a store would.
    pub async fn post_generic(
        &self,
        integration: &CreatedIntegration,
        body: &[u8],
    ) -> reqwest::Result<reqwest::Response> {
        let timestamp = chrono::Utc::now().timestamp();
        self.client
            .post(format!("{}{}", self.base, integration.webhook_path))
            .header("content-type", "application/json")
            .header("recete-signature", signing::recete_signature(&integration.secret, timestamp, body))
            .body(body.to_vec())
            .send()
            .await
    }

    /// Posts [`webhook_order`] for each of `numbers`, ten at a time, and returns each answer.
    pub async fn send_orders(&self, integration: &CreatedIntegration, numbers: Range<usize>) -> Vec<Answer> {
        futures::stream::iter(numbers)
            .map(|number| async move {
                match self.post_generic(integration, &webhook_order(number)).await {
                    Ok(response) => Answer {
                        status: Some(response.status().as_u16()),
                        retry_after: response
                            .headers()
                            .get("retry-after")
                            .and_then(|value| value.to_str().ok())
                            .map(str::to_owned),
                    },
                    Err(_) => Answer { status: None, retry_after: None },
                }
            })
            .buffer_unordered(10)
            .collect()
            .await
    }

    /// The status and JSON body of `path` (`/readyz`, `/livez`).
    pub async fn status_and_body(&self, path: &str) -> anyhow::Result<(u16, serde_json::Value)> {
        let response = self.get(path).await.with_context(|| format!("GET {}{path}", self.base))?;
        let status = response.status().as_u16();
        let body = response.json().await.with_context(|| format!("GET {}{path}: the body is not JSON", self.base))?;
        Ok((status, body))
    }

    /// Waits until `/readyz` answers 200.
    pub async fn wait_ready(&self, timeout: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            let last = match self.get("/readyz").await {
                Ok(response) if response.status().is_success() => return Ok(started.elapsed()),
                Ok(response) => format!("status {}", response.status()),
                Err(error) => error.to_string(),
            };
            anyhow::ensure!(started.elapsed() < timeout, "{}/readyz not ready after {timeout:?}: {last}", self.base);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

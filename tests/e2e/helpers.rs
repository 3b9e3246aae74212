use std::sync::Arc;

use figment::Figment;
use recete_api::{Application, Dependencies};
use recete_config::{Settings, base_figment};
use recete_platform::crypto::Keyring;
use recete_platform::db;
use recete_platform::ids::MerchantId;
use recete_platform::redis_client::RedisClient;
use recete_shared::integrations::{self, CreatedIntegration, IntegrationKind, NewIntegration};
use recete_shared::merchants;
use recete_testkit::{TestDatabase, TestRedis, signing};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use recete_testkit::whatsapp::PHONE_NUMBER_ID;
/// `api.metrics_token` of every test app and process: opens `/metrics` and the detailed `/readyz`
/// on the API's own address (the default serves neither there).
pub const METRICS_TOKEN: &str = "test-metrics-token-0123456789";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// As the application role: row-level security applies.
    pub pool: PgPool,
    /// As the superuser: sees every row, for assertions.
    pub admin: PgPool,
    pub keyring: Arc<Keyring>,
    pub settings: Settings,
    /// Held so the Redis prefix is cleaned up with the app.
    pub redis: TestRedis,
    shutdown: CancellationToken,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    // Dropped last: the database outlives every pool above.
    pub db: TestDatabase,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|figment| figment).await
}

/// Starts the API on a random port with its own database and Redis prefix; `customize` may
/// override settings.
pub async fn spawn_app_with(customize: impl FnOnce(Figment) -> Figment) -> TestApp {
    let db = TestDatabase::create().await.expect("test database");
    spawn_app_on(db, TestRedis::new(), customize).await
}

/// Like [`spawn_app_with`], on a database and Redis the test made (a private server, TLS, a
/// pooler in front); `customize` may change how the app reaches them (`database.url`, ...).
pub async fn spawn_app_on(db: TestDatabase, redis: TestRedis, customize: impl FnOnce(Figment) -> Figment) -> TestApp {
    let figment = base_figment(None)
        .merge(("app.environment", "test"))
        .merge(("database.url", db.app_url()))
        .merge(("redis.url", redis.url.clone()))
        .merge(("redis.key_prefix", redis.prefix.clone()))
        .merge(("api.listen", "127.0.0.1:0"))
        .merge(("queue.poll_interval_ms", 50))
        .merge(("queue.relay_interval_ms", 20))
        .merge(("queue.sweep_interval_secs", 1))
        .merge(("queue.reconcile_after_secs", 2))
        .merge(("queue.heartbeat_secs", 2))
        .merge(("queue.prune_interval_secs", 1))
        .merge(("pools.order_events.backoff_base_ms", 50))
        .merge(("pools.order_events.max_attempts", 3))
        // Every test sends from 127.0.0.1 through one integration or key, so quotas are generous
        // here; the rate limit tests set their own.
        .merge(("rate_limits.ip.quantity", 1_000_000))
        .merge(("rate_limits.api_key.quantity", 1_000_000))
        .merge(("rate_limits.merchant.quantity", 1_000_000))
        .merge(("rate_limits.integration.quantity", 1_000_000))
        .merge(("rate_limits.whatsapp_number.quantity", 1_000_000))
        .merge(("api.metrics_token", METRICS_TOKEN));
    let settings = Settings::load_from(customize(figment)).expect("valid test settings");
    let pool = db::connect_lazy(&settings.database).expect("pool");
    let keyring = Arc::new(Keyring::from_settings(&settings.crypto).expect("keyring"));
    let redis_client = RedisClient::new(&settings.redis).expect("redis client");
    let deps = Dependencies { pool: pool.clone(), redis: redis_client.clone(), keyring: keyring.clone() };
    let mut app = Application::build(&settings, settings.api.listen, deps).await.expect("application builds");
    // As the binary does (src/fleet.rs): the merchants' console on the API's own listener.
    if settings.console.enabled {
        let live = app.live_streams();
        let console = recete_console::ConsoleState::new(&settings, pool.clone(), redis_client, keyring.clone())
            .with_live_streams(live)
            .with_integrations(app.integration_directory())
            .with_upload_limits(app.upload_limits());
        app = app.with_routes(recete_console::router(console));
    }
    let address = format!("http://127.0.0.1:{}", app.port());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    TestApp {
        address,
        client: reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().expect("client"),
        pool: db.app_pool().await.expect("app pool"),
        admin: db.admin_pool().await.expect("admin pool"),
        keyring,
        settings,
        redis,
        shutdown,
        server: Some(server),
        db,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Runs the `recete` binary with `env` added to this process's environment, logging warnings
/// only, and returns what it did.
pub fn run_recete(env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_recete"));
    command.args(args).env("RECETE__LOG__FORMAT", "pretty").env("RECETE__LOG__FILTER", "warn");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("recete runs")
}

/// The one JSON object a successful command printed on stdout.
pub fn json_output(output: &std::process::Output) -> serde_json::Value {
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("one JSON object on stdout")
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

#[derive(sqlx::FromRow)]
pub struct StoredEvent {
    pub merchant_id: uuid::Uuid,
    pub source: String,
    pub kind: String,
    pub topic: String,
    pub dedup_key: String,
    pub subject_id: Option<String>,
    pub request_id: Option<String>,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
}

impl TestApp {
    pub async fn merchant(&self) -> MerchantId {
        merchants::create(&self.pool, "Test Store", "Europe/Istanbul").await.expect("merchant").merchant_id
    }

    pub async fn integration(&self, merchant: MerchantId, kind: IntegrationKind) -> CreatedIntegration {
        let phone_number_id = (kind == IntegrationKind::WhatsApp).then_some(PHONE_NUMBER_ID);
        integrations::create(
            &self.pool,
            &self.keyring,
            NewIntegration { merchant_id: merchant, kind, secret: None, phone_number_id },
        )
        .await
        .expect("integration")
    }

    pub async fn merchant_with(&self, kind: IntegrationKind) -> (MerchantId, CreatedIntegration) {
        let merchant = self.merchant().await;
        let integration = self.integration(merchant, kind).await;
        (merchant, integration)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// `/metrics` of this app, with the metrics token.
    pub async fn metrics_text(&self) -> String {
        let response =
            self.client.get(self.url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.expect("/metrics sent");
        assert_eq!(response.status(), 200, "/metrics with the token");
        response.text().await.expect("/metrics text")
    }

    /// The detailed `/readyz` of this app (with the metrics token): its status and body.
    pub async fn readiness(&self) -> (u16, serde_json::Value) {
        let response =
            self.client.get(self.url("/readyz")).bearer_auth(METRICS_TOKEN).send().await.expect("/readyz sent");
        let status = response.status().as_u16();
        (status, response.json().await.expect("/readyz JSON"))
    }

    pub async fn post_shopify(
        &self,
        integration: &CreatedIntegration,
        topic: &str,
        webhook_id: &str,
        body: &[u8],
    ) -> reqwest::Response {
        self.client
            .post(self.url(&integration.webhook_path))
            .header("content-type", "application/json")
            .header("x-shopify-topic", topic)
            .header("x-shopify-webhook-id", webhook_id)
            .header("x-shopify-event-id", format!("event-{webhook_id}"))
            .header("x-shopify-shop-domain", "test-store.myshopify.com")
            .header("x-shopify-hmac-sha256", signing::base64_hmac(&integration.secret, body))
            .body(body.to_vec())
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_woocommerce(
        &self,
        integration: &CreatedIntegration,
        topic: &str,
        delivery_id: &str,
        body: &[u8],
    ) -> reqwest::Response {
        self.client
            .post(self.url(&integration.webhook_path))
            .header("content-type", "application/json")
            .header("x-wc-webhook-topic", topic)
            .header("x-wc-webhook-delivery-id", delivery_id)
            .header("x-wc-webhook-source", "https://shop.example/")
            .header("x-wc-webhook-signature", signing::base64_hmac(&integration.secret, body))
            .body(body.to_vec())
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_generic(
        &self,
        integration: &CreatedIntegration,
        timestamp: i64,
        body: &[u8],
    ) -> reqwest::Response {
        self.client
            .post(self.url(&integration.webhook_path))
            .header("content-type", "application/json")
            .header("recete-signature", signing::recete_signature(&integration.secret, timestamp, body))
            .body(body.to_vec())
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_whatsapp(&self, app_secret: &str, body: &[u8]) -> reqwest::Response {
        self.client
            .post(self.url("/webhooks/whatsapp"))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signing::hub_signature(app_secret, body))
            .body(body.to_vec())
            .send()
            .await
            .expect("request sent")
    }

    pub async fn events(&self) -> Vec<StoredEvent> {
        sqlx::query_as(
            "SELECT merchant_id, source, kind, topic, dedup_key, subject_id, request_id, occurred_at
             FROM external_events ORDER BY received_at, id",
        )
        .fetch_all(&self.admin)
        .await
        .expect("events readable by the superuser")
    }

    pub async fn event_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM external_events").fetch_one(&self.admin).await.expect("count")
    }
}

/// Asserts a problem-details response and returns its body.
pub async fn assert_problem(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "unexpected status");
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: serde_json::Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status);
    assert!(body["type"].as_str().is_some_and(|t| t.starts_with("/problems/")), "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
    body
}

/// Workers running in this test process, stopped when dropped.
pub struct RunningWorkers {
    pub shutdown: CancellationToken,
    pub handle: JoinHandle<anyhow::Result<()>>,
}

impl Drop for RunningWorkers {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl RunningWorkers {
    /// Stops gracefully and waits for the pools to return.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        let handle = std::mem::replace(&mut self.handle, tokio::spawn(async { Ok(()) }));
        tokio::time::timeout(std::time::Duration::from_secs(30), handle)
            .await
            .expect("workers stop within 30 s")
            .expect("worker task joins")
            .expect("workers stop cleanly");
    }
}

impl TestApp {
    pub fn worker_deps(&self) -> recete_workers::WorkerDeps {
        recete_workers::WorkerDeps {
            pool: self.pool_for_app(),
            redis: RedisClient::new(&self.settings.redis).expect("redis client"),
            keyring: self.keyring.clone(),
            settings: Arc::new(self.settings.clone()),
            sender: recete_messaging::whatsapp::Sender::from_settings(&self.settings.whatsapp).expect("sender"),
        }
    }

    fn pool_for_app(&self) -> PgPool {
        db::connect_lazy(&self.settings.database).expect("pool")
    }

    pub fn start_workers(&self) -> RunningWorkers {
        self.start_pools(recete_workers::Pool::ALL)
    }

    pub fn start_pools(&self, pools: &[recete_workers::Pool]) -> RunningWorkers {
        let shutdown = CancellationToken::new();
        let options = recete_workers::WorkerOptions { pools: pools.to_vec(), health_listen: None };
        let handle = tokio::spawn(recete_workers::run(self.worker_deps(), options, shutdown.clone()));
        RunningWorkers { shutdown, handle }
    }

    /// Counts rows of a query run as the superuser (sees every merchant).
    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.admin).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Polls `sql` (a count) until it reaches `expected`, or fails after `seconds`.
    pub async fn wait_for_count(&self, sql: &str, expected: i64, seconds: u64) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
        loop {
            let current = self.count(sql).await;
            if current == expected {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "{sql}: {current}, expected {expected} within {seconds} s");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub async fn order_status(&self, external_order_id: &str) -> Option<String> {
        sqlx::query_scalar("SELECT status FROM orders WHERE external_order_id = $1")
            .bind(external_order_id)
            .fetch_optional(&self.admin)
            .await
            .expect("order status")
    }
}

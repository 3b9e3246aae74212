//! A real fleet for the monitoring test: a `recete api` and a `recete worker` process on ports of
//! their own, against the test's database and Redis prefix, and the traffic that gives every
//! metric family samples.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use recete_testkit::process::{ChildProcess, free_port};
use recete_testkit::signing;
use serde_json::json;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::followups::Shop;
use crate::helpers::{PHONE_NUMBER_ID, TestApp};

/// One `recete` process with its HTTP listener (the API, or a worker's health and metrics).
pub struct FleetProcess {
    /// `host:port`, as Prometheus targets name it.
    pub target: String,
    _process: ChildProcess,
}

impl FleetProcess {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.target)
    }
}

fn recete(app: &TestApp, role: &str, settings: &[(&str, String)]) -> FleetProcess {
    let port = free_port().expect("a free port");
    let target = format!("127.0.0.1:{port}");
    let process = ChildProcess::spawn(
        format!("recete {role}"),
        Command::new(env!("CARGO_BIN_EXE_recete"))
            .args([role, "--listen", &target])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("DATABASE_URL", app.db.app_url())
            .env("REDIS_URL", &app.redis.url)
            .env("RECETE__REDIS__KEY_PREFIX", &app.redis.prefix)
            .env("RECETE__APP__ENVIRONMENT", "test")
            .env("RECETE__LOG__FILTER", "warn")
            .env_remove("RUST_LOG")
            // The queue board has a fixed address of its own; it is not what this test watches.
            .env("RECETE__OPS__ENABLED", "false")
            // Prometheus scrapes the API's own address with this token (see prometheus.rs).
            .env("RECETE__API__METRICS_TOKEN", crate::helpers::METRICS_TOKEN)
            .env("RECETE__METRICS__SAMPLE_INTERVAL_SECS", "1")
            .env("RECETE__METRICS__HEARTBEAT_INTERVAL_SECS", "1")
            .env("RECETE__QUEUE__POLL_INTERVAL_MS", "50")
            .env("RECETE__QUEUE__RELAY_INTERVAL_MS", "20")
            .env("RECETE__QUEUE__SWEEP_INTERVAL_SECS", "1")
            .env("RECETE__QUEUE__RECONCILE_AFTER_SECS", "2")
            .env("RECETE__QUEUE__HEARTBEAT_SECS", "2")
            .envs(settings.iter().map(|(key, value)| (key, value)))
            .stdout(Stdio::null()),
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    FleetProcess { target, _process: process }
}

/// The API, with quotas that Prometheus' scrapes and the test's requests never reach.
pub fn spawn_api(app: &TestApp) -> FleetProcess {
    recete(app, "api", &[("RECETE__RATE_LIMITS__IP__QUANTITY", "1000000".into())])
}

/// Every worker pool, sending through the fake Graph API; a message fails for good on its
/// second attempt, so dead letters happen within the test.
pub fn spawn_worker(app: &TestApp, graph: &MockServer) -> FleetProcess {
    recete(
        app,
        "worker",
        &[
            ("RECETE__WHATSAPP__GRAPH_BASE_URL", graph.uri()),
            ("RECETE__WHATSAPP__ACCESS_TOKEN", "test-token".into()),
            ("RECETE__WHATSAPP__REQUEST_TIMEOUT_MS", "2000".into()),
            ("RECETE__WHATSAPP__CUSTOMER_GAP_SECS", "0".into()),
            ("RECETE__POOLS__MESSAGES__MAX_ATTEMPTS", "2".into()),
            ("RECETE__POOLS__MESSAGES__BACKOFF_BASE_MS", "100".into()),
        ],
    )
}

/// Waits until the process answers `/readyz` with 200.
pub async fn wait_ready(client: &reqwest::Client, process: &FleetProcess) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = client.get(process.url("/readyz")).send().await;
        if ready.is_ok_and(|response| response.status().is_success()) {
            return;
        }
        assert!(Instant::now() < deadline, "{} is not ready within 60 s", process.target);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The WhatsApp id of the customer whose messages Meta refuses with 500 every time.
pub const REFUSED_WA_ID: &str = "905551230099";

/// Meta answering 500 for one customer (the other mock accepts everyone else).
pub async fn graph_refuses_one_customer(graph: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!("/v21.0/{PHONE_NUMBER_ID}/messages")))
        .and(body_partial_json(json!({"to": REFUSED_WA_ID})))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"error": {"message": "internal", "code": 1}})))
        .with_priority(1)
        .mount(graph)
        .await;
}

/// A merchant plan of one step an hour after delivery, so the delivery time alone decides
/// whether the follow-up is already due (sent at once) or due in a few seconds (a delayed job).
pub async fn one_step_plan(app: &TestApp, shop: &Shop) {
    sqlx::query(
        "UPDATE merchants SET settings = jsonb_set(settings, '{follow_up_plan}',
             jsonb_build_array(jsonb_set(settings->'follow_up_plan'->0, '{offset_hours}', '1')))
         WHERE id = $1",
    )
    .bind(shop.merchant.as_uuid())
    .execute(&app.admin)
    .await
    .expect("one-step plan");
}

/// Signed generic deliveries to the API process.
pub struct Store<'a> {
    pub client: &'a reqwest::Client,
    pub api: &'a FleetProcess,
    pub shop: &'a Shop,
}

impl Store<'_> {
    pub async fn post(&self, body: &[u8], secret: &str) -> reqwest::Response {
        self.client
            .post(self.api.url(&self.shop.generic.webhook_path))
            .header("content-type", "application/json")
            .header("recete-signature", signing::recete_signature(secret, Utc::now().timestamp(), body))
            .body(body.to_vec())
            .send()
            .await
            .expect("webhook sent")
    }

    /// An order delivered `ago` before now to a customer with WhatsApp consent on `wa_id`.
    pub async fn deliver(&self, order_id: &str, wa_id: &str, ago: chrono::Duration) -> Vec<u8> {
        let body = json!({
            "id": format!("delivered-{order_id}"), "type": "order.delivered",
            "occurred_at": (Utc::now() - ago).to_rfc3339(),
            "order": {"id": order_id, "currency": "TRY", "total": "749.90",
                      "customer": {"name": "Ada Yilmaz", "phone": format!("+{wa_id}"), "country": "TR", "whatsapp_consent": true},
                      "items": [{"id": "1", "sku": "SERUM-30", "title": "Vitamin C Serum", "quantity": 1}]}
        })
        .to_string()
        .into_bytes();
        let response = self.post(&body, &self.shop.generic.secret).await;
        assert_eq!(response.status(), 202, "delivery of order {order_id} stored");
        body
    }
}

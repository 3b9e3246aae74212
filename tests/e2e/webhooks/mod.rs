//! Outbound webhooks end to end: endpoints registered through the API, events raised by real
//! flows (a WhatsApp STOP, a message during a hand-over), and deliveries received by a real HTTP
//! receiver in Python that checks every one with the official `standardwebhooks` library
//! (`make tools` installs it, pinned, into target/tools/venv).

mod delivery;
mod endpoints;
mod events;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use recete_shared::integrations::{CreatedIntegration, IntegrationKind};
use serde_json::{Value, json};

use crate::helpers::{PHONE_NUMBER_ID, TestApp, spawn_app_with};
use crate::merchant_api::{Tenant, json_with, tenant};

pub const CUSTOMER_WA_ID: &str = "905551234567";

/// An app whose webhook attempts time out after 1.5 s and retry after about 0.3 s, 0.6 s...,
/// three attempts in all, with endpoints on 127.0.0.1 allowed.
pub async fn spawn_webhook_app() -> TestApp {
    spawn_webhook_app_with(|figment| figment).await
}

pub async fn spawn_webhook_app_with(customize: impl FnOnce(figment::Figment) -> figment::Figment) -> TestApp {
    spawn_app_with(|figment| {
        customize(
            figment
                .merge(("webhooks.allow_loopback", true))
                .merge(("webhooks.request_timeout_ms", 1500))
                .merge(("pools.webhooks.timeout_secs", 10))
                .merge(("pools.webhooks.backoff_base_ms", 300))
                .merge(("pools.webhooks.max_attempts", 3)),
        )
    })
    .await
}

/// The Python receiver, stopped when dropped.
pub struct Receiver {
    child: Child,
    pub port: u16,
    directory: PathBuf,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

impl Receiver {
    /// Starts the receiver trusting no secret yet.
    pub fn start() -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let python = root.join("target/tools/venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run `make tools` to install the pinned standardwebhooks library",
            python.display()
        );
        let directory = std::env::temp_dir().join(format!("recete-webhook-receiver-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&directory).expect("receiver directory");
        std::fs::write(directory.join("secrets"), "").expect("secrets file");
        let mut child = Command::new(python)
            .arg(root.join("tests/e2e/webhooks/receiver.py"))
            .arg(&directory)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the receiver starts");
        let stdout = child.stdout.take().expect("receiver stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("the receiver prints its port");
        let port = line.trim().parse().unwrap_or_else(|_| panic!("the receiver printed `{line}`, not a port"));
        Self { child, port, directory }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The secrets the receiver checks each delivery against, the first deciding its answer.
    pub fn trust(&self, secrets: &[&str]) {
        std::fs::write(self.directory.join("secrets"), secrets.join("\n")).expect("secrets written");
    }

    /// Every request received so far, in order.
    pub fn received(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.directory.join("log.jsonl")).unwrap_or_default();
        text.lines().map(|line| serde_json::from_str(line).expect("a JSON log line")).collect()
    }

    /// Waits until `count` requests were received, and returns them.
    pub async fn wait_for(&self, count: usize, seconds: u64) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(Instant::now() < deadline, "{} requests received, expected {count}: {received:#?}", received.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A merchant with an API key and a WhatsApp number.
pub struct Shop {
    pub tenant: Tenant,
    pub whatsapp: CreatedIntegration,
}

pub async fn shop(app: &TestApp, name: &str) -> Shop {
    let tenant = tenant(app, name).await;
    let whatsapp = app.integration(tenant.merchant, IntegrationKind::WhatsApp).await;
    Shop { tenant, whatsapp }
}

/// Registers an endpoint through the API; returns its id and secret.
pub async fn register(app: &TestApp, tenant: &Tenant, url: &str, event_types: &[&str]) -> (String, String) {
    let created = json_with(
        tenant.post(app, "/api/webhook-endpoints", &json!({ "url": url, "event_types": event_types })).await,
        201,
    )
    .await;
    let id = created["webhook_endpoint"]["id"].as_str().expect("endpoint id").to_owned();
    let secret = created["secret"].as_str().expect("secret shown once").to_owned();
    (id, secret)
}

/// A customer's WhatsApp text, as Meta posts it.
pub fn inbound_text(text: &str, wamid: &str) -> Vec<u8> {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": "Ada Yilmaz"}, "wa_id": CUSTOMER_WA_ID}],
            "messages": [{"from": CUSTOMER_WA_ID, "id": wamid, "timestamp": chrono::Utc::now().timestamp().to_string(),
                          "type": "text", "text": {"body": text}}]
        }}]}]
    })
    .to_string()
    .into_bytes()
}

/// The customer sends STOP: `customer.opted_out`.
pub async fn opt_out(app: &TestApp, shop: &Shop, wamid: &str) {
    let response = app.post_whatsapp(&shop.whatsapp.secret, &inbound_text("STOP", wamid)).await;
    assert_eq!(response.status(), 200);
}

/// The endpoint's deliveries through the API.
pub async fn deliveries(app: &TestApp, tenant: &Tenant, endpoint: &str) -> Vec<Value> {
    let list = tenant.get_json(app, &format!("/api/webhook-endpoints/{endpoint}/deliveries")).await;
    list["deliveries"].as_array().expect("deliveries").clone()
}

/// Polls the endpoint's deliveries until the first is in `state`.
pub async fn wait_for_delivery_state(app: &TestApp, tenant: &Tenant, endpoint: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = deliveries(app, tenant, endpoint).await;
        if let Some(first) = list.first()
            && first["state"] == state
        {
            return first.clone();
        }
        assert!(Instant::now() < deadline, "no delivery reached `{state}` in 30 s: {list:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

//! Rate limits per client address, API key, merchant and webhook sender, shared through Redis.

mod api_keys;
mod client_address;
mod redis_down;
mod webhooks;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::helpers::TestApp;

/// A `RateLimit` field value, `"name";r=<available>;t=<seconds>`.
#[derive(Debug, PartialEq, Eq)]
pub struct ServiceLimit {
    pub name: String,
    pub available: u64,
    pub seconds: u64,
}

pub fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|value| value.to_str().ok())
}

/// Parses the `RateLimit` header of `response`, failing the test when it is absent or malformed.
pub fn service_limit(response: &reqwest::Response) -> ServiceLimit {
    let value = header(response, "ratelimit").expect("a RateLimit header");
    let mut items = value.split(';');
    let name = items.next().and_then(|n| n.strip_prefix('"')?.strip_suffix('"')).expect("a quoted policy name");
    let mut parameters = items.map(|item| item.split_once('=').expect("key=value parameters"));
    let mut next = |key: &str| {
        let (found, number) = parameters.next().unwrap_or_else(|| panic!("{value}: no {key}"));
        assert_eq!(found, key, "{value}");
        number.parse::<u64>().unwrap_or_else(|_| panic!("{value}: {key} is not an integer"))
    };
    let available = next("r");
    let seconds = next("t");
    ServiceLimit { name: name.to_owned(), available, seconds }
}

pub fn policy(response: &reqwest::Response) -> Option<String> {
    header(response, "ratelimit-policy").map(str::to_owned)
}

pub fn retry_after(response: &reqwest::Response) -> u64 {
    header(response, "retry-after").and_then(|v| v.parse().ok()).expect("Retry-After in seconds")
}

/// A `recete api` process of its own against the test's database and Redis prefix, killed when
/// dropped.
pub struct ApiProcess {
    child: Child,
    pub address: String,
}

impl ApiProcess {
    pub fn spawn(app: &TestApp, settings: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_recete"))
            .args(["api", "--listen", "127.0.0.1:0"])
            .env("DATABASE_URL", app.db.app_url())
            .env("REDIS_URL", &app.redis.url)
            .env("RECETE__REDIS__KEY_PREFIX", &app.redis.prefix)
            .env("RECETE__APP__ENVIRONMENT", "test")
            // Tests run side by side: the board's fixed default address would be taken.
            .env("RECETE__OPS__ENABLED", "false")
            .env("RECETE__API__METRICS_TOKEN", crate::helpers::METRICS_TOKEN)
            .env("RECETE__LOG__FORMAT", "json")
            .env("RECETE__LOG__FILTER", "warn,recete_api::startup=info")
            .env_remove("RUST_LOG")
            .envs(settings.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("recete api starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (found, listening) = std::sync::mpsc::channel();
        // Reads the log until the process says where it listens, then keeps draining it so the
        // process never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
                if entry["message"] == "api listening"
                    && let Some(address) = entry["address"].as_str()
                {
                    let _ = found.send(address.to_owned());
                }
            }
        });
        let address = listening.recv_timeout(Duration::from_secs(60)).expect("the api process reports its address");
        Self { child, address: format!("http://{address}") }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// `/metrics` of this process, with the metrics token.
    pub async fn metrics_text(&self) -> String {
        let client = reqwest::Client::new();
        let response = client
            .get(self.url("/metrics"))
            .bearer_auth(crate::helpers::METRICS_TOKEN)
            .send()
            .await
            .expect("/metrics sent");
        assert_eq!(response.status(), 200, "/metrics with the token");
        response.text().await.expect("/metrics text")
    }
}

impl Drop for ApiProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of an unlabelled counter on the app's `/metrics`, 0 when not yet recorded.
pub async fn counter(app: &TestApp, name: &str) -> f64 {
    let text = app.metrics_text().await;
    text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse::<f64>().ok()).unwrap_or(0.0)
}

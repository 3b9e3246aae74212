//! Job metrics, attempt history, release at shutdown and paused queues, observed from outside:
//! API and worker processes of their own (so `/metrics` holds only their traffic), PostgreSQL
//! rows, and `promtool`.

mod attempts;
mod exposition;
mod pause;
mod release;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use recete_testkit::process::{ChildProcess, free_port};

use crate::helpers::TestApp;

/// A `recete api` or `recete worker` process against the test's database and Redis prefix,
/// with its own `/metrics`; killed when dropped.
pub struct RecordedProcess {
    pub base_url: String,
    pub process: ChildProcess,
}

impl RecordedProcess {
    /// `recete worker --queues <queues>`, its queue gauges and heartbeat every second.
    pub async fn worker(app: &TestApp, queues: &str, env: &[(&str, &str)]) -> Self {
        Self::start(app, &["worker", "--queues", queues], env).await
    }

    /// `recete api`, with quotas no test traffic reaches and no queue board (whose fixed address
    /// parallel tests would share).
    pub async fn api(app: &TestApp) -> Self {
        let env = [
            ("RECETE__RATE_LIMITS__IP__QUANTITY", "1000000"),
            ("RECETE__RATE_LIMITS__INTEGRATION__QUANTITY", "1000000"),
            ("RECETE__OPS__ENABLED", "false"),
        ];
        Self::start(app, &["api"], &env).await
    }

    async fn start(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> Self {
        let port = free_port().expect("a free port");
        let listen = format!("127.0.0.1:{port}");
        let mut command = Command::new(env!("CARGO_BIN_EXE_recete"));
        command
            .args(args)
            .args(["--listen", &listen])
            .env("DATABASE_URL", app.db.app_url())
            .env("REDIS_URL", &app.redis.url)
            .env("RECETE__REDIS__KEY_PREFIX", &app.redis.prefix)
            .env("RECETE__QUEUE__POLL_INTERVAL_MS", "50")
            .env("RECETE__QUEUE__RELAY_INTERVAL_MS", "20")
            .env("RECETE__QUEUE__SWEEP_INTERVAL_SECS", "1")
            .env("RECETE__QUEUE__HEARTBEAT_SECS", "2")
            .env("RECETE__METRICS__SAMPLE_INTERVAL_SECS", "1")
            .env("RECETE__METRICS__HEARTBEAT_INTERVAL_SECS", "1")
            .env("RECETE__LOG__FILTER", "warn")
            .env("RECETE__API__METRICS_TOKEN", crate::helpers::METRICS_TOKEN)
            .envs(env.iter().copied())
            .stdout(Stdio::null());
        let process = ChildProcess::spawn(format!("recete {}", args.join(" ")), &mut command).expect("recete starts");
        let started = Self { base_url: format!("http://{listen}"), process };
        started.wait_until_serving(&app.client).await;
        started
    }

    async fn wait_until_serving(&self, client: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = client.get(format!("{}/healthz", self.base_url)).send().await
                && response.status().is_success()
            {
                return;
            }
            assert!(Instant::now() < deadline, "{} is not serving {} within 60 s", self.process.name(), self.base_url);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn metrics(&self, client: &reqwest::Client) -> Exposition {
        // An API process serves /metrics on its own address only with the token; a worker's
        // health listener ignores it.
        let response = client
            .get(format!("{}/metrics", self.base_url))
            .bearer_auth(crate::helpers::METRICS_TOKEN)
            .send()
            .await
            .expect("/metrics answers");
        assert_eq!(response.status(), 200, "/metrics of {}", self.process.name());
        Exposition(response.text().await.expect("/metrics body"))
    }

    /// `/metrics` once `ready` holds of it; `what` names the wait in the failure.
    pub async fn metrics_when(
        &self,
        client: &reqwest::Client,
        what: &str,
        ready: impl Fn(&Exposition) -> bool,
    ) -> Exposition {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let exposition = self.metrics(client).await;
            if ready(&exposition) {
                return exposition;
            }
            assert!(Instant::now() < deadline, "{}: never {what}:\n{}", self.process.name(), exposition.0);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A Prometheus text exposition.
pub struct Exposition(pub String);

/// One sample line: its name, labels and value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

impl Exposition {
    fn samples(&self) -> Vec<Sample> {
        self.0.lines().filter(|line| !line.is_empty() && !line.starts_with('#')).map(parse_sample).collect()
    }

    /// How many series it holds (one per sample line).
    pub fn series(&self) -> usize {
        self.samples().len()
    }

    /// The value of the one series named `name` carrying at least `labels`; panics when several
    /// series match, so a test never sums by accident.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let matching: Vec<f64> = self
            .samples()
            .into_iter()
            .filter(|sample| {
                sample.name == name
                    && labels.iter().all(|(key, value)| sample.labels.get(*key).map(String::as_str) == Some(*value))
            })
            .map(|sample| sample.value)
            .collect();
        assert!(matching.len() <= 1, "{name} {labels:?} matches {} series", matching.len());
        matching.first().copied()
    }
}

fn parse_sample(line: &str) -> Sample {
    let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value on `{line}`"));
    let value = value.parse().unwrap_or_else(|_| panic!("value of `{line}` is not a number"));
    let (name, labels) = match series.split_once('{') {
        Some((name, rest)) => (name, rest.trim_end_matches('}')),
        None => (series, ""),
    };
    let labels = labels
        .split("\",")
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once("=\"").unwrap_or_else(|| panic!("label `{pair}` of `{line}`"));
            (key.to_owned(), value.trim_end_matches('"').to_owned())
        })
        .collect();
    Sample { name: name.to_owned(), labels, value }
}

/// Where `promtool` is; fails the test (never skips it) when it is missing.
pub fn promtool() -> &'static str {
    let found = Command::new("promtool").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    assert!(
        found.is_ok_and(|status| status.success()),
        "promtool is not installed: run scripts/install-prometheus.sh (Debian's `prometheus` package) first"
    );
    "promtool"
}

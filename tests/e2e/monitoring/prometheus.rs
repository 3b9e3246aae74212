//! A private Prometheus for one test: its own port, configuration and storage in a temporary
//! directory, scraping the test's processes every second; killed and removed when dropped.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use recete_testkit::process::{ChildProcess, free_port};
use serde_json::Value;

use super::dashboard::{ALERTS, repo_path};

/// Fails the test (never skips it) when a Prometheus binary is missing.
pub fn require(tool: &str) {
    let found = Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    assert!(
        found.is_ok_and(|status| status.success()),
        "`{tool}` is not installed or does not run: run `make tools` (scripts/install-prometheus.sh installs Debian's prometheus package)"
    );
}

/// `promtool <args>`, failing the test with promtool's own findings.
pub fn promtool(args: &[&str]) {
    let output = Command::new("promtool").args(args).output().expect("promtool runs");
    assert!(
        output.status.success(),
        "promtool {}: {}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

pub struct Prometheus {
    pub address: String,
    client: reqwest::Client,
    directory: PathBuf,
    process: Option<ChildProcess>,
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` (job name, `host:port`) every second, with the
    /// repository's alert rules evaluated every second, and waits until it is ready.
    pub async fn start(targets: &[(&str, &str)]) -> Self {
        let directory = std::env::temp_dir().join(format!("recete-prometheus-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&directory).expect("temporary directory for prometheus");
        let scrape_configs: String = targets
            .iter()
            .map(|(job, target)| {
                format!(
                    "  - job_name: {job}\n    authorization:\n      credentials: {}\n    static_configs:\n      \
                     - targets: [\"{target}\"]\n",
                    crate::helpers::METRICS_TOKEN
                )
            })
            .collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {}\n\
             scrape_configs:\n{scrape_configs}",
            repo_path(ALERTS)
        );
        let config_path = directory.join("prometheus.yml");
        std::fs::write(&config_path, config).expect("prometheus configuration written");
        let log = std::fs::File::create(directory.join("prometheus.log")).expect("prometheus log file");
        let port = free_port().expect("a free port for prometheus");
        let address = format!("127.0.0.1:{port}");
        let process = ChildProcess::spawn(
            "prometheus",
            Command::new("prometheus")
                .arg(format!("--config.file={}", config_path.display()))
                .arg(format!("--storage.tsdb.path={}", directory.join("data").display()))
                .arg(format!("--web.listen-address={address}"))
                .arg("--log.level=warn")
                .stdout(Stdio::null())
                .stderr(log),
        )
        .expect("prometheus starts");
        let server = Self {
            address: format!("http://{address}"),
            client: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client"),
            directory,
            process: Some(process),
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = self.client.get(format!("{}/-/ready", self.address)).send().await;
            if ready.is_ok_and(|response| response.status().is_success()) {
                return;
            }
            assert!(Instant::now() < deadline, "prometheus not ready within 20 s; its log:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What Prometheus logged, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.directory.join("prometheus.log")).unwrap_or_default()
    }

    /// An instant query; panics naming the query unless Prometheus answers `success`.
    pub async fn query(&self, expr: &str) -> Vec<Value> {
        let body = self.api("/api/v1/query", &[("query", expr)]).await;
        assert_eq!(body["status"], "success", "query failed: {expr}\n{body}");
        body["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// The single value of an instant query that returns one sample, if it does.
    pub async fn scalar(&self, expr: &str) -> Option<f64> {
        let result = self.query(expr).await;
        result.first()?["value"][1].as_str()?.parse().ok()
    }

    /// `GET /api/v1/<path>` as JSON.
    pub async fn api(&self, path: &str, query: &[(&str, &str)]) -> Value {
        self.client
            .get(format!("{}{path}", self.address))
            .query(query)
            .send()
            .await
            .unwrap_or_else(|e| panic!("prometheus {path}: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("prometheus {path} answered no JSON: {e}"))
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        // Killed before its storage directory goes away.
        if let Some(mut process) = self.process.take()
            && let Err(error) = process.kill()
        {
            eprintln!("warning: {error:#}");
        }
        if let Err(error) = std::fs::remove_dir_all(&self.directory) {
            eprintln!("warning: cannot remove {}: {error}", self.directory.display());
        }
    }
}

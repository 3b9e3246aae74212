//! A Redis server of a test's own, on a free port without persistence, so the test may stop,
//! restart or flush it without touching the Redis other tests share.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::process::{ChildProcess, free_port};

const START_TIMEOUT: Duration = Duration::from_secs(15);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

pub struct PrivateRedis {
    port: u16,
    dir: PathBuf,
    server: Option<ChildProcess>,
    /// The CA that signed the server's certificate, when the server speaks only TLS.
    tls_ca: Option<PathBuf>,
}

impl PrivateRedis {
    /// Starts `redis-server` (from `PATH`) on a free port and waits until it answers.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(None).await
    }

    /// Starts a `redis-server` that speaks only TLS (`--port 0 --tls-port P`) with the server
    /// certificate of `certificates`; its URL is `rediss://`.
    pub async fn start_tls(certificates: &crate::TestCertificates) -> anyhow::Result<Self> {
        Self::start_with(Some(certificates)).await
    }

    async fn start_with(certificates: Option<&crate::TestCertificates>) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("recete-redis-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut tls_ca = None;
        if let Some(certificates) = certificates {
            for (from, to) in [
                (certificates.server_certificate(), "server.pem"),
                (certificates.server_key(), "server.key"),
                (certificates.ca_file(), "ca.pem"),
            ] {
                std::fs::copy(&from, dir.join(to)).with_context(|| format!("cannot copy {}", from.display()))?;
            }
            tls_ca = Some(dir.join("ca.pem"));
        }
        let mut redis = Self { port: free_port()?, dir, server: None, tls_ca };
        redis.launch().await?;
        Ok(redis)
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls_ca.is_some() { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// A plaintext URL for the same port, which a TLS-only server must refuse.
    pub fn plaintext_url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn is_running(&mut self) -> anyhow::Result<bool> {
        match &mut self.server {
            Some(server) => server.is_running(),
            None => Ok(false),
        }
    }

    /// Shuts the server down with SIGTERM, as an operator or an orchestrator would; with
    /// persistence off, everything it held is gone.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut server) = self.server.take() {
            server.signal("TERM")?;
            server.wait_for_exit(STOP_TIMEOUT).await?;
        }
        Ok(())
    }

    /// Starts the server again on the same port, empty, and waits until it answers.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.launch().await
    }

    async fn launch(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(self.server.is_none(), "redis-server on port {} is already running", self.port);
        let mut command = Command::new("redis-server");
        let port = self.port.to_string();
        match &self.tls_ca {
            None => command.args(["--port", &port]),
            Some(_) => command.args(["--port", "0", "--tls-port", &port]).args([
                "--tls-cert-file",
                "server.pem",
                "--tls-key-file",
                "server.key",
                "--tls-ca-cert-file",
                "ca.pem",
                "--tls-auth-clients",
                "no",
            ]),
        };
        command
            .current_dir(&self.dir)
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.server = Some(ChildProcess::spawn(format!("redis-server on port {}", self.port), &mut command)?);
        self.wait_until_answering().await
    }

    /// `FLUSHALL`: every key of every database is deleted.
    pub async fn flush_all(&self) -> anyhow::Result<()> {
        let mut connection = self.connection().await?;
        tokio::time::timeout(COMMAND_TIMEOUT, redis::cmd("FLUSHALL").exec_async(&mut connection))
            .await
            .context("FLUSHALL did not answer in time")??;
        Ok(())
    }

    /// Keys currently held.
    pub async fn key_count(&self) -> anyhow::Result<i64> {
        let mut connection = self.connection().await?;
        let count = tokio::time::timeout(COMMAND_TIMEOUT, redis::cmd("DBSIZE").query_async(&mut connection))
            .await
            .context("DBSIZE did not answer in time")??;
        Ok(count)
    }

    async fn connection(&self) -> anyhow::Result<redis::aio::MultiplexedConnection> {
        let client = match &self.tls_ca {
            None => redis::Client::open(self.url())?,
            Some(ca) => {
                let root_cert = Some(std::fs::read(ca).with_context(|| format!("cannot read {}", ca.display()))?);
                redis::Client::build_with_tls(self.url(), redis::TlsCertificates { client_tls: None, root_cert })?
            }
        };
        let connection = tokio::time::timeout(COMMAND_TIMEOUT, client.get_multiplexed_async_connection())
            .await
            .with_context(|| format!("no connection to {} in time", self.url()))??;
        Ok(connection)
    }

    async fn wait_until_answering(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let answered: anyhow::Result<String> = async {
                let mut connection = self.connection().await?;
                Ok(redis::cmd("PING").query_async(&mut connection).await?)
            }
            .await;
            if answered.is_ok() {
                return Ok(());
            }
            anyhow::ensure!(self.is_running()?, "redis-server on port {} exited at start", self.port);
            anyhow::ensure!(
                Instant::now() < deadline,
                "redis-server on port {} did not answer within {START_TIMEOUT:?}",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        // Dropping the child kills it; then its working directory goes.
        self.server.take();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

//! The `recete` processes a benchmark starts.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Stops `child` with SIGTERM (its graceful shutdown) and waits for it.
pub fn stop(mut child: Child) -> anyhow::Result<()> {
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status()?;
    child.wait()?;
    Ok(())
}

/// Waits until `base/healthz` answers 2xx, at most `limit`.
pub async fn wait_until_healthy(client: &reqwest::Client, base: &str, limit: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    while !client.get(format!("{base}/healthz")).send().await.map(|r| r.status().is_success()).unwrap_or(false) {
        anyhow::ensure!(started.elapsed() < limit, "{base} did not answer /healthz within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

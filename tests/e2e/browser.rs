//! Running a browser test's script (tests/browser/*.mjs) from a test: Debian's chromium and
//! playwright-core checked first, the script run by node with its environment while the test's
//! runtime keeps serving, its output shown when it fails, and its screenshots checked.

use std::path::Path;
use std::time::{Duration, Instant};

pub const CHROMIUM: &str = "/usr/bin/chromium";
const MODULES: &str = "target/tools/browser/node_modules";

pub fn repo(relative: &str) -> String {
    format!("{}/{relative}", env!("CARGO_MANIFEST_DIR"))
}

/// Where the scripts put their screenshots.
pub fn screenshots() -> String {
    repo("target/screenshots")
}

/// Fails with what to run when the browser or its driver is missing.
pub fn assert_installed() {
    assert!(Path::new(CHROMIUM).exists(), "{CHROMIUM} is missing: run make tools");
    assert!(
        Path::new(&repo(MODULES)).join("playwright-core").exists(),
        "playwright-core is missing in {MODULES}: run make tools"
    );
}

/// Runs `tests/browser/{script}` with `env` (and where the browser, its driver and the
/// screenshots are) until it ends or `limit` passes, and fails with its output unless it
/// succeeded.
pub async fn run(script: &str, env: &[(&str, String)], limit: Duration) {
    if let Err(failure) = try_run(script, env, limit).await {
        panic!("{failure}");
    }
}

/// Like [`run`], with the failure (the script's status and output) returned, for a test that
/// adds what the server side saw.
pub async fn try_run(script: &str, env: &[(&str, String)], limit: Duration) -> Result<(), String> {
    let logs = std::env::temp_dir().join(format!("recete-browser-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&logs).expect("a temporary folder");
    let (stdout, stderr) = (logs.join("stdout.log"), logs.join("stderr.log"));
    let mut command = std::process::Command::new("node");
    command
        .arg(repo(&format!("tests/browser/{script}")))
        .env("SCREENSHOT_DIR", screenshots())
        .env("BROWSER_MODULES", repo(MODULES))
        .env("CHROMIUM", CHROMIUM);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .stdout(std::fs::File::create(&stdout).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("node runs (Debian's nodejs package)");
    // What the page talks to is served by this test's runtime, so the wait must not block it.
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("the browser run can be waited on") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break child.wait().expect("the browser run ends once killed");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    let outcome = if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{script} failed ({status}; the limit is {} s):\n{}\n{}",
            limit.as_secs(),
            read(&stdout),
            read(&stderr)
        ))
    };
    let _ = std::fs::remove_dir_all(&logs);
    outcome
}

/// Each of `names` was taken and holds a page (more than a blank's bytes).
pub fn assert_screenshots(names: &[&str]) {
    let folder = screenshots();
    for name in names {
        let size = std::fs::metadata(format!("{folder}/{name}")).map(|m| m.len()).unwrap_or(0);
        assert!(size > 10_000, "{name} was taken ({size} bytes)");
    }
}

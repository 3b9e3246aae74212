//! `recete healthcheck URL`: for container health checks, which need a command, not a URL.

use std::process::ExitCode;
use std::time::Duration;

pub fn run(base_url: &str) -> ExitCode {
    let url = format!("{}/readyz", base_url.trim_end_matches('/'));
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("recete: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
        let response = client.get(&url).send().await?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        Ok::<_, reqwest::Error>((status, body))
    });
    match outcome {
        Ok((status, _)) if status.is_success() => ExitCode::SUCCESS,
        Ok((status, body)) => {
            eprintln!("recete: {url} answered {status}: {body}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("recete: {url} did not answer: {error}");
            ExitCode::FAILURE
        }
    }
}

//! `recete api` serves the board on `ops.listen` beside the API and stops it with the API.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_api_process_serves_the_board_metrics_and_readiness_details_on_its_own_address_and_stops_on_sigterm() {
    let app = spawn_app().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_recete"))
        .args(["api", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", app.db.app_url())
        .env("REDIS_URL", &app.redis.url)
        .env("RECETE__REDIS__KEY_PREFIX", &app.redis.prefix)
        .env("RECETE__APP__ENVIRONMENT", "test")
        .env("RECETE__OPS__LISTEN", "127.0.0.1:0")
        .env("RECETE__LOG__FORMAT", "json")
        .env("RECETE__LOG__FILTER", "warn,recete_api::startup=info,recete_ops=info")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("recete api starts");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (found, listening) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
            if let (Some(message), Some(address)) = (entry["message"].as_str(), entry["address"].as_str()) {
                let _ = found.send((message.to_owned(), address.to_owned()));
            }
        }
    });
    let mut board = None;
    let mut api = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    while board.is_none() || api.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        let (message, address) = listening.recv_timeout(left).expect("the process reports both addresses");
        match message.as_str() {
            "ops board listening" => board = Some(address),
            "api listening" => api = Some(address),
            _ => {}
        }
    }
    let (board, api) = (board.expect("board address"), api.expect("api address"));
    assert_ne!(board, api, "the board has an address of its own");

    let client = super::no_redirects();
    let sign_in = client.get(format!("http://{board}/ops/sign-in")).send().await.expect("board answers");
    assert_eq!(sign_in.status(), StatusCode::OK);
    assert!(sign_in.text().await.expect("page").contains("Sign in"));
    let not_on_api = client.get(format!("http://{api}/ops/sign-in")).send().await.expect("api answers");
    assert_eq!(not_on_api.status(), StatusCode::NOT_FOUND, "the public API does not serve the board");

    // Metrics and readiness in detail are on the board's address, not the public one.
    let metrics = client.get(format!("http://{board}/metrics")).send().await.expect("board answers");
    assert_eq!(metrics.status(), StatusCode::OK);
    assert!(metrics.text().await.expect("text").contains("# TYPE"), "an exposition");
    let details: serde_json::Value =
        client.get(format!("http://{board}/readyz")).send().await.expect("board answers").json().await.expect("JSON");
    assert!(details["checks"]["postgres"]["status"].is_string(), "{details}");
    let public_metrics = client.get(format!("http://{api}/metrics")).send().await.expect("api answers");
    assert_eq!(public_metrics.status(), StatusCode::NOT_FOUND, "no metrics on the public address");
    let public_ready: serde_json::Value =
        client.get(format!("http://{api}/readyz")).send().await.expect("api answers").json().await.expect("JSON");
    assert!(public_ready.get("checks").is_none(), "no details on the public address: {public_ready}");

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waitable") {
            break status;
        }
        assert!(Instant::now() < deadline, "the process stops within 30 s of SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "a clean stop: {status}");
    assert!(client.get(format!("http://{board}/ops/sign-in")).send().await.is_err(), "the board stopped too");
}

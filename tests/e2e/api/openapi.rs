//! The OpenAPI document is the contract: it is served, it matches the routes, the reference page
//! works offline, and schemathesis finds no response that breaks it.

use std::process::Command;
use std::time::Duration;

use recete_shared::merchants;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app_with};

async fn app_without_rate_limits() -> TestApp {
    spawn_app_with(|figment| figment.merge(("rate_limits.enabled", false))).await
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_every_api_error_is_a_problem() {
    let app = app_without_rate_limits().await;
    let response = app.client.get(app.url("/openapi.json")).send().await.expect("request");
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.expect("json");
    assert!(document["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", document["openapi"]);
    let paths = document["paths"].as_object().expect("paths");
    for expected in ["/api/products", "/api/conversations", "/api/messages"] {
        assert!(paths.contains_key(expected), "{expected} is not documented");
    }
    for (path, item) in paths.iter().filter(|(path, _)| path.starts_with("/api/")) {
        for (method, operation) in item.as_object().expect("path item") {
            let responses = operation["responses"].as_object().expect("responses");
            for status in ["400", "401", "404", "422", "429", "500", "503"] {
                let content = &responses[status]["content"];
                assert!(content.get("application/problem+json").is_some(), "{method} {path} lacks a {status} problem");
            }
            assert!(operation["security"].as_array().is_some_and(|s| !s.is_empty()), "{method} {path} has no security");
            assert!(operation["tags"].as_array().is_some_and(|t| !t.is_empty()), "{method} {path} has no tag");
        }
    }
}

#[tokio::test]
async fn the_reference_page_and_its_assets_are_served_by_us() {
    let app = app_without_rate_limits().await;
    let page = app.client.get(app.url("/docs/")).send().await.expect("request");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(!html.contains("//cdn") && !html.contains("unpkg.com") && !html.contains("jsdelivr"), "{html}");
    // Every script and stylesheet the page loads is a relative path we serve.
    let assets: Vec<&str> =
        html.split(['"', '\'']).filter(|part| part.ends_with(".js") || part.ends_with(".css")).collect();
    assert!(!assets.is_empty(), "no assets referenced: {html}");
    for asset in assets {
        assert!(!asset.starts_with("http"), "external asset {asset}");
        let url = app.url(&format!("/docs/{}", asset.trim_start_matches("./")));
        let response = app.client.get(&url).send().await.expect("asset");
        assert_eq!(response.status(), 200, "{url}");
        assert!(!response.bytes().await.expect("body").is_empty(), "{url} is empty");
    }
}

/// The schemathesis command installed by `make tools`.
fn schemathesis() -> std::path::PathBuf {
    let path = std::env::var_os("RECETE_SCHEMATHESIS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/venv/bin/st"));
    assert!(path.exists(), "schemathesis is not installed at {}: run `make tools`", path.display());
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_against_the_running_api() {
    let app = app_without_rate_limits().await;
    let merchant = merchants::create(&app.pool, "Fuzzed Store", "Europe/Berlin").await.expect("merchant");
    let seeded = app
        .client
        .post(app.url("/api/products"))
        .bearer_auth(&merchant.api_key)
        .json(&serde_json::json!({ "sku": "SEED-1", "title": "Seed serum", "usage": "Two drops at night." }))
        .send()
        .await
        .expect("seed product");
    assert_eq!(seeded.status(), 201);
    // The fuzzer revokes this key, never the one it authenticates with (see schemathesis.toml).
    let revocable = app
        .client
        .post(app.url("/api/api-keys"))
        .bearer_auth(&merchant.api_key)
        .json(&serde_json::json!({ "name": "revoked by the fuzzer" }))
        .send()
        .await
        .expect("second key");
    assert_eq!(revocable.status(), 201);
    let revocable: Value = revocable.json().await.expect("json");
    let revocable_id = revocable["api_key"]["id"].as_str().expect("key id").to_owned();
    let st = schemathesis();
    let address = app.address.clone();
    let key = merchant.api_key.clone();
    let config = format!("{}/tests/e2e/api/schemathesis.toml", env!("CARGO_MANIFEST_DIR"));
    let run = tokio::task::spawn_blocking(move || {
        Command::new(st)
            .args(["--config-file", &config])
            .args(["run", &format!("{address}/openapi.json")])
            .args(["--checks", "all"])
            // Refused rightly: see schemathesis.toml.
            .args(["--exclude-checks", "positive_data_acceptance"])
            .args(["--phases", "examples,coverage,fuzzing"])
            .args(["--max-examples", "30"])
            // One worker: Python 3.11's `ast` miscounts its recursion depth when threads parse at
            // once, which crashes schemathesis' coverage phase at random.
            .args(["--workers", "1"])
            .args(["--max-response-time", "10"])
            .args(["--header", &format!("Authorization: Bearer {key}")])
            .args(["--seed", "20261123"])
            .arg("--no-color")
            // Its example database and reports stay out of the checkout.
            .current_dir(std::env::temp_dir())
            .env("RECETE_FUZZ_REVOCABLE_KEY_ID", revocable_id)
            .output()
    });
    let output = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("schemathesis finished within 10 minutes")
        .expect("join")
        .expect("schemathesis ran");
    let report = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "schemathesis found problems:\n{report}");
    assert!(report.contains("passed"), "{report}");
}

//! CSV imports end to end: files uploaded through the API (or the command line), read by a real
//! imports worker into PostgreSQL, and the results as the merchant sees them.

mod cli;
mod connections;
mod files;
mod rerun;
mod scale;
mod store_exports;
mod uploads;

use std::time::{Duration, Instant};

use recete_platform::ids::MerchantId;
use recete_shared::merchants;
use serde_json::Value;

use crate::helpers::TestApp;

/// A merchant and its API key.
pub struct Store {
    pub merchant: MerchantId,
    pub api_key: String,
}

pub async fn store(app: &TestApp) -> Store {
    let created = merchants::create(&app.pool, "Glow Store", "Europe/Berlin").await.expect("merchant");
    Store { merchant: created.merchant_id, api_key: created.api_key }
}

impl Store {
    /// Uploads `body` as `text/csv` to `/api/imports/<kind>?<query>`.
    pub async fn upload(
        &self,
        app: &TestApp,
        kind: &str,
        query: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.upload_as(app, kind, query, "text/csv", body).await
    }

    pub async fn upload_as(
        &self,
        app: &TestApp,
        kind: &str,
        query: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        app.client
            .post(app.url(&format!("/api/imports/{kind}?{query}")))
            .bearer_auth(&self.api_key)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("upload sent")
    }

    /// Uploads and expects 202; returns the import id.
    pub async fn accepted(&self, app: &TestApp, kind: &str, query: &str, body: impl Into<reqwest::Body>) -> String {
        let response = self.upload(app, kind, query, body).await;
        assert_eq!(response.status(), 202, "upload answered {}", response.status());
        let accepted: Value = response.json().await.expect("JSON body");
        accepted["import_id"].as_str().expect("import_id").to_owned()
    }

    pub async fn get(&self, app: &TestApp, path: &str) -> reqwest::Response {
        app.client.get(app.url(path)).bearer_auth(&self.api_key).send().await.expect("request sent")
    }

    pub async fn get_json(&self, app: &TestApp, path: &str) -> Value {
        let response = self.get(app, path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON body")
    }

    /// Polls the import until it has ended; returns its status document.
    pub async fn finished(&self, app: &TestApp, import_id: &str, seconds: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let import = self.get_json(app, &format!("/api/imports/{import_id}")).await;
            if import["status"] == "completed" || import["status"] == "failed" {
                return import;
            }
            assert!(Instant::now() < deadline, "import {import_id} did not end within {seconds} s: {import}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Uploads, waits for the import to end, returns its status document.
    pub async fn import(&self, app: &TestApp, kind: &str, query: &str, body: impl Into<reqwest::Body>) -> Value {
        let id = self.accepted(app, kind, query, body).await;
        self.finished(app, &id, 60).await
    }

    pub async fn errors_csv(&self, app: &TestApp, import_id: &str) -> String {
        let response = self.get(app, &format!("/api/imports/{import_id}/errors.csv")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
        response.text().await.expect("text")
    }
}

/// The counts of a finished import, for one-line assertions.
pub fn counts(import: &Value) -> (i64, i64, i64, i64) {
    let count = |key: &str| import[key].as_i64().unwrap_or(-1);
    (count("total_rows"), count("imported"), count("skipped"), count("failed"))
}

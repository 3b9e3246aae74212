//! The merchant API's account resources end to end: products, integrations (with secret
//! rotation against real signed webhooks), API keys and settings, each through real API keys,
//! with validation errors naming their field and other merchants' ids answering 404.

mod api_keys;
mod integrations;
mod products;
mod scopes;
mod settings;

use recete_platform::ids::MerchantId;
use recete_shared::merchants;
use serde_json::Value;

use crate::helpers::{TestApp, assert_problem};

/// A merchant and an API key of theirs.
pub struct Tenant {
    pub merchant: MerchantId,
    pub key: String,
}

pub async fn tenant(app: &TestApp, name: &str) -> Tenant {
    let created = merchants::create(&app.pool, name, "Europe/Istanbul").await.expect("merchant");
    Tenant { merchant: created.merchant_id, key: created.api_key }
}

impl Tenant {
    pub async fn get(&self, app: &TestApp, path: &str) -> reqwest::Response {
        app.client.get(app.url(path)).bearer_auth(&self.key).send().await.expect("request sent")
    }

    pub async fn post(&self, app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
        app.client.post(app.url(path)).bearer_auth(&self.key).json(body).send().await.expect("request sent")
    }

    pub async fn patch(&self, app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
        app.client.patch(app.url(path)).bearer_auth(&self.key).json(body).send().await.expect("request sent")
    }

    pub async fn delete(&self, app: &TestApp, path: &str) -> reqwest::Response {
        app.client.delete(app.url(path)).bearer_auth(&self.key).send().await.expect("request sent")
    }

    /// GET `path` expecting 200 and a JSON body.
    pub async fn get_json(&self, app: &TestApp, path: &str) -> Value {
        let response = self.get(app, path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON body")
    }
}

/// Reads `response` as JSON after checking its status.
pub async fn json_with(response: reqwest::Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(actual, status, "{body}");
    body
}

/// Sends each `(body, field)` to `method path` and collects every answer that is not a 422
/// problem naming `field`, so one run reports every miss.
pub async fn misnamed_fields(
    app: &TestApp,
    tenant: &Tenant,
    method: reqwest::Method,
    path: &str,
    cases: Vec<(Value, &str)>,
) -> Vec<String> {
    let mut wrong = Vec::new();
    for (body, field) in cases {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(&tenant.key)
            .json(&body)
            .send()
            .await
            .expect("request sent");
        let status = response.status().as_u16();
        let content_type =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let problem: Value = response.json().await.unwrap_or(Value::Null);
        if status != 422 || problem["field"] != field || content_type != "application/problem+json" {
            wrong.push(format!("{body} -> {status} {problem} (expected a 422 naming `{field}`)"));
        }
    }
    wrong
}

/// Pages through `path` (which already has a query) `limit` at a time and returns every item
/// of the list `key`, in order.
pub async fn every_page(app: &TestApp, tenant: &Tenant, path: &str, key: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let url = match &cursor {
            Some(cursor) => format!("{path}&limit={limit}&cursor={cursor}"),
            None => format!("{path}&limit={limit}"),
        };
        let page = tenant.get_json(app, &url).await;
        let page_items = page[key].as_array().expect("a list").clone();
        assert!(page_items.len() <= limit, "{page}");
        items.extend(page_items);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
    panic!("more than 100 pages of {path}");
}

/// A malformed id in the path is the client's mistake, told apart from a missing resource.
pub async fn assert_malformed_id(response: reqwest::Response) {
    let status = response.status().as_u16();
    assert!(status == 400 || status == 422, "a malformed id is a client error, not {status}");
    let problem = assert_problem(response, status).await;
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("not-a-uuid")), "{problem}");
}

pub fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|item| item["id"].as_str().expect("an id").to_owned()).collect()
}

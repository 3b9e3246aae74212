//! The merchant API's read side end to end: customers and orders made by the real order pipeline
//! and read page by page through API keys, the analytics rollup over real traffic (a fake Graph
//! API in place of Meta), attributed revenue over a fixture counted by hand, and periodic jobs
//! claimed once across replicas.

mod analytics;
mod attribution;
mod customers;
mod orders;
mod periodic;

use chrono::{DateTime, Utc};
use recete_platform::ids::MerchantId;
use recete_shared::integrations::{CreatedIntegration, IntegrationKind};
use recete_shared::merchants;
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// A merchant with a generic store integration and an API key.
pub struct Shop {
    pub merchant: MerchantId,
    pub generic: CreatedIntegration,
    pub api_key: String,
}

pub async fn shop(app: &TestApp, name: &str, timezone: &str) -> Shop {
    let created = merchants::create(&app.pool, name, timezone).await.expect("merchant");
    let generic = app.integration(created.merchant_id, IntegrationKind::Generic).await;
    Shop { merchant: created.merchant_id, generic, api_key: created.api_key }
}

impl Shop {
    pub async fn get(&self, app: &TestApp, path: &str) -> reqwest::Response {
        app.client.get(app.url(path)).bearer_auth(&self.api_key).send().await.expect("request sent")
    }

    /// GET `path` expecting 200 and a JSON body.
    pub async fn get_json(&self, app: &TestApp, path: &str) -> Value {
        let response = self.get(app, path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON body")
    }

    /// PATCH `path` with a JSON body expecting 200 and a JSON body.
    pub async fn patch_json(&self, app: &TestApp, path: &str, body: Value) -> Value {
        let response =
            app.client.patch(app.url(path)).bearer_auth(&self.api_key).json(&body).send().await.expect("request sent");
        assert_eq!(response.status(), 200, "PATCH {path}");
        response.json().await.expect("JSON body")
    }

    /// Merges `settings` into the merchant's settings.
    pub async fn set_settings(&self, app: &TestApp, settings: Value) {
        sqlx::query("UPDATE merchants SET settings = settings || $2 WHERE id = $1")
            .bind(self.merchant.as_uuid())
            .bind(settings)
            .execute(&app.admin)
            .await
            .expect("settings");
    }
}

/// A customer as a store describes them.
#[derive(Clone)]
pub struct Buyer<'a> {
    pub external_id: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub phone: &'a str,
    /// `None` when the store says nothing about consent.
    pub consent: Option<bool>,
}

/// A store's order event through the generic API, as the store signs it.
pub async fn post_order(
    app: &TestApp,
    shop: &Shop,
    kind: &str,
    order_id: &str,
    placed_at: DateTime<Utc>,
    occurred_at: DateTime<Utc>,
    buyer: &Buyer<'_>,
) {
    let mut customer = json!({
        "id": buyer.external_id, "name": buyer.name, "email": buyer.email, "phone": buyer.phone, "country": "TR"
    });
    if let Some(consent) = buyer.consent {
        customer["whatsapp_consent"] = json!(consent);
        customer["consent_at"] = json!(placed_at.to_rfc3339());
    }
    let body = json!({
        "id": format!("{kind}-{order_id}"), "type": kind, "occurred_at": occurred_at.to_rfc3339(),
        "order": {
            "id": order_id, "number": format!("#{order_id}"), "currency": "TRY", "total": "749.90",
            "placed_at": placed_at.to_rfc3339(), "customer": customer,
            "items": [
                {"id": "1", "sku": "SERUM-30", "title": "Vitamin C Serum", "quantity": 1, "unit_price": "499.90"},
                {"id": "2", "sku": "CREAM-50", "title": "Night Cream", "quantity": 2, "unit_price": "125.00"}
            ]
        }
    });
    let response = app.post_generic(&shop.generic, Utc::now().timestamp(), body.to_string().as_bytes()).await;
    assert_eq!(response.status(), 202, "order event {kind} {order_id} accepted");
}

/// The ids in a list field of every page of `path` (which has no query string of its own
/// beyond what is given), following `next_cursor` to the end; asserts each page's size.
pub async fn all_pages(app: &TestApp, shop: &Shop, path: &str, field: &str, limit: usize) -> Vec<Value> {
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let url = match &cursor {
            Some(cursor) => format!("{path}{separator}limit={limit}&cursor={cursor}"),
            None => format!("{path}{separator}limit={limit}"),
        };
        let page = shop.get_json(app, &url).await;
        let rows = page[field].as_array().unwrap_or_else(|| panic!("{field} in {page}")).clone();
        assert!(rows.len() <= limit, "{url}: {} rows", rows.len());
        items.extend(rows.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(rows.len(), limit, "only full pages have a next page");
                cursor = Some(next.to_owned());
            }
            None => return items,
        }
    }
    panic!("more than 100 pages of {path}");
}

pub fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|item| item["id"].as_str().expect("id").to_owned()).collect()
}

pub const ADA: Buyer<'static> = Buyer {
    external_id: "c-1",
    name: "Ada Yilmaz",
    email: "ada@example.com",
    phone: "+905551112233",
    consent: Some(true),
};
pub const BORA: Buyer<'static> = Buyer {
    external_id: "c-2",
    name: "Bora Kaya",
    email: "bora@example.com",
    phone: "+905552223344",
    consent: Some(false),
};
pub const CEM: Buyer<'static> =
    Buyer { external_id: "c-3", name: "Cem Demir", email: "cem@example.com", phone: "+905553334455", consent: None };
pub const DENIZ: Buyer<'static> = Buyer {
    external_id: "c-4",
    name: "Deniz Ak",
    email: "deniz@example.com",
    phone: "+905554445566",
    consent: Some(true),
};
pub const ECE: Buyer<'static> =
    Buyer { external_id: "c-5", name: "Ece Sari", email: "ece@example.com", phone: "+905555556677", consent: None };
pub const BUYERS: [Buyer<'static>; 5] = [ADA, BORA, CEM, DENIZ, ECE];

/// Six orders of five customers in every status, through the order pipeline: `(order, event kind,
/// days since placed, buyer)`. Ada has two: one delivered long ago (too old to plan follow-ups),
/// one delivered an hour ago (follow-ups planned).
pub const ORDERS: [(&str, &str, i64, Buyer<'static>); 6] = [
    ("1001", "order.delivered", 10, ADA),
    ("1002", "order.paid", 8, BORA),
    ("1003", "order.fulfilled", 6, CEM),
    ("1004", "order.cancelled", 4, DENIZ),
    ("1005", "order.created", 3, ECE),
    ("1006", "order.delivered", 2, ADA),
];

/// Posts [`ORDERS`] and waits until the pipeline has made them; returns when each was placed.
pub async fn seed_orders(app: &TestApp, shop: &Shop) -> Vec<(String, DateTime<Utc>)> {
    let workers = app.start_pools(&[recete_workers::Pool::OrderEvents]);
    let now = Utc::now();
    let mut placed = Vec::new();
    for (order_id, kind, days_ago, buyer) in ORDERS {
        let placed_at = now - chrono::Duration::days(days_ago);
        // The old delivery happened a day after the order; the recent one an hour ago.
        let occurred_at =
            if order_id == "1001" { placed_at + chrono::Duration::days(1) } else { now - chrono::Duration::hours(1) };
        post_order(app, shop, kind, order_id, placed_at, occurred_at, &buyer).await;
        placed.push((order_id.to_owned(), placed_at));
    }
    let made = format!("SELECT count(*) FROM orders WHERE merchant_id = '{}'", shop.merchant);
    app.wait_for_count(&made, ORDERS.len() as i64, 30).await;
    app.wait_for_count(
        &format!(
            "SELECT count(*) FROM external_events WHERE merchant_id = '{}' AND state = 'processed'",
            shop.merchant
        ),
        ORDERS.len() as i64,
        30,
    )
    .await;
    workers.stop().await;
    placed
}

use serde_json::{Value, json};

use super::{ADA, BUYERS, all_pages, ids, seed_orders, shop};
use crate::helpers::{assert_problem, spawn_app};

/// Our id of the customer a store knows as `external_id`.
async fn customer_id(app: &crate::helpers::TestApp, external_id: &str) -> String {
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM customers WHERE external_id = $1")
        .bind(external_id)
        .fetch_one(&app.admin)
        .await
        .expect("customer");
    id.to_string()
}

fn assert_no_full_phone(body: &str) {
    for buyer in BUYERS {
        let national = &buyer.phone[3..];
        assert!(!body.contains(national), "a full phone number leaked: {body}");
    }
}

#[tokio::test]
async fn customers_are_listed_page_by_page_filtered_and_shown_with_a_masked_phone() {
    let app = spawn_app().await;
    let shop = shop(&app, "Glow Store", "Europe/Istanbul").await;
    seed_orders(&app, &shop).await;
    shop.set_settings(&app, json!({"default_phone_country": "TR"})).await;
    // Distinct first-seen times, one month apart in customer order: c-1 oldest, c-5 newest.
    for (month, buyer) in BUYERS.iter().enumerate() {
        sqlx::query(
            "UPDATE customers SET created_at = make_timestamptz(2026, $2, 1, 0, 0, 0, 'UTC') WHERE external_id = $1",
        )
        .bind(buyer.external_id)
        .bind(month as i32 + 1)
        .execute(&app.admin)
        .await
        .expect("created_at");
    }
    let mut newest_first = Vec::new();
    for buyer in BUYERS.iter().rev() {
        newest_first.push(customer_id(&app, buyer.external_id).await);
    }

    // Every page full but the last, newest first, each customer exactly once.
    let everyone = all_pages(&app, &shop, "/api/customers", "customers", 2).await;
    assert_eq!(ids(&everyone), newest_first);
    let body = serde_json::to_string(&everyone).expect("json");
    assert_no_full_phone(&body);
    let ada = everyone.iter().find(|c| c["external_id"] == "c-1").expect("Ada listed");
    assert_eq!(ada["phone"], "+90 ****33");
    assert_eq!((&ada["name"], &ada["email"]), (&json!("Ada Yilmaz"), &json!("ada@example.com")));

    // Filters: consent, creation window (end excluded), phone in the merchant's local format
    // and in E.164, email in any case.
    let external_ids = |list: &Value| -> Vec<String> {
        list["customers"]
            .as_array()
            .expect("customers")
            .iter()
            .map(|c| c["external_id"].as_str().expect("external id").to_owned())
            .collect()
    };
    let cases = [
        ("/api/customers?consent=granted", vec!["c-4", "c-1"]),
        ("/api/customers?consent=revoked", vec!["c-2"]),
        ("/api/customers?consent=unknown", vec!["c-5", "c-3"]),
        ("/api/customers?created_from=2026-02-01T00:00:00Z&created_to=2026-04-01T00:00:00Z", vec!["c-3", "c-2"]),
        ("/api/customers?created_from=2026-04-01T00:00:00%2B00:00", vec!["c-5", "c-4"]),
        ("/api/customers?phone=0555%20111%2022%2033", vec!["c-1"]),
        ("/api/customers?phone=%2B90%20555%20222%2033%2044", vec!["c-2"]),
        ("/api/customers?phone=%2B905559990000", vec![]),
        ("/api/customers?email=ADA%40Example.com", vec!["c-1"]),
        ("/api/customers?email=ada%40example.com&consent=revoked", vec![]),
    ];
    for (path, expected) in cases {
        assert_eq!(external_ids(&shop.get_json(&app, path).await), expected, "{path}");
    }

    // One customer: opened name and email, masked phone, consent, orders and no conversation.
    let ada_id = customer_id(&app, ADA.external_id).await;
    let response = shop.get(&app, &format!("/api/customers/{ada_id}")).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("body");
    assert_no_full_phone(&text);
    let detail: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(detail["id"], ada_id.as_str());
    assert_eq!(detail["phone"], "+90 ****33");
    assert_eq!((&detail["name"], &detail["email"]), (&json!("Ada Yilmaz"), &json!("ada@example.com")));
    assert_eq!(
        (&detail["consent"], &detail["consent_source"]),
        (&json!("granted"), &json!("generic:whatsapp_consent"))
    );
    assert_eq!(detail["order_count"], 2);
    let newest_order: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT placed_at FROM orders WHERE external_order_id = '1006'")
            .fetch_one(&app.admin)
            .await
            .expect("placed");
    let last_order_at: chrono::DateTime<chrono::Utc> =
        detail["last_order_at"].as_str().expect("time").parse().expect("RFC 3339");
    assert_eq!(last_order_at.timestamp_micros(), newest_order.timestamp_micros());
    assert_eq!(detail["conversation"], Value::Null);
    assert_eq!(detail["country_code"], "TR");

    // Another merchant sees none of it: 404 like a missing id, an empty list.
    let other = shop_b(&app).await;
    for id in &newest_first {
        assert_problem(other.get(&app, &format!("/api/customers/{id}")).await, 404).await;
    }
    assert_problem(shop.get(&app, &format!("/api/customers/{}", uuid::Uuid::now_v7())).await, 404).await;
    assert_eq!(other.get_json(&app, "/api/customers").await["customers"], json!([]));
    assert_eq!(other.get_json(&app, "/api/customers?phone=%2B905551112233").await["customers"], json!([]));
}

async fn shop_b(app: &crate::helpers::TestApp) -> super::Shop {
    shop(app, "Other Store", "UTC").await
}

#[tokio::test]
async fn bad_customer_parameters_are_named_and_never_echo_a_phone() {
    let app = spawn_app().await;
    // A shop in UTC: no default phone country, and a time zone that names none.
    let shop = shop(&app, "Glow Store", "UTC").await;
    let cases = [
        ("/api/customers?limit=0", "limit"),
        ("/api/customers?limit=201", "limit"),
        ("/api/customers?cursor=not-a-cursor", "cursor"),
        ("/api/customers?consent=maybe", "consent"),
        ("/api/customers?created_from=yesterday", "created_from"),
        ("/api/customers?created_from=2026-05-01T00:00:00Z&created_to=2026-04-01T00:00:00Z", "created_from"),
        ("/api/customers?email=not-an-email", "email"),
        ("/api/customers?phone=", "phone"),
        ("/api/customers?phone=0555%20111%2022%2033", "phone"),
        ("/api/customers?phone=call%20me%20maybe", "phone"),
        ("/api/customers?colour=blue", "colour"),
    ];
    for (path, field) in cases {
        let problem = assert_problem(shop.get(&app, path).await, 422).await;
        assert_eq!(problem["field"], field, "{path}: {problem}");
        assert!(!problem["detail"].as_str().unwrap_or_default().contains("555"), "{path}: {problem}");
    }
    malformed_id(shop.get(&app, "/api/customers/not-a-uuid").await).await;
    // A local number with no country to read it in says how to write it.
    let problem = assert_problem(shop.get(&app, "/api/customers?phone=0555%20111%2022%2033").await, 422).await;
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("+country code")), "{problem}");
    assert_problem(app.client.get(app.url("/api/customers")).send().await.expect("sent"), 401).await;
}

/// A malformed id in the path is the client's mistake, told apart from a missing resource.
pub async fn malformed_id(response: reqwest::Response) {
    let status = response.status().as_u16();
    assert!(status == 400 || status == 422, "a malformed id is a client error, not {status}");
    let problem = assert_problem(response, status).await;
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("UUID") || d.contains("uuid")), "{problem}");
}

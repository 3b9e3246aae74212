use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::{ORDERS, all_pages, post_order, seed_orders, shop};
use crate::helpers::{assert_problem, spawn_app};

fn external_ids(orders: &[Value]) -> Vec<&str> {
    orders.iter().map(|o| o["external_order_id"].as_str().expect("external id")).collect()
}

/// `at` as a query value: RFC 3339 with the `+` escaped.
fn param(at: DateTime<Utc>) -> String {
    at.to_rfc3339().replace('+', "%2B")
}

#[tokio::test]
async fn orders_are_listed_page_by_page_filtered_and_shown_with_items_and_follow_ups() {
    let app = spawn_app().await;
    let shop = shop(&app, "Glow Store", "Europe/Istanbul").await;
    let placed = seed_orders(&app, &shop).await;
    // Another merchant's order under the same store id stays theirs.
    let other = shop_b(&app).await;
    let workers = app.start_pools(&[recete_workers::Pool::OrderEvents]);
    post_order(&app, &other, "order.created", "1001", Utc::now(), Utc::now(), &super::CEM).await;
    app.wait_for_count("SELECT count(*) FROM orders", 7, 30).await;
    workers.stop().await;

    // Newest placed first, every order once, across pages of two.
    let everyone = all_pages(&app, &shop, "/api/orders", "orders", 2).await;
    assert_eq!(external_ids(&everyone), vec!["1006", "1005", "1004", "1003", "1002", "1001"]);
    let statuses: Vec<&str> = everyone.iter().map(|o| o["status"].as_str().expect("status")).collect();
    assert_eq!(statuses, vec!["delivered", "created", "cancelled", "fulfilled", "paid", "delivered"]);
    let delivered_one_a_page = all_pages(&app, &shop, "/api/orders?status=delivered", "orders", 1).await;
    assert_eq!(external_ids(&delivered_one_a_page), vec!["1006", "1001"]);

    let now = Utc::now();
    let placed_of = |order: &str| placed.iter().find(|(id, _)| id == order).expect("placed").1;
    let ada: String = everyone[0]["customer_id"].as_str().expect("customer").to_owned();
    let cases = [
        ("/api/orders?status=cancelled".to_owned(), vec!["1004"]),
        (
            format!("/api/orders?placed_from={}&placed_to={}", param(placed_of("1003")), param(placed_of("1005"))),
            vec!["1004", "1003"],
        ),
        (format!("/api/orders?delivered_from={}", param(now - Duration::days(2))), vec!["1006"]),
        (format!("/api/orders?delivered_to={}", param(now - Duration::days(2))), vec!["1001"]),
        (format!("/api/orders?customer_id={ada}"), vec!["1006", "1001"]),
        (format!("/api/orders?customer_id={ada}&status=paid"), vec![]),
        ("/api/orders?external_order_id=1003".to_owned(), vec!["1003"]),
        ("/api/orders?external_order_id=9999".to_owned(), vec![]),
    ];
    for (path, expected) in cases {
        let listed = shop.get_json(&app, &path).await;
        assert_eq!(external_ids(listed["orders"].as_array().expect("orders")), expected, "{path}");
    }

    // One order: its fields, every status time, items, and the follow-ups its delivery planned.
    let recent = &everyone[0];
    let order_id = recent["id"].as_str().expect("id");
    let detail = shop.get_json(&app, &format!("/api/orders/{order_id}")).await;
    assert_eq!(detail["external_order_id"], "1006");
    assert_eq!(detail["order_number"], "#1006");
    assert_eq!((&detail["currency"], &detail["total_minor"]), (&json!("TRY"), &json!(74990)));
    let placed_at: DateTime<Utc> = detail["placed_at"].as_str().expect("placed").parse().expect("time");
    assert_eq!(placed_at.timestamp(), placed_of("1006").timestamp());
    assert!(detail["delivered_at"].is_string() && detail["cancelled_at"].is_null(), "{detail}");
    let items = detail["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(
        (&items[0]["sku"], &items[0]["quantity"], &items[0]["unit_price_minor"]),
        (&json!("SERUM-30"), &json!(1), &json!(49990))
    );
    assert_eq!((&items[1]["title"], &items[1]["quantity"]), (&json!("Night Cream"), &json!(2)));
    let follow_ups = detail["follow_ups"].as_array().expect("follow-ups");
    let planned: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM scheduled_tasks t JOIN orders o ON o.id = t.order_id
         WHERE o.external_order_id = '1006' AND t.kind = 'follow_up' AND o.merchant_id = $1",
    )
    .bind(shop.merchant.as_uuid())
    .fetch_one(&app.admin)
    .await
    .expect("planned");
    assert!(planned >= 1, "a delivery an hour ago plans follow-ups");
    assert_eq!(follow_ups.len() as i64, planned);
    for follow_up in follow_ups {
        assert_eq!((&follow_up["order_id"], &follow_up["external_order_id"]), (&json!(order_id), &json!("1006")));
        assert_eq!((&follow_up["kind"], &follow_up["state"]), (&json!("follow_up"), &json!("pending")));
        assert!(follow_up["planned_at"].is_string() && follow_up["message_id"].is_null(), "{follow_up}");
    }
    // The old delivery was too old to plan anything.
    let old = everyone.iter().find(|o| o["external_order_id"] == "1001").expect("1001");
    let old_detail = shop.get_json(&app, &format!("/api/orders/{}", old["id"].as_str().expect("id"))).await;
    assert_eq!(old_detail["follow_ups"], json!([]));
    let cancelled = everyone.iter().find(|o| o["external_order_id"] == "1004").expect("1004");
    assert!(cancelled["cancelled_at"].is_string() && cancelled["delivered_at"].is_null(), "{cancelled}");

    // The other merchant sees only its own order, and none of ours: 404 like a missing id.
    let theirs = other.get_json(&app, "/api/orders").await;
    assert_eq!(external_ids(theirs["orders"].as_array().expect("orders")), vec!["1001"]);
    assert_eq!(other.get_json(&app, &format!("/api/orders?customer_id={ada}")).await["orders"], json!([]));
    for order in &everyone {
        assert_problem(other.get(&app, &format!("/api/orders/{}", order["id"].as_str().expect("id"))).await, 404).await;
    }
    assert_problem(shop.get(&app, &format!("/api/orders/{}", uuid::Uuid::now_v7())).await, 404).await;
    assert_eq!(ORDERS.len(), everyone.len());
}

async fn shop_b(app: &crate::helpers::TestApp) -> super::Shop {
    shop(app, "Other Store", "UTC").await
}

#[tokio::test]
async fn bad_order_parameters_are_named() {
    let app = spawn_app().await;
    let shop = shop(&app, "Glow Store", "UTC").await;
    let long = "x".repeat(256);
    let cases = [
        ("/api/orders?limit=-1".to_owned(), "limit"),
        ("/api/orders?cursor=%25%25".to_owned(), "cursor"),
        ("/api/orders?status=shipped".to_owned(), "status"),
        ("/api/orders?placed_from=2026-13-01".to_owned(), "placed_from"),
        ("/api/orders?placed_from=2026-05-01T00:00:00Z&placed_to=2026-04-01T00:00:00Z".to_owned(), "placed_from"),
        (
            "/api/orders?delivered_from=2026-05-01T00:00:00Z&delivered_to=2026-04-01T00:00:00Z".to_owned(),
            "delivered_from",
        ),
        ("/api/orders?customer_id=42".to_owned(), "customer_id"),
        (format!("/api/orders?external_order_id={long}"), "external_order_id"),
        ("/api/orders?external_order_id=".to_owned(), "external_order_id"),
        ("/api/orders?sort=oldest".to_owned(), "sort"),
    ];
    for (path, field) in cases {
        let problem = assert_problem(shop.get(&app, &path).await, 422).await;
        assert_eq!(problem["field"], field, "{path}: {problem}");
    }
    super::customers::malformed_id(shop.get(&app, "/api/orders/1001").await).await;
}

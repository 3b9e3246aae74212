//! The orders pages: orders made by the real pipeline from signed store webhooks, searched by
//! number, customer, status and day; one order with its items and its follow-up timeline driven
//! by the real workers against a fake Graph API; tenant isolation.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use recete_console::users::Role;
use recete_platform::ids::MerchantId;
use reqwest::StatusCode;
use wiremock::MockServer;

use super::{ConsoleApp, Session, spawn_console, wrap};
use crate::followups::{self, SENT, deliver, graph_accepts, spawn_messaging_app};
use crate::merchant_api_reads::{seed_orders, shop};

/// The order numbers on a list page, in the order shown.
pub fn numbers_shown(page: &str) -> Vec<String> {
    page.split("href=\"/console/orders/")
        .skip(1)
        .filter_map(|rest| rest.split('>').nth(1)?.split('<').next().map(str::to_owned))
        .collect()
}

pub async fn order_id(console: &ConsoleApp, merchant: MerchantId, external: &str) -> uuid::Uuid {
    sqlx::query_scalar("SELECT id FROM orders WHERE merchant_id = $1 AND external_order_id = $2")
        .bind(merchant.as_uuid())
        .bind(external)
        .fetch_one(&console.app.admin)
        .await
        .expect("order")
}

async fn listed(console: &ConsoleApp, session: &Session, query: &str) -> Vec<String> {
    numbers_shown(&console.get_html(session, &format!("/console/orders?{query}")).await)
}

#[tokio::test]
async fn orders_are_found_by_number_customer_status_and_day_newest_first() {
    let console = spawn_console().await;
    let app = &console.app;
    let glow = shop(app, "Glow Store", "Europe/Istanbul").await;
    let placed = seed_orders(app, &glow).await;
    let owner = console.user(glow.merchant, "owner@glow.example", Role::Owner).await;
    let viewer = console.user(glow.merchant, "viewer@glow.example", Role::Viewer).await;

    let page = console.get_html(&viewer, "/console/orders").await;
    assert_eq!(numbers_shown(&page), ["#1006", "#1005", "#1004", "#1003", "#1002", "#1001"]);
    assert!(page.contains("Ada Yilmaz") && page.contains("Ece Sari"), "customers are named");
    assert!(page.contains("749.90 TRY") && page.contains(">delivered<") && page.contains(">cancelled<"));
    assert!(page.contains(r#"href="/console/orders" aria-current="page""#), "the navigation marks Orders");
    assert!(page.contains(r#"href="/console/customers""#), "the navigation lists Customers");

    let placed_of = |order: &str| placed.iter().find(|(id, _)| id == order).expect("placed").1;
    let istanbul: Tz = "Europe/Istanbul".parse().expect("zone");
    let day = |at: DateTime<Utc>| at.with_timezone(&istanbul).format("%Y-%m-%d").to_string();
    let cases: [(String, Vec<&str>); 11] = [
        ("number=%2310".into(), vec!["#1006", "#1005", "#1004", "#1003", "#1002", "#1001"]),
        ("number=1003".into(), vec!["#1003"]),
        ("number=%23100".into(), vec!["#1006", "#1005", "#1004", "#1003", "#1002", "#1001"]),
        ("number=%231006".into(), vec!["#1006"]),
        ("number=2001".into(), vec![]),
        ("customer=ADA%40example.com".into(), vec!["#1006", "#1001"]),
        ("customer=%2B905551112233".into(), vec!["#1006", "#1001"]),
        // Typed as a Turkish shopper's number, read in the store's country.
        ("customer=0555+222+33+44".into(), vec!["#1002"]),
        ("status=cancelled".into(), vec!["#1004"]),
        (format!("from={0}&to={0}", day(placed_of("1003"))), vec!["#1003"]),
        (format!("from={}&to={}&status=fulfilled", day(placed_of("1001")), day(placed_of("1005"))), vec!["#1003"]),
    ];
    for (query, expected) in cases {
        assert_eq!(listed(&console, &owner, &query).await, expected, "{query}");
    }
    let range = format!("from={}&to={}", day(placed_of("1003")), day(placed_of("1004")));
    assert_eq!(listed(&console, &owner, &range).await, ["#1004", "#1003"], "both ends of the range count");

    // The next page starts after the last row shown, as the cursor says.
    let (at, id): (DateTime<Utc>, uuid::Uuid) = sqlx::query_as(
        "SELECT coalesce(placed_at, created_at), id FROM orders WHERE merchant_id = $1 AND external_order_id = '1004'",
    )
    .bind(glow.merchant.as_uuid())
    .fetch_one(&app.admin)
    .await
    .expect("order 1004");
    let cursor = format!("{}.{id}", at.timestamp_micros());
    assert_eq!(listed(&console, &owner, &format!("cursor={cursor}")).await, ["#1003", "#1002", "#1001"]);
    let filtered = format!("cursor={cursor}&customer=ada%40example.com");
    assert_eq!(listed(&console, &owner, &filtered).await, ["#1001"]);

    // Filters that cannot be read say which and why.
    for (query, words) in [
        ("status=shipped", "No order status is named `shipped`"),
        ("from=7.12.2026", "`from` must be a date"),
        ("from=2026-12-08&to=2026-12-01", "is after the end date"),
        ("customer=nobody%40example.com", "No customer has that email address or phone number"),
        ("customer=12", "The phone searched for cannot be read"),
        ("cursor=yesterday", "is not one this console gave"),
    ] {
        let response = console.get(&owner, &format!("/console/orders?{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let text = response.text().await.expect("page");
        assert!(text.contains(words), "{query}: {text}");
    }

    // Another merchant's user sees none of these orders, and each is not found for them.
    let other = shop(app, "Other Store", "UTC").await;
    let stranger = console.user(other.merchant, "owner@other.example", Role::Owner).await;
    assert!(numbers_shown(&console.get_html(&stranger, "/console/orders").await).is_empty());
    for (external, _) in &placed {
        let id = order_id(&console, glow.merchant, external).await;
        let response = console.get(&stranger, &format!("/console/orders/{id}")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "order {external}");
    }
    assert_eq!(console.get(&owner, "/console/orders/1001").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_order_shows_its_items_status_times_and_a_timeline_with_a_sent_and_a_deferred_step() {
    let graph = MockServer::start().await;
    graph_accepts(&graph).await;
    let console = wrap(spawn_messaging_app(&graph).await);
    let app = &console.app;
    // Two steps due at once: the first goes out, the frequency cap defers the second.
    let shop = followups::shop(app).await;
    let workers = app.start_workers();
    deliver(app, &shop, "1001").await;
    app.wait_for_count(SENT, 1, 20).await;
    app.wait_for_count(
        "SELECT count(*) FROM scheduled_tasks WHERE state = 'pending' AND status_reason LIKE 'frequency cap%'",
        1,
        20,
    )
    .await;
    workers.stop().await;

    let agent = console.user(shop.merchant, "agent@glow.example", Role::Agent).await;
    let id = order_id(&console, shop.merchant, "1001").await;
    let page = console.get_html(&agent, &format!("/console/orders/{id}")).await;
    for words in ["Vitamin C Serum", "SERUM-30", "749.90 TRY", "Status times", "Delivered", "template recete_"] {
        assert!(page.contains(words), "the order page shows {words}: {page}");
    }
    // Whichever step was decided first went out; the other waits. Sent comes first in time.
    let deferred_step: String =
        sqlx::query_scalar("SELECT step FROM scheduled_tasks WHERE kind = 'follow_up' AND state = 'pending'")
            .fetch_one(&app.admin)
            .await
            .expect("the deferred step");
    let sent_step = if deferred_step == "t0" { "t1" } else { "t0" };
    let first = page.find(&format!("Step {sent_step}")).expect("the sent step");
    let second = page.find(&format!("Step {deferred_step}")).expect("the deferred step");
    assert!(first < second, "steps in time order");
    let (sent, deferred) = (&page[first..second], &page[second..]);
    assert!(sent.contains(">sent<"), "the first step was sent: {sent}");
    assert!(deferred.contains("deferred: frequency cap of"), "the second waits for the cap: {deferred}");
    assert!(!deferred.contains(">sent<"), "the second is not sent");
    let customer: uuid::Uuid = sqlx::query_scalar("SELECT customer_id FROM orders WHERE id = $1")
        .bind(id)
        .fetch_one(&app.admin)
        .await
        .expect("customer");
    assert!(page.contains(&format!("href=\"/console/customers/{customer}\"")), "the customer is linked");
    assert!(!page.contains("905551234567"), "the phone is never on the page");
}

//! One order's four webhooks (created with the customer's consent, paid, fulfilled, delivered)
//! give the same order, consent and follow-up plan in whatever order they are applied, one by
//! one or at the same moment on several workers.

use chrono::{Duration, Utc};
use recete_shared::integrations::{CreatedIntegration, IntegrationKind};
use recete_workers::Pool;
use serde_json::json;

use crate::helpers::TestApp;
use crate::helpers::spawn_app;

const PROCESSED: &str = "SELECT count(*) FROM external_events WHERE state = 'processed'";
pub(super) const KINDS: [&str; 4] = ["order.created", "order.paid", "order.fulfilled", "order.delivered"];

/// Every ordering of `0..n`.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut all = Vec::new();
    for shorter in permutations(n - 1) {
        for position in 0..=shorter.len() {
            let mut longer = shorter.clone();
            longer.insert(position, n - 1);
            all.push(longer);
        }
    }
    all
}

/// The webhook of `KINDS[kind]` for `order`: only the creation names the customer and their
/// consent, as a store's fulfilment webhooks name only the order. The store's own times follow
/// the order's life: created 40 minutes ago, delivered 10 minutes ago.
pub(super) fn webhook(order: &str, phone: &str, kind: usize) -> Vec<u8> {
    webhook_at(order, phone, kind, Utc::now() - Duration::minutes(40 - 10 * kind as i64))
}

fn webhook_at(order: &str, phone: &str, kind: usize, occurred_at: chrono::DateTime<Utc>) -> Vec<u8> {
    let occurred_at = occurred_at.to_rfc3339();
    let body = if kind == 0 {
        json!({
            "id": format!("{order}-{}", KINDS[kind]), "type": KINDS[kind], "occurred_at": occurred_at,
            "order": {"id": order, "currency": "TRY", "total": "120.00",
                      "customer": {"name": "Ada Yilmaz", "phone": phone, "country": "TR", "whatsapp_consent": true}}
        })
    } else {
        json!({"id": format!("{order}-{}", KINDS[kind]), "type": KINDS[kind], "occurred_at": occurred_at,
               "order": {"id": order}})
    };
    body.to_string().into_bytes()
}

pub(super) async fn send(app: &TestApp, api: &CreatedIntegration, body: &[u8]) {
    let response = app.post_generic(api, Utc::now().timestamp(), body).await;
    assert_eq!(response.status(), 202);
}

/// The order is delivered, its customer's consent granted, and the default plan (three and
/// fourteen days after delivery) planned once.
pub(super) async fn assert_same_result(app: &TestApp, order: &str, arrival: &str) {
    assert_eq!(app.order_status(order).await.as_deref(), Some("delivered"), "{order} ({arrival})");
    let consent: Option<String> = sqlx::query_scalar(
        "SELECT c.whatsapp_consent FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.external_order_id = $1",
    )
    .bind(order)
    .fetch_optional(&app.admin)
    .await
    .expect("consent");
    assert_eq!(consent.as_deref(), Some("granted"), "{order} ({arrival})");
    let plan: Vec<(Option<String>, String, f64)> = sqlx::query_as(
        "SELECT t.step, t.state, extract(epoch FROM t.due_at - o.delivered_at)::float8 / 3600
         FROM scheduled_tasks t JOIN orders o ON o.id = t.order_id
         WHERE o.external_order_id = $1 AND t.kind = 'follow_up' AND t.customer_id = o.customer_id
         ORDER BY t.due_at",
    )
    .bind(order)
    .fetch_all(&app.admin)
    .await
    .expect("plan");
    let expected = vec![
        (Some("t3".to_owned()), "pending".to_owned(), 72.0),
        (Some("t14".to_owned()), "pending".to_owned(), 336.0),
    ];
    assert_eq!(plan, expected, "{order} ({arrival})");
}

fn arrival(order: &[usize]) -> String {
    order.iter().map(|kind| KINDS[*kind]).collect::<Vec<_>>().join(" → ")
}

#[tokio::test]
async fn an_orders_webhooks_applied_one_by_one_in_any_order_give_the_same_order_and_plan() {
    let app = spawn_app().await;
    let (_, api) = app.merchant_with(IntegrationKind::Generic).await;
    let _workers = app.start_pools(&[Pool::OrderEvents]);
    let orders = permutations(KINDS.len());
    assert_eq!(orders.len(), 24);
    // Round by round, each order's next webhook: every order's events are applied in its own
    // arrival order, one after the other.
    for round in 0..KINDS.len() {
        for (index, order) in orders.iter().enumerate() {
            send(&app, &api, &webhook(&format!("P-{index}"), &format!("+90555{index:07}"), order[round])).await;
        }
        app.wait_for_count(PROCESSED, (orders.len() * (round + 1)) as i64, 30).await;
    }
    for (index, order) in orders.iter().enumerate() {
        assert_same_result(&app, &format!("P-{index}"), &arrival(order)).await;
    }
    assert_eq!(app.count("SELECT count(*) FROM orders").await, 24);
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 24);
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE action = 'follow_ups.planned'").await, 24);
}

#[tokio::test]
async fn an_orders_webhooks_applied_at_the_same_moment_on_several_workers_give_the_same_order_and_plan() {
    let app = spawn_app().await;
    let (_, api) = app.merchant_with(IntegrationKind::Generic).await;
    let _workers: Vec<_> = (0..3).map(|_| app.start_pools(&[Pool::OrderEvents])).collect();
    let orders = 8;
    let bodies: Vec<Vec<u8>> = (0..orders)
        .flat_map(|index| {
            (0..KINDS.len()).map(move |kind| webhook(&format!("C-{index}"), &format!("+90544{index:07}"), kind))
        })
        .collect();
    futures::future::join_all(bodies.iter().map(|body| send(&app, &api, body))).await;
    app.wait_for_count(PROCESSED, (orders * KINDS.len()) as i64, 30).await;
    for index in 0..orders {
        assert_same_result(&app, &format!("C-{index}"), "all at once").await;
    }
    assert_eq!(app.count("SELECT count(*) FROM orders").await, orders as i64);
    assert_eq!(app.count("SELECT count(*) FROM customers").await, orders as i64);
}

#[tokio::test]
async fn a_stale_delivery_plans_nothing_whether_it_comes_before_or_after_the_customer() {
    let app = spawn_app().await;
    let (_, api) = app.merchant_with(IntegrationKind::Generic).await;
    let _workers = app.start_pools(&[Pool::OrderEvents]);
    // Delivered four days ago, past the default 72 hours; created the week before.
    let created = Utc::now() - Duration::days(10);
    let delivered = Utc::now() - Duration::days(4);
    let mut sent = 0;
    for (round, arrival) in [[0, 3], [3, 0]].iter().enumerate() {
        for kind in arrival {
            let order = format!("S-{round}");
            let at = if *kind == 0 { created } else { delivered };
            send(&app, &api, &webhook_at(&order, &format!("+90533{round:07}"), *kind, at)).await;
            sent += 1;
            app.wait_for_count(PROCESSED, sent, 30).await;
        }
    }
    for order in ["S-0", "S-1"] {
        assert_eq!(app.order_status(order).await.as_deref(), Some("delivered"), "{order}");
    }
    assert_eq!(app.count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'follow_up'").await, 0);
    // Either way the merchant's trail says why nothing was planned, once per order.
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE action = 'follow_ups.not_planned'").await, 2);

    // The legitimate path beside it: a recent delivery ahead of its customer is planned.
    send(&app, &api, &webhook("R-1", "+905330000009", 3)).await;
    app.wait_for_count(PROCESSED, 5, 30).await;
    assert_eq!(app.count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'follow_up'").await, 0);
    send(&app, &api, &webhook("R-1", "+905330000009", 0)).await;
    app.wait_for_count(PROCESSED, 6, 30).await;
    assert_same_result(&app, "R-1", "delivered → created").await;
}

//! Attributed revenue, repeat purchase and per-step figures over a fixture counted by hand: rows
//! written as the pipeline writes them, read back through the API in the merchant's time zone
//! (Europe/Istanbul, UTC+3 all year). And the delivery time attribution reads, recorded from
//! Meta's statuses in whatever order they come.

use chrono::{DateTime, Utc};
use recete_shared::integrations::IntegrationKind;
use recete_workers::Pool;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Shop, shop};
use crate::helpers::{PHONE_NUMBER_ID, TestApp, assert_problem, spawn_app};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("an RFC 3339 time")
}

/// Rows of one merchant, written as the pipeline writes them.
struct Fixture<'a> {
    app: &'a TestApp,
    merchant: Uuid,
}

impl Fixture<'_> {
    fn of<'a>(app: &'a TestApp, shop: &Shop) -> Fixture<'a> {
        Fixture { app, merchant: shop.merchant.as_uuid() }
    }

    async fn customer(&self) -> Uuid {
        let id = Uuid::now_v7();
        sqlx::query("INSERT INTO customers (id, merchant_id, whatsapp_consent) VALUES ($1, $2, 'granted')")
            .bind(id)
            .bind(self.merchant)
            .execute(&self.app.admin)
            .await
            .expect("customer");
        id
    }

    /// An order placed at `placed` (UTC), with its amount in minor units when it has one.
    async fn order(&self, customer: Uuid, status: &str, placed: &str, amount: Option<(&str, i64)>) -> Uuid {
        let id = Uuid::now_v7();
        let placed = at(placed);
        sqlx::query(
            "INSERT INTO orders (id, merchant_id, customer_id, external_order_id, status, currency, total_minor,
                                 placed_at, cancelled_at, refunded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
                     CASE WHEN $5 = 'cancelled' THEN $8 + interval '1 hour' END,
                     CASE WHEN $5 = 'refunded' THEN $8 + interval '1 hour' END)",
        )
        .bind(id)
        .bind(self.merchant)
        .bind(customer)
        .bind(id.simple().to_string())
        .bind(status)
        .bind(amount.map(|(currency, _)| currency))
        .bind(amount.map(|(_, total)| total))
        .bind(placed)
        .execute(&self.app.admin)
        .await
        .expect("order");
        id
    }

    /// A follow-up of `step` planned by `order`, its send confirmed at `sent`, in `status`, and
    /// delivered at `delivered` (as the status worker records it) when it reached the phone.
    async fn follow_up(
        &self,
        customer: Uuid,
        order: Uuid,
        step: &str,
        sent: &str,
        status: &str,
        delivered: Option<&str>,
    ) -> Uuid {
        let task = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO scheduled_tasks (id, merchant_id, kind, order_id, customer_id, unique_key, step, due_at, state,
                                          finished_at)
             VALUES ($1, $2, 'follow_up', $3, $4, $5, $6, $7, 'done', $7)",
        )
        .bind(task)
        .bind(self.merchant)
        .bind(order)
        .bind(customer)
        .bind(format!("follow_up:{order}:{step}"))
        .bind(step)
        .bind(at(sent))
        .execute(&self.app.admin)
        .await
        .expect("follow-up task");
        let message = Uuid::now_v7();
        let delivered = delivered.map(at);
        sqlx::query(
            "INSERT INTO messages (id, merchant_id, customer_id, order_id, scheduled_task_id, direction, kind, author,
                                   template_name, idempotency_key, status, status_at, sent_at, delivered_at, proactive)
             VALUES ($1, $2, $3, $4, $5, 'outbound', 'template', 'system', 'recete_check_in', $6, $7,
                     coalesce($9 + CASE WHEN $7 = 'read' THEN interval '1 hour' ELSE interval '0' END, $8), $8, $9, true)",
        )
        .bind(message)
        .bind(self.merchant)
        .bind(customer)
        .bind(order)
        .bind(task)
        .bind(format!("task:{task}"))
        .bind(status)
        .bind(at(sent))
        .bind(delivered)
        .execute(&self.app.admin)
        .await
        .expect("follow-up message");
        message
    }

    async fn inbound(&self, customer: Uuid, received: &str) {
        sqlx::query(
            "INSERT INTO messages (id, merchant_id, customer_id, direction, kind, author, status, status_at)
             VALUES ($1, $2, $3, 'inbound', 'text', 'customer', 'received', $4)",
        )
        .bind(Uuid::now_v7())
        .bind(self.merchant)
        .bind(customer)
        .bind(at(received))
        .execute(&self.app.admin)
        .await
        .expect("inbound message");
    }

    async fn audit(&self, action: &str, subject_type: &str, subject: Uuid, after: Value, when: &str) {
        sqlx::query(
            "INSERT INTO audit_log (merchant_id, actor, action, subject_type, subject_id, after, created_at)
             VALUES ($1, 'worker:test', $2, $3, $4, $5, $6)",
        )
        .bind(self.merchant)
        .bind(action)
        .bind(subject_type)
        .bind(subject.to_string())
        .bind(after)
        .bind(at(when))
        .execute(&self.app.admin)
        .await
        .expect("audit row");
    }

    async fn opt_out(&self, customer: Uuid, when: &str) {
        self.audit("customer.consent_changed", "customer", customer, json!({"whatsapp_consent": "revoked"}), when)
            .await;
    }

    async fn hand_over(&self, customer: Uuid, when: &str) {
        let conversation = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO conversations (id, merchant_id, customer_id, state, handed_over_at)
             VALUES ($1, $2, $3, 'handed_over', $4)",
        )
        .bind(conversation)
        .bind(self.merchant)
        .bind(customer)
        .bind(at(when))
        .execute(&self.app.admin)
        .await
        .expect("conversation");
        self.audit("conversation.handed_over", "conversation", conversation, json!({"reason": "complaint"}), when)
            .await;
    }
}

const MARCH: &str = "from=2026-03-01&to=2026-03-31";

/// The fixture, in UTC; Istanbul's day is three hours ahead. The window is 7 days (the default)
/// unless a test changes it.
async fn seed(app: &TestApp, glow: &Shop, other: &Shop) {
    let f = Fixture::of(app, glow);

    // Ada: a follow-up of an older order delivered 2 March 10:00, so her window ends 9 March
    // 10:00:00, included.
    let ada = f.customer().await;
    let a0 = f.order(ada, "delivered", "2026-02-20T10:00:00Z", Some(("TRY", 50000))).await;
    f.follow_up(ada, a0, "t3", "2026-03-02T09:59:00Z", "delivered", Some("2026-03-02T10:00:00Z")).await;
    // Placed before the message was delivered: not attributed.
    f.order(ada, "paid", "2026-03-01T09:00:00Z", Some(("TRY", 30000))).await;
    // Exactly at the window's end: attributed.
    f.order(ada, "paid", "2026-03-09T10:00:00Z", Some(("TRY", 10000))).await;
    // One second later: not.
    f.order(ada, "paid", "2026-03-09T10:00:01Z", Some(("TRY", 70000))).await;

    // Bora: two follow-ups delivered (the second read, and answered); both his orders count
    // once each, towards the later delivery.
    let bora = f.customer().await;
    let b0 = f.order(bora, "delivered", "2026-02-25T10:00:00Z", Some(("EUR", 1000))).await;
    f.follow_up(bora, b0, "t3", "2026-03-05T11:59:00Z", "delivered", Some("2026-03-05T12:00:00Z")).await;
    f.follow_up(bora, b0, "t14", "2026-03-06T11:59:00Z", "read", Some("2026-03-06T12:00:00Z")).await;
    f.inbound(bora, "2026-03-06T13:00:00Z").await;
    f.order(bora, "paid", "2026-03-07T08:00:00Z", Some(("EUR", 4990))).await;
    // No currency and no total: counted, without revenue.
    f.order(bora, "created", "2026-03-08T08:00:00Z", None).await;

    // Cem: a follow-up delivered 10 March 10:00 (read, answered, handed over); a refunded and a
    // cancelled order count for nothing; the order placed 16 March 22:00 UTC is Istanbul's
    // 17 March.
    let cem = f.customer().await;
    let c0 = f.order(cem, "delivered", "2026-02-28T10:00:00Z", Some(("TRY", 1000))).await;
    f.follow_up(cem, c0, "t3", "2026-03-10T09:59:00Z", "read", Some("2026-03-10T10:00:00Z")).await;
    f.inbound(cem, "2026-03-10T14:00:00Z").await;
    f.hand_over(cem, "2026-03-10T15:00:00Z").await;
    f.order(cem, "refunded", "2026-03-11T10:00:00Z", Some(("TRY", 20000))).await;
    f.order(cem, "cancelled", "2026-03-12T10:00:00Z", Some(("TRY", 30000))).await;
    f.order(cem, "paid", "2026-03-13T10:00:00Z", Some(("TRY", 5000))).await;
    f.order(cem, "fulfilled", "2026-03-16T22:00:00Z", Some(("TRY", 2500))).await;

    // Deniz: a follow-up sent but never delivered, then an opt-out; two orders, none attributed.
    let deniz = f.customer().await;
    let d0 = f.order(deniz, "delivered", "2026-02-28T10:00:00Z", Some(("TRY", 1000))).await;
    f.follow_up(deniz, d0, "t3", "2026-03-14T10:00:00Z", "sent", None).await;
    f.opt_out(deniz, "2026-03-14T12:00:00Z").await;
    f.order(deniz, "paid", "2026-03-15T10:00:00Z", Some(("TRY", 9990))).await;
    f.order(deniz, "paid", "2026-03-16T10:00:00Z", Some(("TRY", 9990))).await;

    // Eda: the order that planned the follow-up, its placing time after the delivery (a store's
    // odd date): never attributed to its own follow-up.
    let eda = f.customer().await;
    let e1 = f.order(eda, "delivered", "2026-03-20T12:00:00Z", Some(("TRY", 40000))).await;
    f.follow_up(eda, e1, "t14", "2026-03-20T09:59:00Z", "delivered", Some("2026-03-20T10:00:00Z")).await;

    // Fikri, Gül: no messages. Hale: only a cancelled order.
    let fikri = f.customer().await;
    f.order(fikri, "paid", "2026-03-03T10:00:00Z", Some(("TRY", 1000))).await;
    f.order(fikri, "paid", "2026-03-04T10:00:00Z", Some(("TRY", 1000))).await;
    let gul = f.customer().await;
    f.order(gul, "paid", "2026-03-05T10:00:00Z", Some(("TRY", 1000))).await;
    let hale = f.customer().await;
    f.order(hale, "cancelled", "2026-03-05T10:00:00Z", Some(("TRY", 1000))).await;

    // Another merchant: a delivered follow-up, two attributed orders, a reply. Never seen.
    let o = Fixture::of(app, other);
    let zed = o.customer().await;
    let z0 = o.order(zed, "delivered", "2026-02-27T10:00:00Z", Some(("TRY", 1000))).await;
    o.follow_up(zed, z0, "t3", "2026-03-05T09:59:00Z", "read", Some("2026-03-05T10:00:00Z")).await;
    o.inbound(zed, "2026-03-05T11:00:00Z").await;
    o.order(zed, "paid", "2026-03-06T10:00:00Z", Some(("TRY", 99900))).await;
    o.order(zed, "paid", "2026-03-07T10:00:00Z", Some(("USD", 99900))).await;
}

/// Revenue in one currency as (currency, total in minor units, orders).
type Revenue = (String, i64, i64);

/// A day of the series as (day, orders, revenue in every currency).
fn series(report: &Value) -> Vec<(String, i64, Vec<Revenue>)> {
    report["days"]
        .as_array()
        .expect("days")
        .iter()
        .map(|day| {
            let revenue = day["revenue"]
                .as_array()
                .expect("revenue")
                .iter()
                .map(|r| {
                    let currency = r["currency"].as_str().expect("currency").to_owned();
                    (currency, r["total_minor"].as_i64().expect("total"), r["orders"].as_i64().expect("orders"))
                })
                .collect();
            (day["day"].as_str().expect("day").to_owned(), day["orders"].as_i64().expect("orders"), revenue)
        })
        .collect()
}

fn revenue(currencies: &[(&str, i64, i64)]) -> Vec<Revenue> {
    currencies.iter().map(|(currency, total, orders)| ((*currency).to_owned(), *total, *orders)).collect()
}

#[tokio::test]
async fn attributed_revenue_counts_each_order_once_within_the_window_per_currency_and_day() {
    let app = spawn_app().await;
    let glow = shop(&app, "Glow Store", "Europe/Istanbul").await;
    let other = shop(&app, "Other Store", "Europe/Istanbul").await;
    seed(&app, &glow, &other).await;

    let report = glow.get_json(&app, &format!("/api/analytics/attribution?{MARCH}")).await;
    assert_eq!((&report["from"], &report["to"]), (&json!("2026-03-01"), &json!("2026-03-31")));
    assert_eq!(report["timezone"], "Europe/Istanbul");
    assert_eq!(report["window_days"], 7, "the default window");
    // Attributed: Ada's at the window's end (TRY 100.00), Bora's two (EUR 49.90 and one without
    // an amount), Cem's paid and fulfilled ones (TRY 50.00 and 25.00). Not: Ada's before the
    // delivery and one second late, Cem's refunded and cancelled, Deniz's (never delivered),
    // Eda's own trigger, Fikri's, Gül's, Hale's, and the other merchant's.
    assert_eq!(report["attributed_orders"], 5, "{report}");
    assert_eq!(report["orders_without_amount"], 1, "{report}");
    assert_eq!(
        report["revenue"],
        json!([{"currency": "EUR", "total_minor": 4990, "orders": 1}, {"currency": "TRY", "total_minor": 17500, "orders": 3}]),
        "never added across currencies"
    );
    let days = series(&report);
    assert_eq!(days.len(), 31, "every day of March");
    let zero = revenue(&[("EUR", 0, 0), ("TRY", 0, 0)]);
    let expected = |day: &str| -> (i64, Vec<Revenue>) {
        match day {
            "2026-03-07" => (1, revenue(&[("EUR", 4990, 1), ("TRY", 0, 0)])),
            "2026-03-08" => (1, zero.clone()),
            "2026-03-09" => (1, revenue(&[("EUR", 0, 0), ("TRY", 10000, 1)])),
            "2026-03-13" => (1, revenue(&[("EUR", 0, 0), ("TRY", 5000, 1)])),
            // 16 March 22:00 UTC is 17 March in Istanbul.
            "2026-03-17" => (1, revenue(&[("EUR", 0, 0), ("TRY", 2500, 1)])),
            _ => (0, zero.clone()),
        }
    };
    for (day, orders, currencies) in &days {
        assert_eq!((*orders, currencies.clone()), expected(day), "{day}");
    }

    // Among customers with an order in March (cancelled and refunded orders aside): with a
    // delivered follow-up Ada (3 orders), Bora (2), Cem (2) and Eda (1): 3 of 4 ordered again;
    // without one Deniz (2, never delivered), Fikri (2) and Gül (1): 2 of 3. Hale had only a
    // cancelled order.
    let repeat = &report["repeat_purchase"];
    assert_eq!(repeat["with_follow_up"], json!({"customers": 4, "repeat_customers": 3, "rate": 0.75}));
    assert_eq!(repeat["without_follow_up"]["customers"], 3);
    assert_eq!(repeat["without_follow_up"]["repeat_customers"], 2);
    let rate = repeat["without_follow_up"]["rate"].as_f64().expect("rate");
    assert!((rate - 2.0 / 3.0).abs() < 1e-9, "{rate}");

    // The other merchant sees its own two orders only (one in TRY, one in USD) and one customer.
    let theirs = other.get_json(&app, &format!("/api/analytics/attribution?{MARCH}")).await;
    assert_eq!(theirs["attributed_orders"], 2);
    assert_eq!(
        theirs["revenue"],
        json!([{"currency": "TRY", "total_minor": 99900, "orders": 1}, {"currency": "USD", "total_minor": 99900, "orders": 1}])
    );
    assert_eq!(
        theirs["repeat_purchase"]["with_follow_up"],
        json!({"customers": 1, "repeat_customers": 1, "rate": 1.0})
    );

    // A one-day window keeps only Bora's EUR order, 20 hours after his second delivery; the
    // setting is the merchant's own.
    let changed = glow.patch_json(&app, "/api/settings", json!({"attribution_window_days": 1})).await;
    assert_eq!(changed["attribution_window_days"], 1);
    let narrow = glow.get_json(&app, &format!("/api/analytics/attribution?{MARCH}")).await;
    assert_eq!(narrow["window_days"], 1);
    assert_eq!(narrow["attributed_orders"], 1, "{narrow}");
    assert_eq!(narrow["orders_without_amount"], 0);
    assert_eq!(narrow["revenue"], json!([{"currency": "EUR", "total_minor": 4990, "orders": 1}]));
    assert_eq!(narrow["repeat_purchase"], report["repeat_purchase"], "repeat purchase has no window");
    assert_eq!(other.get_json(&app, &format!("/api/analytics/attribution?{MARCH}")).await["window_days"], 7);

    // A range that ends before Cem's orders: his follow-up still counts (delivered before the
    // end), his orders do not.
    let early = glow.get_json(&app, "/api/analytics/attribution?from=2026-03-01&to=2026-03-08").await;
    assert_eq!(early["days"].as_array().expect("days").len(), 8);
    assert_eq!(early["attributed_orders"], 1, "Bora's EUR order, with the one-day window: {early}");
}

#[tokio::test]
async fn each_follow_up_step_reports_what_its_messages_did() {
    let app = spawn_app().await;
    let glow = shop(&app, "Glow Store", "Europe/Istanbul").await;
    let other = shop(&app, "Other Store", "Europe/Istanbul").await;
    seed(&app, &glow, &other).await;

    let report = glow.get_json(&app, &format!("/api/analytics/steps?{MARCH}")).await;
    assert_eq!(report["timezone"], "Europe/Istanbul");
    // t3: Ada's, Bora's first, Cem's and Deniz's were sent; all but Deniz's delivered; Cem's read,
    // answered within 24 hours and handed over; Deniz opted out 2 hours after hers. Bora's
    // answer came 25 hours after his first (not a reply to it).
    // t14: Bora's second (read, answered an hour later) and Eda's (delivered).
    assert_eq!(
        report["steps"],
        json!([
            {"step": "t3", "offset_hours": 72, "sent": 4, "delivered": 3, "read": 1, "replied": 1, "opt_outs": 1, "hand_overs": 1},
            {"step": "t14", "offset_hours": 336, "sent": 2, "delivered": 2, "read": 1, "replied": 1, "opt_outs": 0, "hand_overs": 0}
        ]),
        "{report}"
    );
    // Only Ada's follow-up was sent on 2 March.
    let one_day = glow.get_json(&app, "/api/analytics/steps?from=2026-03-02&to=2026-03-02").await;
    assert_eq!(one_day["steps"][0]["sent"], 1);
    assert_eq!(one_day["steps"][1]["sent"], 0, "a planned step with nothing sent is listed with zeros");

    let theirs = other.get_json(&app, &format!("/api/analytics/steps?{MARCH}")).await;
    assert_eq!(
        theirs["steps"][0],
        json!({"step": "t3", "offset_hours": 72, "sent": 1, "delivered": 1, "read": 1,
                                          "replied": 1, "opt_outs": 0, "hand_overs": 0})
    );
}

#[tokio::test]
async fn bad_ranges_are_refused_naming_the_parameter() {
    let app = spawn_app().await;
    let glow = shop(&app, "Glow Store", "Europe/Istanbul").await;
    for route in ["attribution", "steps"] {
        let default = glow.get_json(&app, &format!("/api/analytics/{route}")).await;
        let (from, to): (chrono::NaiveDate, chrono::NaiveDate) = (
            serde_json::from_value(default["from"].clone()).expect("from"),
            serde_json::from_value(default["to"].clone()).expect("to"),
        );
        assert_eq!((to - from).num_days(), 29, "{route}: the last 30 days by default");
        let cases = [
            ("from=2026-03-02&to=2026-03-01", "from"),
            ("from=2024-01-01&to=2025-01-01", "to"),
            ("from=2026-02-30", "from"),
            ("to=yesterday", "to"),
            ("from=0001-01-01&to=0001-01-02", "from"),
            ("window_days=7", "window_days"),
        ];
        for (query, field) in cases {
            let problem = assert_problem(glow.get(&app, &format!("/api/analytics/{route}?{query}")).await, 422).await;
            assert_eq!(problem["field"], field, "{route}?{query}: {problem}");
        }
        let anonymous = app.client.get(app.url(&format!("/api/analytics/{route}"))).send().await.expect("sent");
        assert_problem(anonymous, 401).await;
    }
}

fn status_update(wamid: &str, status: &str, at: DateTime<Utc>) -> Vec<u8> {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "statuses": [{"id": wamid, "status": status, "timestamp": at.timestamp().to_string(),
                          "recipient_id": "905551234567"}]
        }}]}]
    })
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn the_delivery_time_is_meta_s_delivered_status_even_when_the_read_receipt_came_first() {
    let app = spawn_app().await;
    let glow = shop(&app, "Glow Store", "Europe/Istanbul").await;
    let whatsapp = app.integration(glow.merchant, IntegrationKind::WhatsApp).await;
    let f = Fixture::of(&app, &glow);
    let customer = f.customer().await;
    let order = f.order(customer, "delivered", "2026-03-01T10:00:00Z", Some(("TRY", 1000))).await;
    let late = f.follow_up(customer, order, "t3", "2026-03-04T10:00:00Z", "sent", None).await;
    let only_read = f.follow_up(customer, order, "t14", "2026-03-15T10:00:00Z", "sent", None).await;
    for (message, wamid) in [(late, "wamid.LATE"), (only_read, "wamid.READ")] {
        sqlx::query("UPDATE messages SET wa_message_id = $2 WHERE id = $1")
            .bind(message)
            .bind(wamid)
            .execute(&app.admin)
            .await
            .expect("wamid");
    }
    let workers = app.start_pools(&[Pool::WhatsAppEvents]);
    let processed = "SELECT count(*) FROM external_events WHERE source = 'whatsapp' AND state = 'processed'";
    // Meta reports the first message read, then (late) delivered a minute earlier; the second
    // is only ever reported read.
    let updates = [
        ("wamid.LATE", "read", at("2026-03-04T11:00:00Z")),
        ("wamid.READ", "read", at("2026-03-15T12:00:00Z")),
        ("wamid.LATE", "delivered", at("2026-03-04T10:59:00Z")),
    ];
    for (done, (wamid, status, when)) in updates.into_iter().enumerate() {
        let response = app.post_whatsapp(&whatsapp.secret, &status_update(wamid, status, when)).await;
        assert_eq!(response.status(), 200);
        app.wait_for_count(processed, i64::try_from(done).expect("count") + 1, 30).await;
    }
    workers.stop().await;
    let stored: Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)> =
        sqlx::query_as("SELECT status, status_at, delivered_at FROM messages WHERE id = ANY($1) ORDER BY sent_at")
            .bind(vec![late, only_read])
            .fetch_all(&app.admin)
            .await
            .expect("messages");
    assert_eq!(
        stored,
        [
            ("read".to_owned(), at("2026-03-04T11:00:00Z"), Some(at("2026-03-04T10:59:00Z"))),
            ("read".to_owned(), at("2026-03-15T12:00:00Z"), Some(at("2026-03-15T12:00:00Z"))),
        ],
        "the status stays read; the delivery time is the delivered status's, else the read receipt's"
    );
}

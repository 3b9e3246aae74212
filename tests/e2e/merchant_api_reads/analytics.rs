use std::time::Duration;

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use recete_analytics as analytics;
use recete_shared::integrations::IntegrationKind;
use recete_shared::periodic::Run;
use recete_workers::Pool;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::shop;
use crate::helpers::{PHONE_NUMBER_ID, TestApp, assert_problem, spawn_app, spawn_app_with};

const ADA_WA_ID: &str = "905551234567";
const BORA_WA_ID: &str = "905557654321";
/// Meta refuses this customer's number for good.
const CAN_WA_ID: &str = "905559876543";
const SENT: &str =
    "SELECT count(*) FROM messages WHERE direction = 'outbound' AND status IN ('sent', 'delivered', 'read')";
const INTERVAL: Duration = Duration::from_secs(60);
const OVERLAP: Duration = Duration::from_secs(600);

/// A fixed-offset zone where it is about noon now, so no step of the test crosses a local
/// midnight and the merchant's day differs from the UTC day by hours.
fn noon_zone(now: DateTime<Utc>) -> String {
    let offset = 12 - i64::from(now.hour());
    match offset {
        0 => "Etc/GMT".to_owned(),
        // The Etc zones' signs are POSIX's: Etc/GMT-3 is three hours ahead of UTC.
        ahead if ahead > 0 => format!("Etc/GMT-{ahead}"),
        behind => format!("Etc/GMT+{}", -behind),
    }
}

fn today_in(zone: &str) -> NaiveDate {
    let tz: chrono_tz::Tz = zone.parse().expect("zone");
    Utc::now().with_timezone(&tz).date_naive()
}

async fn meta_accepts_all_but_one(graph: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!("/v21.0/{PHONE_NUMBER_ID}/messages")))
        .and(body_partial_json(json!({"to": CAN_WA_ID})))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"message": "(#131026) Message undeliverable", "type": "OAuthException", "code": 131026,
                      "error_data": {"messaging_product": "whatsapp", "details": "Receiver is incapable of receiving this message"}}
        })))
        .with_priority(1)
        .mount(graph)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v21.0/{PHONE_NUMBER_ID}/messages")))
        .respond_with(|_: &wiremock::Request| {
            let id = format!("wamid.{}", uuid::Uuid::new_v4().simple());
            ResponseTemplate::new(200).set_body_json(json!({"messaging_product": "whatsapp", "messages": [{"id": id}]}))
        })
        .mount(graph)
        .await;
}

fn whatsapp_change(value: Value) -> Vec<u8> {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}]
    })
    .to_string()
    .into_bytes()
}

fn inbound(from: &str, text: &str, wamid: &str) -> Vec<u8> {
    whatsapp_change(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Customer"}, "wa_id": from}],
        "messages": [{"from": from, "id": wamid, "timestamp": Utc::now().timestamp().to_string(),
                      "type": "text", "text": {"body": text}}]
    }))
}

fn status(to: &str, message_id: &str, wamid: &str, status: &str) -> Vec<u8> {
    whatsapp_change(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
        "statuses": [{"id": wamid, "status": status, "timestamp": Utc::now().timestamp().to_string(),
                      "recipient_id": to, "biz_opaque_callback_data": message_id}]
    }))
}

async fn deliver(app: &TestApp, shop: &super::Shop, order_id: &str, phone: &str, occurred_at: DateTime<Utc>) {
    let body = json!({
        "id": format!("delivered-{order_id}"), "type": "order.delivered", "occurred_at": occurred_at.to_rfc3339(),
        "order": {"id": order_id, "currency": "TRY", "total": "749.90",
                  "customer": {"name": "Ada Yilmaz", "phone": phone, "country": "TR", "whatsapp_consent": true},
                  "items": [{"id": "1", "sku": "SERUM-30", "title": "Vitamin C Serum", "quantity": 1}]}
    });
    let response = app.post_generic(&shop.generic, Utc::now().timestamp(), body.to_string().as_bytes()).await;
    assert_eq!(response.status(), 202);
}

/// Our id and Meta's id of the follow-up sent for a store's order.
async fn follow_up_of(app: &TestApp, order_id: &str) -> (String, String) {
    let (id, wamid): (uuid::Uuid, String) = sqlx::query_as(
        "SELECT m.id, m.wa_message_id FROM messages m JOIN orders o ON o.id = m.order_id
         WHERE o.external_order_id = $1 AND m.direction = 'outbound' AND m.proactive",
    )
    .bind(order_id)
    .fetch_one(&app.admin)
    .await
    .expect("follow-up message");
    (id.to_string(), wamid)
}

async fn stored_rows(app: &TestApp) -> Vec<Value> {
    sqlx::query_scalar("SELECT to_jsonb(d) FROM analytics_daily d ORDER BY merchant_id, day")
        .fetch_all(&app.admin)
        .await
        .expect("rows")
}

const FIGURES: [&str; 11] = [
    "messages_sent",
    "messages_delivered",
    "messages_read",
    "messages_failed",
    "follow_ups_sent",
    "replied",
    "inbound_messages",
    "opt_outs",
    "hand_overs",
    "orders_delivered",
    "follow_ups_planned",
];

/// The figures of a day, in the order of [`FIGURES`].
fn figures(values: [i64; 11]) -> Value {
    Value::Object(FIGURES.iter().zip(values).map(|(name, value)| ((*name).to_owned(), json!(value))).collect())
}

/// The figures of one day of a summary, without its date.
fn figures_of(day: &Value) -> Value {
    let mut figures = day.clone();
    figures.as_object_mut().expect("day").remove("day");
    figures
}

#[tokio::test]
async fn real_traffic_rolls_up_into_each_figure_of_the_day_once_however_often_it_runs() {
    let graph = MockServer::start().await;
    meta_accepts_all_but_one(&graph).await;
    // The conversations pool needs an embedder to start; a question for a person never reaches it.
    let embeddings = MockServer::start().await;
    let (graph_uri, embeddings_uri) = (graph.uri(), embeddings.uri());
    let app = spawn_app_with(move |figment| {
        figment
            .merge(("whatsapp.graph_base_url", graph_uri))
            .merge(("whatsapp.access_token", "test-token"))
            .merge(("whatsapp.customer_gap_secs", 0))
            .merge(("embedding.provider", "openai"))
            .merge(("embedding.base_url", embeddings_uri))
            .merge(("embedding.model", "test-embedder"))
    })
    .await;
    let zone = noon_zone(Utc::now());
    let shop = shop(&app, "Glow Store", &zone).await;
    let whatsapp = app.integration(shop.merchant, IntegrationKind::WhatsApp).await;
    shop.set_settings(
        &app,
        json!({
            "quiet_hours": {"start": "00:00:00", "end": "00:00:00"},
            "follow_up_plan": [
                {"key": "t0", "offset_hours": 0, "window_text": "How is your serum?",
                 "template": {"name": "recete_how_to_use", "language": "en", "category": "utility",
                              "parameters": ["customer_first_name", "product_title"]}},
                {"key": "t1", "offset_hours": 72,
                 "template": {"name": "recete_check_in", "language": "en", "category": "utility", "parameters": ["order_number"]}}
            ]
        }),
    )
    .await;
    let workers = app.start_pools(&[Pool::OrderEvents, Pool::WhatsAppEvents, Pool::Messages, Pool::Conversations]);

    // Three deliveries: Ada's and Bora's follow-ups go out, Meta refuses Can's for good.
    let just_now = Utc::now() - chrono::Duration::minutes(1);
    for (order_id, wa_id) in [("2001", ADA_WA_ID), ("2002", BORA_WA_ID), ("2003", CAN_WA_ID)] {
        deliver(&app, &shop, order_id, &format!("+{wa_id}"), just_now).await;
    }
    app.wait_for_count(SENT, 2, 30).await;
    app.wait_for_count("SELECT count(*) FROM messages WHERE status = 'failed' AND error_code = '131026'", 1, 30).await;

    // Meta reports Ada's follow-up delivered then read, Bora's delivered.
    let (ada_message, ada_wamid) = follow_up_of(&app, "2001").await;
    let (bora_message, bora_wamid) = follow_up_of(&app, "2002").await;
    for (to, message, wamid, state) in [
        (ADA_WA_ID, &ada_message, &ada_wamid, "delivered"),
        (ADA_WA_ID, &ada_message, &ada_wamid, "read"),
        (BORA_WA_ID, &bora_message, &bora_wamid, "delivered"),
    ] {
        assert_eq!(app.post_whatsapp(&whatsapp.secret, &status(to, message, wamid, state)).await.status(), 200);
    }
    app.wait_for_count("SELECT count(*) FROM external_events WHERE source = 'whatsapp' AND state = 'processed'", 3, 30)
        .await;

    // Ada answers asking for a person (a hand-over, announced by a reply); Bora answers STOP
    // (an opt-out, confirmed by a reply). Meta's timestamps are whole seconds: the answers come
    // in a later second than the follow-ups.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let asked = inbound(ADA_WA_ID, "I want to talk to a real person", "wamid.ADA-ASKS");
    assert_eq!(app.post_whatsapp(&whatsapp.secret, &asked).await.status(), 200);
    app.wait_for_count("SELECT count(*) FROM audit_log WHERE action = 'conversation.handed_over'", 1, 30).await;
    assert_eq!(
        app.post_whatsapp(&whatsapp.secret, &inbound(BORA_WA_ID, "STOP", "wamid.BORA-STOPS")).await.status(),
        200
    );
    app.wait_for_count("SELECT count(*) FROM customers WHERE whatsapp_consent = 'revoked'", 1, 30).await;
    app.wait_for_count(SENT, 4, 30).await;
    // Every message due has gone out or failed (product knowledge is not embedded here).
    app.wait_for_count(
        "SELECT count(*) FROM scheduled_tasks WHERE kind IN ('follow_up', 'reply', 'answer')
           AND state IN ('pending', 'running', 'failed') AND due_at < now()",
        0,
        30,
    )
    .await;
    workers.stop().await;

    // The workers' housekeeping rolled up the tick they started in; the test runs the ticks
    // after it, as the next replica to tick would.
    assert!(
        app.count("SELECT count(*) FROM periodic_runs WHERE job = 'analytics_rollup' AND state = 'succeeded'").await
            >= 1,
        "the workers roll up on their housekeeping cadence"
    );
    let now = Utc::now() + chrono::Duration::seconds(60);
    let Run::Done(report) = analytics::run_periodic(&app.pool, now, INTERVAL, OVERLAP).await.expect("rollup") else {
        panic!("the first rollup of a tick runs");
    };
    assert!(report.days_changed >= 1, "{report:?}");
    let today = today_in(&zone);
    let week_ago = today - chrono::Days::new(6);
    let summary = shop.get_json(&app, &format!("/api/analytics/summary?from={week_ago}&to={today}")).await;
    let expected_today = figures([4, 2, 1, 1, 2, 2, 2, 1, 1, 3, 6]);
    let days = summary["days"].as_array().expect("days");
    let listed: Vec<String> = days.iter().map(|d| d["day"].as_str().expect("day").to_owned()).collect();
    let every_day: Vec<String> = week_ago.iter_days().take(7).map(|d| d.to_string()).collect();
    assert_eq!(listed, every_day, "every day of the range, in order");
    assert_eq!(figures_of(&days[6]), expected_today, "{summary}");
    for quiet in &days[..6] {
        assert_eq!(figures_of(quiet), figures([0; 11]), "{quiet}");
    }
    assert_eq!(summary["totals"], expected_today);
    assert_eq!(
        (&summary["timezone"], &summary["from"], &summary["to"]),
        (&json!(zone), &json!(week_ago), &json!(today))
    );
    let fresh: DateTime<Utc> = summary["fresh_as_of"].as_str().expect("fresh as of").parse().expect("time");
    let generated: DateTime<Utc> = summary["generated_at"].as_str().expect("generated at").parse().expect("time");
    assert!(fresh <= generated && generated - fresh < chrono::Duration::minutes(1), "{fresh} {generated}");

    // Running it again, whole history or incremental, here or on two replicas at once, changes
    // nothing; the tick already done is not run again.
    let before = stored_rows(&app).await;
    let again = analytics::recompute(&app.pool, None).await.expect("full recompute");
    assert_eq!(again.days_changed, 0, "{again:?}");
    assert!(matches!(analytics::run_periodic(&app.pool, now, INTERVAL, OVERLAP).await.expect("rollup"), Run::Skipped));
    let next_tick = now + chrono::Duration::seconds(60);
    let second_replica = app.db.app_pool().await.expect("second replica");
    let (first, second) = tokio::join!(
        analytics::run_periodic(&app.pool, next_tick, INTERVAL, OVERLAP),
        analytics::run_periodic(&second_replica, next_tick, INTERVAL, OVERLAP),
    );
    let ran = [first.expect("replica one"), second.expect("replica two")]
        .into_iter()
        .filter(|run| match run {
            Run::Done(report) => {
                assert_eq!(report.days_changed, 0, "{report:?}");
                true
            }
            Run::Skipped => false,
            Run::Failed(error) => panic!("rollup failed: {error:#}"),
        })
        .count();
    assert_eq!(ran, 1, "one replica runs a tick");
    assert_eq!(stored_rows(&app).await, before);

    // A store replays a delivery from four days ago: the next tick finds the old day by the
    // order's write and counts it there, not today.
    let replayed = app.start_pools(&[Pool::OrderEvents]);
    deliver(&app, &shop, "2004", "+905551112299", Utc::now() - chrono::Duration::days(4)).await;
    app.wait_for_count("SELECT count(*) FROM orders WHERE external_order_id = '2004'", 1, 30).await;
    replayed.stop().await;
    let later = next_tick + chrono::Duration::seconds(60);
    assert!(matches!(
        analytics::run_periodic(&app.pool, later, INTERVAL, OVERLAP).await.expect("rollup"),
        Run::Done(_)
    ));
    let summary = shop.get_json(&app, &format!("/api/analytics/summary?from={week_ago}&to={today}")).await;
    let days = summary["days"].as_array().expect("days");
    assert_eq!(days[2]["day"], json!(today - chrono::Days::new(4)));
    assert_eq!(figures_of(&days[2]), figures([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]), "{summary}");
    assert_eq!(figures_of(&days[6]), expected_today);
    assert_eq!(summary["totals"]["orders_delivered"], 4);
}

#[tokio::test]
async fn the_summary_range_defaults_to_thirty_days_and_bad_ranges_are_named() {
    let app = spawn_app().await;
    let shop = shop(&app, "Glow Store", "Pacific/Kiritimati").await;
    let today = today_in("Pacific/Kiritimati");

    let summary = shop.get_json(&app, "/api/analytics/summary").await;
    let days = summary["days"].as_array().expect("days");
    assert_eq!(days.len(), 30);
    assert_eq!((&summary["from"], &summary["to"]), (&json!(today - chrono::Days::new(29)), &json!(today)));
    assert_eq!(summary["fresh_as_of"], Value::Null, "no rollup has run yet");
    assert!(days.iter().all(|day| figures_of(day) == summary["totals"]), "all zeros");

    let year = shop.get_json(&app, "/api/analytics/summary?from=2024-01-01&to=2024-12-31").await;
    assert_eq!(year["days"].as_array().expect("days").len(), 366, "a leap year fits");
    let one = shop.get_json(&app, "/api/analytics/summary?from=2026-03-29&to=2026-03-29").await;
    assert_eq!(one["days"].as_array().expect("days").len(), 1);
    let ending = shop.get_json(&app, "/api/analytics/summary?to=2026-03-01").await;
    assert_eq!((&ending["from"], &ending["days"][0]["day"]), (&json!("2026-01-31"), &json!("2026-01-31")));

    let cases = [
        ("/api/analytics/summary?from=2026-03-02&to=2026-03-01", "from"),
        ("/api/analytics/summary?from=2024-01-01&to=2025-01-01", "to"),
        ("/api/analytics/summary?from=2026-02-30", "from"),
        ("/api/analytics/summary?to=yesterday", "to"),
        ("/api/analytics/summary?from=0001-01-01&to=0001-01-02", "from"),
        ("/api/analytics/summary?to=99999-01-01", "to"),
        ("/api/analytics/summary?days=7", "days"),
    ];
    for (path, field) in cases {
        let problem = assert_problem(shop.get(&app, path).await, 422).await;
        assert_eq!(problem["field"], field, "{path}: {problem}");
    }
    assert_problem(app.client.get(app.url("/api/analytics/summary")).send().await.expect("sent"), 401).await;
}

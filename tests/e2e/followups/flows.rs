use std::time::Duration;

use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{CUSTOMER_WA_ID, SENT, deliver, graph_accepts, post_generic_event, sent_bodies, shop, spawn_messaging_app};
use crate::helpers::PHONE_NUMBER_ID;

fn inbound(text: &str, wamid: &str) -> Vec<u8> {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": "Ada"}, "wa_id": CUSTOMER_WA_ID}],
            "messages": [{"from": CUSTOMER_WA_ID, "id": wamid, "timestamp": chrono::Utc::now().timestamp().to_string(),
                          "type": "text", "text": {"body": text}}]
        }}]}]
    })
    .to_string()
    .into_bytes()
}

fn status(callback: &str, wamid: &str, status: &str) -> Vec<u8> {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "statuses": [{"id": wamid, "status": status, "timestamp": chrono::Utc::now().timestamp().to_string(),
                          "recipient_id": CUSTOMER_WA_ID, "biz_opaque_callback_data": callback}]
        }}]}]
    })
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn a_delivered_order_gets_its_follow_ups_one_now_one_after_the_cap_and_the_merchant_sees_both() {
    let graph = MockServer::start().await;
    graph_accepts(&graph).await;
    let app = spawn_messaging_app(&graph).await;
    let shop = shop(&app).await;
    sqlx::query("UPDATE merchants SET settings = jsonb_set(settings, '{follow_up_plan,1,offset_hours}', '3')")
        .execute(&app.admin)
        .await
        .expect("second step an hour from now");
    let _workers = app.start_workers();
    deliver(&app, &shop, "1001").await;
    app.wait_for_count(SENT, 1, 20).await;

    let bodies = sent_bodies(&graph).await;
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["to"], CUSTOMER_WA_ID);
    assert_eq!(bodies[0]["type"], "template", "no service window is open");
    assert_eq!(bodies[0]["template"]["name"], "recete_how_to_use");
    assert_eq!(
        bodies[0]["template"]["components"][0]["parameters"],
        json!([{"type": "text", "text": "Ada"}, {"type": "text", "text": "Vitamin C Serum"}])
    );
    let callback = bodies[0]["biz_opaque_callback_data"].as_str().expect("callback data");
    assert!(uuid::Uuid::parse_str(callback).is_ok(), "our own message id: {callback}");

    // The second step is planned for delivery + 3 h, an hour from now.
    let planned: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT due_at FROM scheduled_tasks WHERE step = 't1'")
            .fetch_one(&app.admin)
            .await
            .expect("due");
    let from_now = planned - chrono::Utc::now();
    assert!(from_now > chrono::Duration::minutes(55) && from_now < chrono::Duration::minutes(61), "{from_now}");

    // Time moves forward a day: the step is due and the 24-hour cap has passed.
    sqlx::query("UPDATE messages SET sent_at = sent_at - interval '25 hours'").execute(&app.admin).await.expect("age");
    sqlx::query("UPDATE scheduled_tasks SET due_at = now(), enqueued_at = NULL WHERE step = 't1'")
        .execute(&app.admin)
        .await
        .expect("due");
    app.wait_for_count(SENT, 2, 20).await;
    let bodies = sent_bodies(&graph).await;
    assert_eq!(bodies[1]["template"]["name"], "recete_check_in");
    assert_eq!(bodies[1]["template"]["components"][0]["parameters"], json!([{"type": "text", "text": "1001"}]));

    // Meta's statuses arrive out of order: read first, then delivered. Read stays read.
    let wamid: String = sqlx::query_scalar("SELECT wa_message_id FROM messages WHERE id = $1::uuid")
        .bind(callback)
        .fetch_one(&app.admin)
        .await
        .expect("wamid");
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &status(callback, &wamid, "read")).await.status(), 200);
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &status(callback, &wamid, "delivered")).await.status(), 200);
    // A failure reported after the message was delivered is stale: it changes nothing.
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &status(callback, &wamid, "failed")).await.status(), 200);
    app.wait_for_count("SELECT count(*) FROM external_events WHERE source = 'whatsapp' AND state = 'processed'", 3, 20)
        .await;
    let first_status: String = sqlx::query_scalar("SELECT status FROM messages WHERE id = $1::uuid")
        .bind(callback)
        .fetch_one(&app.admin)
        .await
        .expect("status");
    assert_eq!(first_status, "read");

    // The merchant's view, through an API key.
    let api_key: String = {
        let created = recete_shared::merchants::create(&app.pool, "Other", "UTC").await.expect("other merchant");
        let unauthorized = app.client.get(app.url("/api/messages?order_id=1001")).send().await.expect("sent");
        crate::helpers::assert_problem(unauthorized, 401).await;
        let foreign = app
            .client
            .get(app.url("/api/messages?order_id=1001"))
            .bearer_auth(&created.api_key)
            .send()
            .await
            .expect("sent");
        crate::helpers::assert_problem(foreign, 404).await;
        let mut tx = recete_platform::db::tenant_tx(&app.pool, shop.merchant).await.expect("tx");
        let (_, key) = recete_shared::api_keys::insert(&mut tx, shop.merchant, "test", None).await.expect("key");
        tx.commit().await.expect("commit");
        key
    };
    let listed: serde_json::Value = app
        .client
        .get(app.url("/api/messages?order_id=1001"))
        .header("x-api-key", &api_key)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let messages = listed["messages"].as_array().expect("list");
    assert_eq!(messages.len(), 2, "{listed}");
    assert_eq!(messages[0]["step"], "t0");
    assert_eq!(messages[0]["message_status"], "read");
    assert!(messages[0]["sent_at"].is_string() && messages[0]["planned_at"].is_string());
    assert_eq!(messages[1]["message_status"], "sent");
}

#[tokio::test]
async fn a_cancellation_between_the_steps_stops_the_second() {
    let graph = MockServer::start().await;
    graph_accepts(&graph).await;
    let app = spawn_messaging_app(&graph).await;
    let shop = shop(&app).await;
    let _workers = app.start_workers();
    deliver(&app, &shop, "2002").await;
    app.wait_for_count(SENT, 1, 20).await;
    post_generic_event(&app, &shop, "cancel-2002", "order.cancelled", "2002").await;
    app.wait_for_count(
        "SELECT count(*) FROM scheduled_tasks WHERE state = 'cancelled' AND cancel_reason = 'order cancelled'",
        1,
        20,
    )
    .await;
    assert_eq!(sent_bodies(&graph).await.len(), 1);
}

#[tokio::test]
async fn stop_opts_out_at_once_cancels_everything_and_is_confirmed_once() {
    let graph = MockServer::start().await;
    graph_accepts(&graph).await;
    let app = spawn_messaging_app(&graph).await;
    let shop = shop(&app).await;
    let _workers = app.start_workers();
    deliver(&app, &shop, "3003").await;
    app.wait_for_count(SENT, 1, 20).await;

    for copy in 0..2 {
        let response = app.post_whatsapp(&shop.whatsapp.secret, &inbound("Stop messaging me!", "wamid.STOP1")).await;
        assert_eq!(response.status(), 200, "copy {copy}: Meta counts only 200 as delivered, duplicates too");
    }
    app.wait_for_count(SENT, 2, 20).await;
    let (consent, source): (String, String) = sqlx::query_as("SELECT whatsapp_consent, consent_source FROM customers")
        .fetch_one(&app.admin)
        .await
        .expect("customer");
    assert_eq!((consent.as_str(), source.as_str()), ("revoked", "whatsapp:STOP"));
    assert_eq!(
        app.count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'follow_up' AND state IN ('pending', 'failed')")
            .await,
        0
    );
    let bodies = sent_bodies(&graph).await;
    assert_eq!(bodies.len(), 2, "the follow-up and one confirmation");
    assert_eq!(bodies[1]["type"], "text", "the customer just wrote: the window is open");
    assert!(bodies[1]["text"]["body"].as_str().is_some_and(|b| b.contains("START")), "{}", bodies[1]);
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE action = 'customer.consent_changed' AND after->>'source' = 'whatsapp:STOP'").await, 1);

    // START opts back in, also confirmed.
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &inbound("start", "wamid.START1")).await.status(), 200);
    app.wait_for_count(SENT, 3, 20).await;
    let consent: String =
        sqlx::query_scalar("SELECT whatsapp_consent FROM customers").fetch_one(&app.admin).await.expect("customer");
    assert_eq!(consent, "granted");
}

#[tokio::test]
async fn a_retry_after_a_timeout_never_sends_a_second_copy() {
    let graph = MockServer::start().await;
    // Meta receives the message but the answer comes too late for our timeout.
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(2))
                .set_body_json(json!({"messaging_product": "whatsapp", "messages": [{"id": "wamid.SLOW"}]})),
        )
        .mount(&graph)
        .await;
    let app = spawn_messaging_app(&graph).await;
    let shop = shop(&app).await;
    sqlx::query("UPDATE merchants SET settings = jsonb_set(settings, '{follow_up_plan}', settings->'follow_up_plan' -> 0 || '[]'::jsonb)")
        .execute(&app.admin)
        .await
        .expect("one step only");
    let _workers = app.start_workers();
    deliver(&app, &shop, "4004").await;
    app.wait_for_count("SELECT count(*) FROM messages WHERE status = 'sending'", 1, 20).await;
    // Meta's "sent" status for our message id arrives by webhook meanwhile.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let callback: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM messages").fetch_one(&app.admin).await.expect("message");
    assert_eq!(
        app.post_whatsapp(&shop.whatsapp.secret, &status(&callback.to_string(), "wamid.SLOW", "sent")).await.status(),
        200
    );
    app.wait_for_count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'follow_up' AND state = 'done'", 1, 30).await;
    assert_eq!(graph.received_requests().await.unwrap_or_default().len(), 1, "one request, no second copy");
    let wamid: String = sqlx::query_scalar("SELECT wa_message_id FROM messages WHERE direction = 'outbound'")
        .fetch_one(&app.admin)
        .await
        .expect("wamid");
    assert_eq!(wamid, "wamid.SLOW");
}

#[tokio::test]
async fn redis_wiped_between_planning_and_sending_still_sends_once() {
    let graph = MockServer::start().await;
    graph_accepts(&graph).await;
    let app = spawn_messaging_app(&graph).await;
    let shop = shop(&app).await;
    // Plan only: the order pipeline runs, nothing sends yet.
    let planner = app.start_pools(&[recete_workers::Pool::OrderEvents]);
    deliver(&app, &shop, "5005").await;
    app.wait_for_count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'follow_up'", 2, 20).await;
    planner.stop().await;
    // Hand the tasks to Redis, then lose Redis before any worker fetched them.
    let redis = recete_platform::redis_client::RedisClient::new(&app.settings.redis).expect("client");
    let connection = redis.connection().await.expect("redis");
    let queue = recete_jobs::QueueName::Messages;
    let mut relay = recete_jobs::relay::Relay::<recete_jobs::TaskJob> {
        queue,
        namespace: recete_jobs::backlog::namespace(redis.key_prefix(), queue),
        storage: recete_jobs::backlog::storage(connection.clone(), redis.key_prefix(), queue, &app.settings.queue, 1),
        connection,
        settings: app.settings.queue.clone(),
    };
    assert_eq!(relay.relay_once(&app.pool).await.expect("relay").handed_over, 2);
    assert!(app.redis.wipe().await.expect("wipe") > 0);
    // The reconciler brings both back; the cap lets one through now and defers the other.
    let _workers = app.start_workers();
    app.wait_for_count(SENT, 1, 30).await;
    app.wait_for_count("SELECT count(*) FROM scheduled_tasks WHERE status_reason LIKE 'frequency cap%'", 1, 30).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sent_bodies(&graph).await.len(), 1);
    assert!(
        app.count("SELECT count(*) FROM scheduled_tasks WHERE enqueue_count >= 2").await >= 1,
        "handed over again after the wipe"
    );
}

#[tokio::test]
async fn meta_saying_the_customer_stopped_marketing_records_an_opt_out() {
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"message": "(#131050) User has stopped marketing messages", "code": 131050, "error_data": {"details": "opted out"}}
        })))
        .mount(&graph)
        .await;
    let app = spawn_messaging_app(&graph).await;
    let shop = shop(&app).await;
    let _workers = app.start_workers();
    deliver(&app, &shop, "6006").await;
    app.wait_for_count("SELECT count(*) FROM messages WHERE status = 'failed' AND error_code = '131050'", 1, 20).await;
    app.wait_for_count(
        "SELECT count(*) FROM customers WHERE whatsapp_consent = 'revoked' AND consent_source = 'whatsapp:131050'",
        1,
        20,
    )
    .await;
    app.wait_for_count(
        "SELECT count(*) FROM scheduled_tasks WHERE kind = 'follow_up' AND state IN ('pending', 'failed')",
        0,
        20,
    )
    .await;
    let reason: String = sqlx::query_scalar("SELECT status_reason FROM scheduled_tasks WHERE step = 't0'")
        .fetch_one(&app.admin)
        .await
        .expect("reason");
    assert!(reason.contains("131050") && reason.contains("stopped marketing"), "{reason}");
}

#[tokio::test]
async fn a_message_due_in_quiet_hours_waits_for_their_end_in_the_customers_zone() {
    let graph = MockServer::start().await;
    graph_accepts(&graph).await;
    let app = spawn_messaging_app(&graph).await;
    let shop = shop(&app).await;
    // Quiet from an hour ago to an hour from now, Istanbul time (the customer's zone: TR).
    let istanbul = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Istanbul);
    let start = (istanbul - chrono::Duration::hours(1)).time().format("%H:%M:00").to_string();
    let end = (istanbul + chrono::Duration::hours(1)).time().format("%H:%M:00").to_string();
    sqlx::query(
        "UPDATE merchants SET timezone = 'America/New_York', settings = jsonb_set(settings, '{quiet_hours}', $1)",
    )
    .bind(json!({"start": start, "end": end}))
    .execute(&app.admin)
    .await
    .expect("quiet now");
    let _workers = app.start_workers();
    deliver(&app, &shop, "7007").await;
    app.wait_for_count("SELECT count(*) FROM scheduled_tasks WHERE status_reason LIKE 'quiet hours until%'", 2, 20)
        .await;
    let (due_at, reason): (chrono::DateTime<chrono::Utc>, String) =
        sqlx::query_as("SELECT due_at, status_reason FROM scheduled_tasks WHERE step = 't0'")
            .fetch_one(&app.admin)
            .await
            .expect("task");
    assert!(reason.contains("Europe/Istanbul"), "the customer's zone, not the merchant's: {reason}");
    let local_end = due_at.with_timezone(&chrono_tz::Europe::Istanbul).format("%H:%M:00").to_string();
    assert_eq!(local_end, end);
    let wait = due_at - chrono::Utc::now();
    assert!(wait > chrono::Duration::minutes(55) && wait <= chrono::Duration::minutes(61), "{wait}");
    assert!(sent_bodies(&graph).await.is_empty(), "nothing goes out in quiet hours");
}

#[tokio::test]
async fn without_meta_credentials_messages_go_to_the_local_outbox() {
    let app = crate::helpers::spawn_app_with(|figment| figment.merge(("whatsapp.customer_gap_secs", 0))).await;
    let shop = shop(&app).await;
    sqlx::query("UPDATE merchants SET settings = jsonb_set(settings, '{follow_up_plan,1,offset_hours}', '3')")
        .execute(&app.admin)
        .await
        .expect("one step due");
    let _workers = app.start_workers();
    deliver(&app, &shop, "8008").await;
    app.wait_for_count(SENT, 1, 20).await;
    let (wamid, reason): (String, String) = sqlx::query_as(
        "SELECT m.wa_message_id, t.status_reason FROM messages m JOIN scheduled_tasks t ON t.id = m.scheduled_task_id",
    )
    .fetch_one(&app.admin)
    .await
    .expect("message");
    assert!(wamid.starts_with("outbox-"), "{wamid}");
    assert_eq!(reason, "sent to the local outbox");
}

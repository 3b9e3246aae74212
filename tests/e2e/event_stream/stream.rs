//! The stream shows what the workers raise, resumes after `Last-Event-ID` without repeats,
//! never shows another merchant's events, beats while idle, says `reset` when resuming from an
//! event no longer kept, and bounds the streams a merchant holds open.

use std::time::{Duration, Instant};

use recete_shared::merchant_events::stream::prune;
use recete_workers::Pool;
use serde_json::json;
use uuid::Uuid;

use super::{EventStream, event_ids, open, request};
use crate::helpers::TestApp;
use crate::merchant_api::tenant;
use crate::webhooks::{inbound_text, shop, spawn_webhook_app_with};

/// The agent with the local model; streams beat every second.
async fn spawn_stream_app(customize: impl FnOnce(figment::Figment) -> figment::Figment) -> TestApp {
    let model_dir = format!("{}/models/all-MiniLM-L6-v2", env!("CARGO_MANIFEST_DIR"));
    spawn_webhook_app_with(|figment| {
        customize(figment.merge(("embedding.model_dir", model_dir)).merge(("events.stream_heartbeat_secs", 1)))
    })
    .await
}

/// Reads `wait` worth of frames and asserts they are all heartbeats (at least one).
async fn only_heartbeats(stream: &mut EventStream, wait: Duration) {
    let frames = stream.frames_for(wait).await;
    assert!(frames.iter().all(|frame| frame.is_heartbeat()), "{frames:#?}");
    assert!(!frames.is_empty(), "a heartbeat at least every second");
}

/// Raises an event for `merchant` as the superuser, with the notification `raise` sends.
async fn raise_directly(app: &TestApp, merchant: Uuid, id: Uuid, days_ago: i32) {
    let mut tx = app.admin.begin().await.expect("transaction");
    sqlx::query(
        "INSERT INTO merchant_events (id, merchant_id, type, payload, created_at)
         VALUES ($1, $2, 'import.completed', $3, now() - make_interval(days => $4))",
    )
    .bind(id)
    .bind(merchant)
    .bind(json!({"import_id": Uuid::now_v7(), "kind": "orders", "status": "completed", "total_rows": 1,
                 "imported": 1, "skipped": 0, "failed": 0, "failure_reason": null}))
    .bind(days_ago)
    .execute(&mut *tx)
    .await
    .expect("event inserted");
    sqlx::query("SELECT pg_notify('recete_merchant_events', $1::text)")
        .bind(merchant)
        .execute(&mut *tx)
        .await
        .expect("notified");
    tx.commit().await.expect("committed");
}

#[tokio::test]
async fn the_stream_shows_the_hand_over_resumes_without_repeats_and_never_another_merchants_events() {
    // Streams never poll here: only the notifications can bring the events.
    let app = spawn_stream_app(|figment| figment.merge(("events.stream_poll_secs", 3600))).await;
    let shop = shop(&app, "Serum Shop").await;
    let other = tenant(&app, "Other Shop").await;
    let _workers = app.start_pools(&[Pool::WhatsAppEvents, Pool::Conversations]);
    let mut first = open(&app, &shop.tenant.key, None).await;
    let mut others = open(&app, &other.key, None).await;

    // Idle: a heartbeat comment every second.
    let beat = first.next_frame(Duration::from_secs(3)).await.expect("a heartbeat");
    assert!(beat.is_heartbeat(), "{beat:?}");
    assert_eq!(beat.comment.as_deref(), Some("heartbeat"));

    // The customer asks for a person; the workers hand over and the stream shows it.
    let asked = inbound_text("I want to talk to a real person", "wamid.PERSON");
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &asked).await.status(), 200);
    let handed_over = first.next_event(60).await;
    let ids = event_ids(&app, shop.tenant.merchant.as_uuid(), "conversation.handed_over").await;
    assert_eq!(handed_over.event.as_deref(), Some("conversation.handed_over"));
    assert_eq!(handed_over.id.as_deref(), Some(ids[0].as_str()), "id: is the event's id");
    let body = handed_over.json();
    assert_eq!(body["type"], "conversation.handed_over");
    assert_eq!(body["data"]["question"], "I want to talk to a real person");
    assert_eq!(body["data"]["reason"], "the customer asked for a person");
    assert_eq!(body["data"]["customer"]["phone"], "+90 ****67", "masked as in webhooks");
    drop(first);

    // Disconnected, the customer writes again; the reconnected stream gets exactly that.
    let waiting = inbound_text("Hello? Anyone there?", "wamid.WAITING");
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &waiting).await.status(), 200);
    app.wait_for_count("SELECT count(*) FROM merchant_events WHERE type = 'conversation.message_received'", 1, 60)
        .await;
    let received_id = event_ids(&app, shop.tenant.merchant.as_uuid(), "conversation.message_received").await;
    let mut resumed = open(&app, &shop.tenant.key, handed_over.id.as_deref()).await;
    let missed = resumed.next_event(10).await;
    assert_eq!(missed.event.as_deref(), Some("conversation.message_received"));
    assert_eq!(missed.id.as_deref(), Some(received_id[0].as_str()));
    assert_eq!(missed.json()["data"]["text"], "Hello? Anyone there?");
    only_heartbeats(&mut resumed, Duration::from_millis(2500)).await;

    // From the start: both, in order, once.
    let mut replay = open(&app, &shop.tenant.key, None).await;
    let (one, two) = (replay.next_event(10).await, replay.next_event(10).await);
    assert_eq!((one.id, two.id), (Some(ids[0].clone()), Some(received_id[0].clone())));
    only_heartbeats(&mut replay, Duration::from_millis(1500)).await;

    // The other merchant saw none of it, and gets its own event, which the first never sees.
    only_heartbeats(&mut others, Duration::from_millis(1500)).await;
    let theirs = Uuid::now_v7();
    raise_directly(&app, other.merchant.as_uuid(), theirs, 0).await;
    let seen = others.next_event(10).await;
    assert_eq!(seen.id, Some(theirs.to_string()));
    assert_eq!(seen.event.as_deref(), Some("import.completed"));
    only_heartbeats(&mut resumed, Duration::from_millis(2000)).await;
}

#[tokio::test]
async fn resuming_from_a_pruned_event_says_reset_first_and_streams_are_bounded_per_merchant() {
    let app = spawn_stream_app(|figment| {
        figment.merge(("events.max_streams_per_merchant", 2)).merge(("events.stream_poll_secs", 1))
    })
    .await;
    let shop = tenant(&app, "Serum Shop").await;
    let merchant = shop.merchant.as_uuid();
    let (old, kept) = (Uuid::now_v7(), Uuid::now_v7());
    raise_directly(&app, merchant, old, 30).await;
    raise_directly(&app, merchant, kept, 0).await;

    // Housekeeping's prune, as the application role: the 30-day-old event goes.
    let pruned = prune(&app.pool, 14).await.expect("pruned");
    assert_eq!(pruned.events, 1);
    assert_eq!(event_ids(&app, merchant, "import.completed").await, [kept.to_string()]);

    let bad = request(&app, &shop.key, Some("not-an-id")).await;
    assert_eq!(bad.status(), 422);
    let problem: serde_json::Value = bad.json().await.expect("problem");
    assert_eq!(problem["field"], "Last-Event-ID", "{problem}");

    let mut resumed = open(&app, &shop.key, Some(&old.to_string())).await;
    let reset = resumed.next_event(5).await;
    assert_eq!(reset.event.as_deref(), Some("reset"));
    assert_eq!(reset.id, None);
    assert_eq!(reset.json()["last_event_id"], old.to_string());
    let next = resumed.next_event(5).await;
    assert_eq!(next.id, Some(kept.to_string()));

    // Two open; the third is refused until one closes.
    let second = open(&app, &shop.key, Some(&kept.to_string())).await;
    let refused = request(&app, &shop.key, None).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let problem: serde_json::Value = refused.json().await.expect("problem");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("events.max_streams_per_merchant")), "{problem}");
    drop(second);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = request(&app, &shop.key, None).await;
        if response.status() == 200 {
            break;
        }
        assert_eq!(response.status(), 429);
        assert!(Instant::now() < deadline, "the closed stream's slot was never given back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn an_event_committed_after_a_newer_one_was_streamed_still_arrives_once() {
    let app = spawn_stream_app(|figment| figment.merge(("events.stream_poll_secs", 1))).await;
    let shop = tenant(&app, "Serum Shop").await;
    let merchant = shop.merchant.as_uuid();
    let mut stream = open(&app, &shop.key, None).await;
    // Two transactions: the one holding the older id commits second.
    let (older, newer) = (Uuid::now_v7(), Uuid::now_v7());
    raise_directly(&app, merchant, newer, 0).await;
    let first = stream.next_event(5).await;
    assert_eq!(first.id, Some(newer.to_string()));
    raise_directly(&app, merchant, older, 0).await;
    let late = stream.next_event(5).await;
    assert_eq!(late.event.as_deref(), Some("import.completed"));
    assert_eq!(late.id, Some(newer.to_string()), "id: stays where to resume, so resuming repeats nothing");
    only_heartbeats(&mut stream, Duration::from_millis(2500)).await;
    let mut resumed = open(&app, &shop.key, late.id.as_deref()).await;
    only_heartbeats(&mut resumed, Duration::from_millis(1500)).await;
}

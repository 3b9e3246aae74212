use recete_jobs::admin::{JobState, detail, payload};
use serde_json::json;
use uuid::Uuid;

use crate::fleet::{Fleet, NewEvent, NewTask, ago};

fn order_body() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": 1001,
        "email": "ada@example.com",
        "total_price": "49.90",
        "customer": { "first_name": "Ada", "last_name": "Lovelace", "phone": "+905551112233", "orders_count": 2 },
        "shipping_address": { "address1": "1 Main St", "city": "Istanbul", "country_code": "TR" },
        "line_items": [{ "sku": "SERUM-30", "quantity": 1 }]
    }))
    .expect("json")
}

#[tokio::test]
async fn a_job_shows_its_order_and_every_attempt_oldest_first() {
    let fleet = Fleet::new().await;
    let order = fleet.order(fleet.shop, "1001").await;
    let id = fleet
        .event(NewEvent {
            state: "failed",
            attempts: 2,
            subject_id: Some("1001".into()),
            last_error: Some(format!("shop API answered 503: {}", "x".repeat(500))),
            ..NewEvent::default()
        })
        .await;
    for (attempt, outcome, error) in [(1, "failed", Some("timed out")), (2, "failed", Some("shop API answered 503"))] {
        sqlx::query(
            "INSERT INTO job_attempts (job_id, job_table, queue, attempt, worker, due_at, started_at, finished_at, outcome, error)
             VALUES ($1, 'external_events', 'order-events', $2, 'order-events-host-1-0', $3, $3 + interval '2 s',
                     $3 + interval '3 s', $4, $5)",
        )
        .bind(id)
        .bind(attempt)
        .bind(ago(100 - i64::from(attempt)))
        .bind(outcome)
        .bind(error)
        .execute(&fleet.admin)
        .await
        .expect("attempt row");
    }

    let job = detail(&fleet.pool, id).await.expect("detail").expect("found");
    assert_eq!(job.summary.state, JobState::Retrying);
    assert_eq!(job.summary.queue, "order-events");
    assert_eq!(job.order_id, Some(order));
    assert_eq!(job.topic.as_deref(), Some("shopify/order.paid"));
    assert_eq!(job.attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(job.attempts[0].error.as_deref(), Some("timed out"));
    assert_eq!(job.attempts[1].waited_secs(), 2.0);
    assert_eq!(job.attempts[1].duration_secs(), 1.0);
    assert!(job.payload_bytes > 0);
    let listed = job.summary.last_error.expect("trimmed error");
    assert!(listed.chars().count() <= 201 && listed.ends_with('…'), "{listed}");
    assert_eq!(job.last_error.map(|e| e.len()), Some(523), "the detail keeps it whole");

    let task = fleet.task(NewTask { kind: "scrape", ..NewTask::default() }).await;
    let task_detail = detail(&fleet.pool, task).await.expect("detail").expect("found");
    assert_eq!(task_detail.summary.queue, "knowledge");
    assert!(task_detail.attempts.is_empty());
    assert!(detail(&fleet.pool, Uuid::now_v7()).await.expect("detail").is_none());
}

#[tokio::test]
async fn payloads_are_redacted_unless_revealed_and_cut_at_the_limit() {
    let fleet = Fleet::new().await;
    let id = fleet.event(NewEvent { body: order_body(), ..NewEvent::default() }).await;

    let hidden = payload(&fleet.pool, &fleet.keyring, id, false, 64 * 1024).await.expect("payload").expect("found");
    assert!(hidden.redacted && !hidden.truncated);
    assert_eq!(hidden.total_bytes, order_body().len());
    for personal in ["ada@example.com", "Ada", "Lovelace", "+905551112233", "1 Main St", "Istanbul"] {
        assert!(!hidden.text.contains(personal), "{personal} leaked: {}", hidden.text);
    }
    for kept in ["SERUM-30", "49.90", "orders_count", "total_price"] {
        assert!(hidden.text.contains(kept), "{kept} missing: {}", hidden.text);
    }
    let parsed: serde_json::Value = serde_json::from_str(&hidden.text).expect("pretty JSON");
    assert_eq!(parsed["customer"]["phone"], "[redacted]");
    assert_eq!(parsed["shipping_address"], "[redacted]");

    let shown = payload(&fleet.pool, &fleet.keyring, id, true, 64 * 1024).await.expect("payload").expect("found");
    assert!(!shown.redacted);
    assert!(shown.text.contains("ada@example.com") && shown.text.contains("+905551112233"));

    let cut = payload(&fleet.pool, &fleet.keyring, id, true, 80).await.expect("payload").expect("found");
    assert!(cut.truncated && cut.text.len() <= 80, "{} bytes", cut.text.len());
    assert!(shown.text.starts_with(&cut.text));

    let task = fleet
        .task(NewTask {
            kind: "reply",
            payload: json!({ "text": "Your serum ships today, Ada", "step": "reply" }),
            ..NewTask::default()
        })
        .await;
    let task_payload = payload(&fleet.pool, &fleet.keyring, task, false, 1024).await.expect("payload").expect("found");
    assert!(
        !task_payload.text.contains("Ada") && task_payload.text.contains("\"step\": \"reply\""),
        "{}",
        task_payload.text
    );
    assert!(payload(&fleet.pool, &fleet.keyring, Uuid::now_v7(), false, 1024).await.expect("payload").is_none());
}

#[tokio::test]
async fn a_five_megabyte_payload_is_shown_in_part_and_an_erased_one_not_at_all() {
    let fleet = Fleet::new().await;
    let items: Vec<serde_json::Value> = (0..70_000)
        .map(|n| json!({ "sku": format!("SKU-{n:06}"), "quantity": n % 5 + 1, "note": "leave it with the neighbour please" }))
        .collect();
    let body = serde_json::to_vec(&json!({ "id": 7, "line_items": items })).expect("json");
    assert!(body.len() > 5_000_000, "{} bytes", body.len());
    let big = fleet.event(NewEvent { body: body.clone(), ..NewEvent::default() }).await;

    let started = std::time::Instant::now();
    let view = payload(&fleet.pool, &fleet.keyring, big, false, 256 * 1024).await.expect("payload").expect("found");
    assert!(view.truncated);
    assert_eq!(view.total_bytes, body.len());
    assert!(view.text.len() <= 256 * 1024 && view.text.len() > 255 * 1024);
    assert!(view.text.contains("SKU-000000") && !view.text.contains("neighbour"));
    assert!(view.note.as_deref().is_some_and(|note| note.contains("cut at 262144 bytes")));
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "took {:?}", started.elapsed());

    let erased = fleet.event(NewEvent { body: order_body(), ..NewEvent::default() }).await;
    sqlx::query("UPDATE external_events SET erased_at = now() WHERE id = $1")
        .bind(erased)
        .execute(&fleet.admin)
        .await
        .expect("erase");
    let view = payload(&fleet.pool, &fleet.keyring, erased, true, 1024).await.expect("payload").expect("found");
    assert!(view.erased_at.is_some() && view.text.is_empty());
    assert!(view.note.as_deref().is_some_and(|note| note.contains("erased")), "{:?}", view.note);
}

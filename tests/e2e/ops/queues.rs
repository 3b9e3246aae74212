//! The queue list: depth and warnings read from PostgreSQL, and pausing recorded for the relay
//! and the audit log.

use recete_ops::operators::Role;
use reqwest::StatusCode;

use super::{location, signed_in, spawn_board};

#[tokio::test]
async fn the_queue_list_warns_of_work_without_workers_and_pausing_is_recorded() {
    let board = spawn_board().await;
    let session = signed_in(&board, "ops", Role::Operator).await;
    let (_, dead) = board.dead_jobs(3).await;
    sqlx::query("UPDATE external_events SET state = 'pending' WHERE id = $1")
        .bind(dead[0])
        .execute(&board.app.admin)
        .await
        .expect("one pending");

    let page = board.get_html(&session, "/ops").await;
    let row = page.split("<tr").find(|row| row.contains(">order-events<")).expect("an order-events row");
    assert!(row.contains("work waiting and no live worker"), "{row}");
    assert!(row.contains("state=dead\">2<"), "two dead, linked to their search: {row}");
    let quiet = page.split("<tr").find(|row| row.contains(">imports<")).expect("an imports row");
    assert!(!quiet.contains("warning"), "an empty queue is not flagged: {quiet}");

    let paused = board.post(&session, "/ops/queues/order-events/pause", &[]).await;
    assert_eq!(paused.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&paused), "/ops?paused=order-events");
    let by: String = sqlx::query_scalar("SELECT paused_by FROM queue_pauses WHERE queue = 'order-events'")
        .fetch_one(&board.app.admin)
        .await
        .expect("pause row");
    assert_eq!(by, "operator:ops");
    let polled: serde_json::Value = board.get(&session, "/ops/queues.json").await.json().await.expect("json");
    let order_events =
        polled["queues"].as_array().and_then(|q| q.iter().find(|q| q["queue"] == "order-events")).cloned();
    assert_eq!(
        order_events.as_ref().map(|q| q["paused"]["paused_by"].clone()),
        Some("operator:ops".into()),
        "{polled}"
    );
    assert!(polled["rows_html"].as_str().is_some_and(|html| html.contains(">Resume<")));

    let resumed = board.post(&session, "/ops/queues/order-events/resume", &[]).await;
    assert_eq!(resumed.status(), StatusCode::SEE_OTHER);
    assert_eq!(board.app.count("SELECT count(*) FROM queue_pauses").await, 0);
    let audit = |action| board.audited(action);
    assert_eq!(audit("queue.paused").await, vec![("operator:ops".to_owned(), Some("order-events".to_owned()))]);
    assert_eq!(audit("queue.resumed").await, vec![("operator:ops".to_owned(), Some("order-events".to_owned()))]);

    let unknown = board.post(&session, "/ops/queues/orders/pause", &[]).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(unknown.text().await.expect("page").contains("no queue is named `orders`"));
}

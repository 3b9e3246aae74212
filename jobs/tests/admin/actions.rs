use std::time::{Duration, Instant};

use recete_jobs::admin::{ActionError, JobAction, JobState, apply};
use serde_json::Value;
use uuid::Uuid;

use crate::fleet::{Fleet, NewEvent, NewTask, ago};

#[derive(sqlx::FromRow, Debug)]
struct AuditRow {
    merchant_id: Option<Uuid>,
    actor: String,
    action: String,
    subject_type: String,
    before: Option<Value>,
    after: Option<Value>,
}

async fn audit_rows(fleet: &Fleet, id: Uuid) -> Vec<AuditRow> {
    sqlx::query_as(
        "SELECT merchant_id, actor, action, subject_type, before, after FROM audit_log WHERE subject_id = $1 ORDER BY id",
    )
    .bind(id.to_string())
    .fetch_all(&fleet.admin)
    .await
    .expect("audit rows")
}

#[tokio::test]
async fn retry_puts_a_dead_job_back_in_line_with_a_fresh_count_and_an_audit_row() {
    let fleet = Fleet::new().await;
    let dead = fleet.event(NewEvent { state: "dead", attempts: 5, created_at: ago(60), ..NewEvent::default() }).await;
    sqlx::query("UPDATE external_events SET enqueued_at = now() WHERE id = $1")
        .bind(dead)
        .execute(&fleet.admin)
        .await
        .expect("handed over once");

    let outcome = apply(&fleet.pool, dead, JobAction::Retry, "ada").await.expect("retried");
    assert_eq!((outcome.before, outcome.after), (JobState::Dead, JobState::Pending));
    let (state, attempts, enqueued, due_now): (String, i32, bool, bool) = sqlx::query_as(
        "SELECT state, attempts, enqueued_at IS NOT NULL, next_attempt_at <= now() FROM external_events WHERE id = $1",
    )
    .bind(dead)
    .fetch_one(&fleet.admin)
    .await
    .expect("row");
    assert_eq!((state.as_str(), attempts, enqueued, due_now), ("pending", 0, false, true));

    let audit = audit_rows(&fleet, dead).await;
    assert_eq!(audit.len(), 1);
    let row = &audit[0];
    assert_eq!(
        (row.actor.as_str(), row.action.as_str(), row.subject_type.as_str()),
        ("operator:ada", "job.retried", "external_event")
    );
    assert_eq!(row.merchant_id, Some(fleet.shop.merchant));
    assert_eq!(row.before, Some(serde_json::json!({ "state": "dead", "attempts": 5 })));
    assert_eq!(row.after, Some(serde_json::json!({ "state": "pending", "attempts": 0 })));

    let error = apply(&fleet.pool, dead, JobAction::Retry, "ada").await.expect_err("pending now");
    assert!(matches!(error, ActionError::NotApplicable { state: JobState::Pending, .. }), "{error}");
    assert!(error.to_string().contains("a job that is pending"), "{error}");
    assert_eq!(audit_rows(&fleet, dead).await.len(), 1, "a refusal changes and records nothing");
}

#[tokio::test]
async fn cancel_and_requeue_follow_their_state_rules_on_both_tables() {
    let fleet = Fleet::new().await;
    let scheduled = fleet.task(NewTask { due_at: ago(-3600), ..NewTask::default() }).await;
    let outcome = apply(&fleet.pool, scheduled, JobAction::Cancel, "operator:grace").await.expect("cancelled");
    assert_eq!((outcome.before, outcome.after), (JobState::Scheduled, JobState::Cancelled));
    let reason: Option<String> = sqlx::query_scalar("SELECT cancel_reason FROM scheduled_tasks WHERE id = $1")
        .bind(scheduled)
        .fetch_one(&fleet.admin)
        .await
        .expect("reason");
    assert_eq!(reason.as_deref(), Some("cancelled by operator:grace"));

    let pending_event = fleet.event(NewEvent::default()).await;
    apply(&fleet.pool, pending_event, JobAction::Cancel, "grace").await.expect("an event is cancelled too");
    assert_eq!(fleet.state_of("external_events", pending_event).await, "cancelled");

    let requeued = apply(&fleet.pool, scheduled, JobAction::Requeue, "grace").await.expect("requeued");
    assert_eq!((requeued.before, requeued.after), (JobState::Cancelled, JobState::Pending));
    let (attempts, finished, reason): (i32, bool, Option<String>) =
        sqlx::query_as("SELECT attempts, finished_at IS NOT NULL, cancel_reason FROM scheduled_tasks WHERE id = $1")
            .bind(scheduled)
            .fetch_one(&fleet.admin)
            .await
            .expect("row");
    assert_eq!((attempts, finished, reason), (0, false, None));

    let done = fleet.task(NewTask { kind: "answer", state: "done", attempts: 1, ..NewTask::default() }).await;
    let error = apply(&fleet.pool, done, JobAction::Cancel, "grace").await.expect_err("done is final");
    assert_eq!(
        error.to_string(),
        "cannot cancel a job that is done: cancel applies to pending, scheduled, retrying, dead jobs"
    );
    let error = apply(&fleet.pool, done, JobAction::Retry, "grace").await.expect_err("nothing to retry");
    assert!(error.to_string().contains("that is done"), "{error}");
    apply(&fleet.pool, done, JobAction::Requeue, "grace").await.expect("a finished job runs again");
    let error = apply(&fleet.pool, done, JobAction::Requeue, "grace").await.expect_err("already pending");
    assert!(error.to_string().contains("that is pending"), "{error}");

    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log WHERE subject_id = $1 ORDER BY id")
        .bind(done.to_string())
        .fetch_all(&fleet.admin)
        .await
        .expect("audit");
    assert_eq!(actions, vec!["job.requeued"]);
    let missing = Uuid::now_v7();
    assert!(
        matches!(apply(&fleet.pool, missing, JobAction::Retry, "grace").await, Err(ActionError::NotFound(id)) if id == missing)
    );
}

#[tokio::test]
async fn a_job_a_worker_holds_answers_busy_at_once() {
    let fleet = Fleet::new().await;
    let job = fleet.event(NewEvent { state: "dead", ..NewEvent::default() }).await;
    let mut worker = fleet.admin.begin().await.expect("worker transaction");
    sqlx::query("SELECT 1 FROM external_events WHERE id = $1 FOR UPDATE")
        .bind(job)
        .execute(&mut *worker)
        .await
        .expect("claimed");

    let started = Instant::now();
    let error = apply(&fleet.pool, job, JobAction::Retry, "ada").await.expect_err("held by a worker");
    assert!(matches!(error, ActionError::Busy(id) if id == job), "{error}");
    assert!(error.to_string().contains("busy"));
    assert!(started.elapsed() < Duration::from_secs(2), "not waited for: {:?}", started.elapsed());

    worker.rollback().await.expect("released");
    apply(&fleet.pool, job, JobAction::Retry, "ada").await.expect("free again");
}

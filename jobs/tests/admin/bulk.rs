use recete_jobs::admin::bulk::{self, BulkError, BulkState};
use recete_jobs::admin::{JobAction, JobFilter, JobState};

use crate::fleet::{Fleet, NewTask, ago};

async fn count_in_state(fleet: &Fleet, merchant: uuid::Uuid, state: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM external_events WHERE merchant_id = $1 AND state = $2")
        .bind(merchant)
        .bind(state)
        .fetch_one(&fleet.admin)
        .await
        .expect("count")
}

#[tokio::test]
async fn a_bulk_retry_works_in_batches_resumes_after_a_stop_and_touches_only_its_filter() {
    let fleet = Fleet::new().await;
    let other = fleet.another_shop("Untouched Shop").await;
    fleet.many_events(fleet.shop, 2_500, "dead", ago(0)).await;
    fleet.many_events(fleet.shop, 40, "processed", ago(0)).await;
    fleet.many_events(other, 30, "dead", ago(0)).await;
    let filter = JobFilter { merchant: Some(fleet.shop.merchant), state: Some(JobState::Dead), ..JobFilter::default() };

    let count = bulk::count_matching(&fleet.pool, &filter, JobAction::Retry).await.expect("count");
    assert_eq!(count, 2_500);
    let error = bulk::start(&fleet.pool, &filter, JobAction::Retry, "ada", 2_400).await.expect_err("stale count");
    assert!(matches!(error, BulkError::CountChanged { confirmed: 2_400, current: 2_500, .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("2500") && message.contains("2400"), "{message}");
    assert!(bulk::recent(&fleet.pool, 10).await.expect("recent").is_empty(), "a refused start records nothing");

    let id = bulk::start(&fleet.pool, &filter, JobAction::Retry, "ada", count).await.expect("started");
    let first = bulk::run_batch(&fleet.pool, id, 500).await.expect("one batch");
    assert_eq!((first.processed, first.changed, first.state), (500, 500, BulkState::Running));
    assert_eq!(bulk::progress(&fleet.pool, id).await.expect("read").expect("found").processed, 500);
    assert_eq!(count_in_state(&fleet, fleet.shop.merchant, "pending").await, 500);
    let second = bulk::run_batch(&fleet.pool, id, 500).await.expect("another batch");
    assert_eq!(second.processed, 1_000);
    assert!((second.percent() - 40.0).abs() < f64::EPSILON);

    // The process stops here; the next start resumes what was left running.
    let resumed = bulk::resume_unfinished(&fleet.pool, 500).await.expect("resumed");
    assert_eq!(resumed.len(), 1);
    let done = &resumed[0];
    assert_eq!((done.processed, done.changed, done.state), (2_500, 2_500, BulkState::Done));
    assert!(done.finished_at.is_some());
    assert_eq!(done.requested_by, "operator:ada");
    assert_eq!(done.filter, filter);

    assert_eq!(count_in_state(&fleet, fleet.shop.merchant, "pending").await, 2_500);
    assert_eq!(count_in_state(&fleet, fleet.shop.merchant, "processed").await, 40, "other states untouched");
    assert_eq!(count_in_state(&fleet, other.merchant, "dead").await, 30, "other merchants untouched");
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'job.retried' AND actor = 'operator:ada' AND after->>'bulk_action' = $1",
    )
    .bind(id.to_string())
    .fetch_one(&fleet.admin)
    .await
    .expect("audit count");
    assert_eq!(audited, 2_500);
    let started: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'jobs.bulk_started' AND subject_id = $1")
            .bind(id.to_string())
            .fetch_one(&fleet.admin)
            .await
            .expect("start audit");
    assert_eq!(started, 1);

    let again = bulk::run(&fleet.pool, id, 500).await.expect("a finished action stays finished");
    assert_eq!((again.processed, again.state), (2_500, BulkState::Done));
    let error = bulk::start(&fleet.pool, &filter, JobAction::Retry, "ada", 0).await.expect_err("nothing left");
    assert!(matches!(error, BulkError::NothingToDo { .. }), "{error}");
}

#[tokio::test]
async fn a_bulk_cancel_spans_both_tables_and_leaves_newer_jobs_alone() {
    let fleet = Fleet::new().await;
    fleet.many_events(fleet.shop, 7, "pending", ago(100)).await;
    for n in 0..5 {
        fleet.task(NewTask { created_at: ago(200 + n), ..NewTask::default() }).await;
    }
    fleet.task(NewTask { state: "done", created_at: ago(300), ..NewTask::default() }).await;
    let filter = JobFilter { merchant: Some(fleet.shop.merchant), ..JobFilter::default() };
    let count = bulk::count_matching(&fleet.pool, &filter, JobAction::Cancel).await.expect("count");
    assert_eq!(count, 12, "the done task cannot be cancelled");
    let id = bulk::start(&fleet.pool, &filter, JobAction::Cancel, "grace", count).await.expect("started");
    let late = fleet.task(NewTask::default()).await;

    let progress = bulk::run(&fleet.pool, id, 3).await.expect("ran");
    assert_eq!((progress.processed, progress.state), (12, BulkState::Done));
    let cancelled: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM external_events WHERE state = 'cancelled' AND cancel_reason LIKE 'cancelled by operator:grace%')
              + (SELECT count(*) FROM scheduled_tasks WHERE state = 'cancelled' AND cancel_reason LIKE 'cancelled by operator:grace%')",
    )
    .fetch_one(&fleet.admin)
    .await
    .expect("count");
    assert_eq!(cancelled, 12);
    assert_eq!(fleet.state_of("scheduled_tasks", late).await, "pending", "created after the confirmation");

    let error = bulk::run_batch(&fleet.pool, id, 0).await.expect_err("no batch of nothing");
    assert!(error.to_string().starts_with("batch_size:"), "{error}");
}

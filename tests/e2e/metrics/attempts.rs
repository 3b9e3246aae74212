//! Every attempt of a job is kept with its worker, timing and error, and counted on `/metrics`.

use chrono::{DateTime, Utc};
use recete_shared::integrations::IntegrationKind;

use super::RecordedProcess;
use crate::helpers::spawn_app;

#[derive(Debug, sqlx::FromRow)]
struct AttemptRow {
    job_table: String,
    queue: String,
    attempt: i32,
    worker: String,
    due_at: DateTime<Utc>,
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
    outcome: String,
    error: Option<String>,
}

#[tokio::test]
async fn a_job_that_fails_twice_then_succeeds_leaves_three_attempts_and_moves_the_counters() {
    let app = spawn_app().await;
    let (merchant, integration) = app.merchant_with(IntegrationKind::Generic).await;
    recete_testkit::orders::store_new_orders(&app.pool, app.keyring.clone(), merchant, integration.integration_id, 1)
        .await
        .expect("the event is stored");
    let (event_id, key_id): (uuid::Uuid, String) =
        sqlx::query_as("SELECT id, key_id FROM external_events").fetch_one(&app.admin).await.expect("the event");
    // A key id nobody has: opening the event fails until the real one is put back, which the
    // database does itself as the second failed attempt is recorded (no race with the retry), as
    // the superuser that owns the function, whom row-level security does not hide rows from.
    sqlx::query("UPDATE external_events SET key_id = 'lost-key'").execute(&app.admin).await.expect("break it");
    sqlx::raw_sql(&format!(
        "CREATE FUNCTION mend_after_second_attempt() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
         BEGIN
             UPDATE external_events SET key_id = '{key_id}' WHERE id = NEW.job_id;
             RETURN NEW;
         END $$;
         CREATE TRIGGER mend_after_second_attempt AFTER INSERT ON job_attempts
             FOR EACH ROW WHEN (NEW.attempt = 2) EXECUTE FUNCTION mend_after_second_attempt();"
    ))
    .execute(&app.admin)
    .await
    .expect("the mending trigger");

    // Retries a second, then two seconds, later: time to mend the row after the second failure.
    let worker = RecordedProcess::worker(
        &app,
        "order-events",
        &[("RECETE__POOLS__ORDER_EVENTS__BACKOFF_BASE_MS", "1000"), ("RECETE__POOLS__ORDER_EVENTS__MAX_ATTEMPTS", "5")],
    )
    .await;
    app.wait_for_count("SELECT count(*) FROM external_events WHERE state = 'processed'", 1, 60).await;
    // The attempt is recorded just after the job's own commit.
    app.wait_for_count("SELECT count(*) FROM job_attempts", 3, 10).await;

    let attempts: Vec<AttemptRow> = sqlx::query_as(
        "SELECT job_table, queue, attempt, worker, due_at, started_at, finished_at, outcome, error
         FROM job_attempts WHERE job_id = $1 ORDER BY attempt",
    )
    .bind(event_id)
    .fetch_all(&app.admin)
    .await
    .expect("attempts");
    let summary: Vec<(i32, &str)> = attempts.iter().map(|a| (a.attempt, a.outcome.as_str())).collect();
    assert_eq!(summary, [(1, "failed"), (2, "failed"), (3, "succeeded")], "{attempts:#?}");
    for attempt in &attempts {
        assert_eq!((attempt.job_table.as_str(), attempt.queue.as_str()), ("external_events", "order-events"));
        assert!(attempt.worker.starts_with("order-events@"), "{}", attempt.worker);
        assert!(attempt.finished_at >= attempt.started_at, "{attempt:?}");
        // Handed over only once due; a millisecond of slack for the two clocks' rounding.
        assert!(attempt.started_at >= attempt.due_at - chrono::TimeDelta::milliseconds(1), "{attempt:?}");
    }
    for failed in &attempts[..2] {
        let error = failed.error.as_deref().unwrap_or_default();
        assert!(error.contains("lost-key"), "the failure names its cause: {error}");
    }
    assert_eq!(attempts[2].error, None);
    // Each retry was due after the failure before it, by the backoff.
    for pair in attempts.windows(2) {
        let wait = pair[1].due_at - pair[0].finished_at;
        assert!(wait >= chrono::TimeDelta::milliseconds(700), "backoff of {wait} between {pair:?}");
    }

    let order_events = [("queue", "order-events")];
    let metrics = worker
        .metrics_when(&app.client, "counted three runs", |metrics| {
            metrics.value("recete_job_run_seconds_count", &order_events) == Some(3.0)
        })
        .await;
    let executions = |outcome: &str| {
        metrics.value("recete_job_executions_total", &[("queue", "order-events"), ("outcome", outcome)])
    };
    assert_eq!((executions("failed"), executions("succeeded"), executions("dead")), (Some(2.0), Some(1.0), None));
    assert_eq!(metrics.value("recete_job_wait_seconds_count", &order_events), Some(3.0));
    let handed_over =
        metrics.value("recete_jobs_enqueued_total", &[("queue", "order-events"), ("schedule", "immediate")]);
    assert!(handed_over.is_some_and(|count| count >= 3.0), "three hand-overs at least: {handed_over:?}");
}

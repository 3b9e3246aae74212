//! Retrying every matching dead job: the confirmation page's exact count, a stale count refused,
//! the work done in batches on the server, only the matching jobs changed, and an action left
//! running by a stopped process finished at the next start.

use std::time::{Duration, Instant};

use recete_jobs::admin::bulk::{self, BulkState};
use recete_jobs::admin::{JobAction, JobFilter, JobState};
use recete_ops::operators::Role;
use reqwest::StatusCode;

use super::{location, signed_in, start_board};
use crate::helpers::spawn_app_with;

#[tokio::test]
async fn retrying_all_matching_dead_jobs_goes_through_a_confirmed_count_and_batches() {
    let app = spawn_app_with(|figment| figment.merge(("ops.bulk_batch_size", 5))).await;
    let board = start_board(app).await;
    let session = signed_in(&board, "ops", Role::Operator).await;
    let (merchant, targets) = board.dead_jobs(12).await;
    let (_, bystanders) = board.dead_jobs(2).await;
    let query = format!("state=dead&merchant={merchant}");

    let list = board.get_html(&session, &format!("/ops/jobs?{query}")).await;
    assert!(
        list.contains(&format!("/ops/bulk/confirm?action=retry&amp;{}", query.replace('&', "&amp;"))),
        "the list offers it"
    );

    let confirm = board.get_html(&session, &format!("/ops/bulk/confirm?action=retry&{query}")).await;
    assert!(confirm.contains(r#"<p class="count" id="bulk-count">12 jobs</p>"#), "the exact count to confirm");

    let stale = board.post(&session, "/ops/bulk", &[("action", "retry"), ("filter", &query), ("count", "11")]).await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    assert!(stale.text().await.expect("page").contains("now matches 12 jobs to retry, not the 11 you confirmed"));
    assert_eq!(board.app.count("SELECT count(*) FROM ops_bulk_actions").await, 0);

    let started = board.post(&session, "/ops/bulk", &[("action", "retry"), ("filter", &query), ("count", "12")]).await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let page_path = location(&started);
    assert!(board.get_html(&session, &page_path).await.contains("bulk-progress"));

    let deadline = Instant::now() + Duration::from_secs(30);
    let progress = loop {
        let progress: serde_json::Value =
            board.get(&session, &format!("{page_path}/progress")).await.json().await.expect("progress json");
        if progress["state"] != "running" {
            break progress;
        }
        assert!(Instant::now() < deadline, "the bulk action finishes: {progress}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        (&progress["state"], &progress["processed"], &progress["changed"]),
        (&"done".into(), &12.into(), &12.into())
    );
    for id in &targets {
        assert_eq!(board.job_state(*id).await, "pending");
    }
    for id in &bystanders {
        assert_eq!(board.job_state(*id).await, "dead", "jobs outside the filter are untouched");
    }
    assert_eq!(
        board.audited("jobs.bulk_started").await.first().map(|(actor, _)| actor.clone()),
        Some("operator:ops".into())
    );
    assert!(board.get_html(&session, "/ops/bulk").await.contains(&page_path), "listed among bulk actions");

    let nothing_left = board.get_html(&session, &format!("/ops/bulk/confirm?action=retry&{query}")).await;
    assert!(nothing_left.contains("nothing to do"));
    let unfiltered = board.get(&session, "/ops/bulk/confirm?action=retry").await;
    assert_eq!(unfiltered.status(), StatusCode::BAD_REQUEST, "a bulk action needs a filter");
    let requeue = board.get(&session, &format!("/ops/bulk/confirm?action=requeue&{query}")).await;
    assert_eq!(requeue.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_bulk_action_left_running_by_a_stopped_process_is_finished_when_the_board_starts() {
    let app = crate::helpers::spawn_app().await;
    let pool = app.pool.clone();
    let (merchant, integration) = app.merchant_with(recete_shared::integrations::IntegrationKind::Generic).await;
    recete_testkit::orders::store_new_orders(&pool, app.keyring.clone(), merchant, integration.integration_id, 7)
        .await
        .expect("events stored");
    sqlx::query("UPDATE external_events SET state = 'dead'").execute(&app.admin).await.expect("dead-lettered");
    let filter = JobFilter { state: Some(JobState::Dead), ..JobFilter::default() };
    // Recorded, as a process stopped right after the confirmation would leave it: never run.
    let id = bulk::start(&pool, &filter, JobAction::Retry, "operator:ops", 7).await.expect("bulk action recorded");

    let board = start_board(app).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let progress = bulk::progress(&board.app.pool, id).await.expect("readable").expect("exists");
        if progress.state == BulkState::Done {
            assert_eq!((progress.processed, progress.changed), (7, 7));
            break;
        }
        assert!(Instant::now() < deadline, "resumed and finished: {progress:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(board.app.count("SELECT count(*) FROM external_events WHERE state = 'pending'").await, 7);
}

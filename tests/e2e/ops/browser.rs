//! The board in a real browser: Debian's chromium driven by playwright-core signs in, takes
//! screenshots into target/screenshots, clicks "Retry now" on a dead job and retries the rest in
//! bulk through the confirmation page.

use std::time::Duration;

use recete_ops::operators::Role;

use super::spawn_board;

#[tokio::test]
async fn an_operator_signs_in_and_retries_a_dead_job_in_a_real_browser() {
    crate::browser::assert_installed();

    let board = spawn_board().await;
    let token = board.operator("ada", Role::Operator).await;
    let (_, dead) = board.dead_jobs(4).await;
    let job = dead[0];
    sqlx::query(
        "INSERT INTO job_attempts (job_id, job_table, queue, attempt, worker, due_at, started_at, finished_at, outcome, error)
         SELECT $1, 'external_events', 'order-events', n, 'order-events-web-1-' || n,
                now() - make_interval(mins => 10 - n), now() - make_interval(mins => 10 - n) + interval '40 ms',
                now() - make_interval(mins => 10 - n) + interval '1.2 s',
                CASE WHEN n = 3 THEN 'dead' ELSE 'failed' END, 'the store answered 502 Bad Gateway'
         FROM generate_series(1, 3) AS n",
    )
    .bind(job)
    .execute(&board.app.admin)
    .await
    .expect("attempts recorded");
    // Something to see on the queue list: work waiting, and a paused queue.
    sqlx::query("UPDATE external_events SET state = 'pending' WHERE id = $1")
        .bind(dead[3])
        .execute(&board.app.admin)
        .await
        .expect("pending");
    sqlx::query(
        "INSERT INTO queue_pauses (queue, paused_by, reason) VALUES ('imports', 'operator:ada', 'supplier outage')",
    )
    .execute(&board.app.admin)
    .await
    .expect("paused");

    crate::browser::run(
        "ops.mjs",
        &[("BOARD_URL", board.address.clone()), ("BOARD_TOKEN", token), ("JOB_ID", job.to_string())],
        Duration::from_secs(180),
    )
    .await;
    crate::browser::assert_screenshots(&[
        "queues.png",
        "jobs.png",
        "job.png",
        "job-retried.png",
        "bulk-confirm.png",
        "bulk-progress.png",
        "schedules.png",
    ]);
    assert_eq!(board.job_state(job).await, "pending", "the click retried the job");
    assert!(board.audited("job.retried").await.contains(&("operator:ada".to_owned(), Some(job.to_string()))));
    for id in &dead[1..3] {
        assert_eq!(board.job_state(*id).await, "pending", "the bulk retry reached every other dead job");
    }
    assert_eq!(board.app.count("SELECT count(*) FROM external_events WHERE state = 'dead'").await, 0);
}

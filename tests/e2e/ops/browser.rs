//! The board in a real browser: Debian's chromium driven by playwright-core signs in, takes
//! screenshots into target/screenshots, clicks "Retry now" on a dead job and retries the rest in
//! bulk through the confirmation page.

use std::path::Path;
use std::time::Duration;

use recete_ops::operators::Role;

use super::spawn_board;

const CHROMIUM: &str = "/usr/bin/chromium";
const MODULES: &str = "target/tools/browser/node_modules";

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("recete-board-browser-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}

fn repo(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn an_operator_signs_in_and_retries_a_dead_job_in_a_real_browser() {
    assert!(Path::new(CHROMIUM).exists(), "{CHROMIUM} is missing: run make tools");
    assert!(
        Path::new(&repo(MODULES)).join("playwright-core").exists(),
        "playwright-core is missing in {MODULES}: run make tools"
    );

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

    let screenshots = repo("target/screenshots");
    let log_dir = tempdir();
    let (stdout, stderr) = (log_dir.join("stdout.log"), log_dir.join("stderr.log"));
    let mut child = std::process::Command::new("node")
        .arg(repo("tests/browser/ops.mjs"))
        .env("BOARD_URL", &board.address)
        .env("BOARD_TOKEN", &token)
        .env("JOB_ID", job.to_string())
        .env("SCREENSHOT_DIR", &screenshots)
        .env("BROWSER_MODULES", repo(MODULES))
        .env("CHROMIUM", CHROMIUM)
        .stdout(std::fs::File::create(&stdout).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("node runs (Debian's nodejs package)");
    // The board is served by this test's runtime, so the wait must not block it.
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().expect("the browser run can be waited on") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the browser run did not end within 180 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    assert!(status.success(), "the browser run failed:\n{}\n{}", read(&stdout), read(&stderr));
    for shot in [
        "queues.png",
        "jobs.png",
        "job.png",
        "job-retried.png",
        "bulk-confirm.png",
        "bulk-progress.png",
        "schedules.png",
    ] {
        let size = std::fs::metadata(format!("{screenshots}/{shot}")).map(|m| m.len()).unwrap_or(0);
        assert!(size > 10_000, "{shot} was taken ({size} bytes)");
    }
    assert_eq!(board.job_state(job).await, "pending", "the click retried the job");
    assert!(board.audited("job.retried").await.contains(&("operator:ada".to_owned(), Some(job.to_string()))));
    for id in &dead[1..3] {
        assert_eq!(board.job_state(*id).await, "pending", "the bulk retry reached every other dead job");
    }
    assert_eq!(board.app.count("SELECT count(*) FROM external_events WHERE state = 'dead'").await, 0);
}

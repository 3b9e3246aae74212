use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use recete_platform::db;
use recete_platform::ids::MerchantId;
use recete_shared::api_key_expiry::{self, ExpiryReport};
use recete_shared::api_keys;
use recete_shared::periodic::{self, PeriodicJob, Run};
use serde_json::json;
use tokio::sync::Barrier;

use super::shop;
use crate::helpers::{TestApp, assert_problem, spawn_app};

async fn key(app: &TestApp, merchant: MerchantId, name: &str, expires_at: DateTime<Utc>) -> (uuid::Uuid, String) {
    let mut tx = db::tenant_tx(&app.pool, merchant).await.expect("tx");
    let (id, plaintext) = api_keys::insert(&mut tx, merchant, name, Some(expires_at)).await.expect("key");
    tx.commit().await.expect("commit");
    (id.as_uuid(), plaintext)
}

/// Two worker replicas ticking at the same moment, each with its own connections.
async fn two_replicas_tick(app: &TestApp, now: DateTime<Utc>) -> Vec<Run<ExpiryReport>> {
    let barrier = Arc::new(Barrier::new(2));
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let pool = app.db.app_pool().await.expect("replica pool");
        let barrier = barrier.clone();
        replicas.push(tokio::spawn(async move {
            barrier.wait().await;
            api_key_expiry::run_daily(&pool, now).await.expect("bookkeeping")
        }));
    }
    let mut runs = Vec::new();
    for replica in replicas {
        runs.push(replica.await.expect("replica joins"));
    }
    runs
}

fn done(runs: &[Run<ExpiryReport>]) -> Vec<ExpiryReport> {
    runs.iter()
        .filter_map(|run| match run {
            Run::Done(report) => Some(*report),
            Run::Skipped => None,
            Run::Failed(error) => panic!("expiry failed: {error:#}"),
        })
        .collect()
}

#[tokio::test]
async fn the_daily_expiry_runs_once_a_day_across_replicas_and_records_each_lapsed_key_once() {
    let app = spawn_app().await;
    let glow = shop(&app, "Glow Store", "Europe/Istanbul").await;
    let other = shop(&app, "Other Store", "UTC").await;
    let now = Utc::now();
    let (lapsed_hour, lapsed_hour_key) =
        key(&app, glow.merchant, "lapsed an hour ago", now - chrono::Duration::hours(1)).await;
    let (lapsed_week, _) = key(&app, glow.merchant, "lapsed a week ago", now - chrono::Duration::days(7)).await;
    let (lapsed_other, _) = key(&app, other.merchant, "other shop's", now - chrono::Duration::minutes(5)).await;
    let (future, future_key) = key(&app, glow.merchant, "valid for a month", now + chrono::Duration::days(30)).await;
    let (revoked, _) = key(&app, glow.merchant, "revoked, then lapsed", now - chrono::Duration::hours(2)).await;
    sqlx::query("UPDATE api_keys SET revoked_at = now() - interval '3 hours' WHERE id = $1")
        .bind(revoked)
        .execute(&app.admin)
        .await
        .expect("revoke");

    // Two replicas tick at once: one runs the day's expiry, the other skips it.
    let runs = two_replicas_tick(&app, now).await;
    assert_eq!(done(&runs), vec![ExpiryReport { expired: 3 }], "exactly one replica ran today's expiry");
    // Later the same day, both tick again: nothing runs.
    let later_today = two_replicas_tick(&app, now).await;
    assert!(done(&later_today).is_empty());

    let stamped: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT id FROM api_keys WHERE expired_at IS NOT NULL ORDER BY id")
            .fetch_all(&app.admin)
            .await
            .expect("stamped");
    let mut expected = vec![lapsed_hour, lapsed_week, lapsed_other];
    expected.sort();
    assert_eq!(stamped, expected, "the future, revoked and never-expiring keys are untouched");
    let audited: Vec<(String, uuid::Uuid, String)> = sqlx::query_as(
        "SELECT subject_id, merchant_id, actor FROM audit_log WHERE action = 'api_key.expired' ORDER BY subject_id",
    )
    .fetch_all(&app.admin)
    .await
    .expect("audit");
    assert_eq!(audited.len(), 3, "one audit row per key");
    for (subject, merchant, actor) in &audited {
        let owner: uuid::Uuid = sqlx::query_scalar("SELECT merchant_id FROM api_keys WHERE id = $1::uuid")
            .bind(subject)
            .fetch_one(&app.admin)
            .await
            .expect("owner");
        assert_eq!((merchant, actor.as_str()), (&owner, "worker:api-key-expiry"));
    }
    let run: (String, i32, serde_json::Value) = sqlx::query_as(
        "SELECT state, attempts, outcome FROM periodic_runs WHERE job = 'api_key_expiry' AND period_key = $1",
    )
    .bind(periodic::daily_period(now))
    .fetch_one(&app.admin)
    .await
    .expect("run row");
    assert_eq!(run, ("succeeded".to_owned(), 1, json!({"expired": 3})));

    // The next day runs again and finds nothing left to record.
    let tomorrow = two_replicas_tick(&app, now + chrono::Duration::days(1)).await;
    assert_eq!(done(&tomorrow), vec![ExpiryReport { expired: 0 }]);
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE action = 'api_key.expired'").await, 3);

    // Authentication agrees: the lapsed key is refused, the future one works.
    let refused = app.client.get(app.url("/api/customers")).bearer_auth(&lapsed_hour_key).send().await.expect("sent");
    assert_problem(refused, 401).await;
    let accepted = app.client.get(app.url("/api/customers")).bearer_auth(&future_key).send().await.expect("sent");
    assert_eq!(accepted.status(), 200);
    let future_row: (Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT expired_at, revoked_at FROM api_keys WHERE id = $1")
            .bind(future)
            .fetch_one(&app.admin)
            .await
            .expect("future key");
    assert_eq!(future_row, (None, None));

    // Every replica reports when the fleet last ran the job, with help text.
    let metrics = app.metrics_text().await;
    assert!(metrics.contains("# HELP recete_periodic_job_last_success_timestamp_seconds"), "{metrics}");
    let reported = metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix("recete_periodic_job_last_success_timestamp_seconds{job=\"api_key_expiry\"} ")
        })
        .and_then(|value| value.trim().parse::<f64>().ok())
        .expect("the gauge of the expiry job");
    assert!(reported >= (now.timestamp() - 1) as f64, "{reported} against {now}");
}

const FLAKY: PeriodicJob = PeriodicJob {
    name: "test_flaky",
    lease: Duration::from_secs(60),
    max_attempts: 2,
    retry_base: Duration::from_secs(30),
    retention: Duration::from_secs(86_400),
};

async fn attempt(app: &TestApp, period: &str, succeed: bool) -> Run<u32> {
    periodic::run_once(&app.pool, &FLAKY, period, || async move {
        if succeed { Ok(7) } else { Err(anyhow::anyhow!("the store's API timed out")) }
    })
    .await
    .expect("bookkeeping")
}

async fn run_row(app: &TestApp, period: &str) -> (String, i32, Option<String>) {
    sqlx::query_as("SELECT state, attempts, error FROM periodic_runs WHERE job = $1 AND period_key = $2")
        .bind(FLAKY.name)
        .bind(period)
        .fetch_one(&app.admin)
        .await
        .expect("run row")
}

#[tokio::test]
async fn a_failed_or_abandoned_run_is_claimed_again_after_its_pause_up_to_the_attempt_limit() {
    let app = spawn_app().await;

    // A failure is recorded with its reason and waits for its retry time.
    assert!(matches!(attempt(&app, "p1", false).await, Run::Failed(_)));
    assert_eq!(run_row(&app, "p1").await, ("failed".into(), 1, Some("the store's API timed out".into())));
    let pause: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM retry_at - finished_at)::float8 FROM periodic_runs WHERE period_key = 'p1'",
    )
    .fetch_one(&app.admin)
    .await
    .expect("pause");
    assert!((pause - 30.0).abs() < 1.0, "{pause}");
    assert!(matches!(attempt(&app, "p1", true).await, Run::Skipped), "not before the retry time");
    sqlx::query("UPDATE periodic_runs SET retry_at = now() - interval '1 second' WHERE period_key = 'p1'")
        .execute(&app.admin)
        .await
        .expect("pause over");
    assert!(matches!(attempt(&app, "p1", true).await, Run::Done(7)));
    assert_eq!(run_row(&app, "p1").await, ("succeeded".into(), 2, None));
    assert!(matches!(attempt(&app, "p1", true).await, Run::Skipped), "a succeeded period is done");

    // A replica that died mid-run: its claim is taken over once the lease lapses, not before.
    sqlx::query(
        "INSERT INTO periodic_runs (job, period_key, state, attempts, started_at, lease_expires_at)
         VALUES ($1, 'p2', 'running', 1, now() - interval '2 minutes', now() + interval '1 minute')",
    )
    .bind(FLAKY.name)
    .execute(&app.admin)
    .await
    .expect("running elsewhere");
    assert!(matches!(attempt(&app, "p2", true).await, Run::Skipped), "the lease still holds");
    sqlx::query("UPDATE periodic_runs SET lease_expires_at = now() - interval '1 second' WHERE period_key = 'p2'")
        .execute(&app.admin)
        .await
        .expect("lease lapsed");
    assert!(matches!(attempt(&app, "p2", true).await, Run::Done(7)));
    assert_eq!(run_row(&app, "p2").await, ("succeeded".into(), 2, None));

    // Failures stop at the attempt limit, whatever the retry time says.
    for _ in 0..2 {
        assert!(matches!(attempt(&app, "p3", false).await, Run::Failed(_)));
        sqlx::query("UPDATE periodic_runs SET retry_at = now() - interval '1 second' WHERE period_key = 'p3'")
            .execute(&app.admin)
            .await
            .expect("pause over");
    }
    assert!(matches!(attempt(&app, "p3", true).await, Run::Skipped));
    assert_eq!(run_row(&app, "p3").await.1, 2);
    let last = periodic::last_success(&app.pool, FLAKY.name).await.expect("last success").expect("some");
    assert!(last.succeeded_at >= last.started_at);
}

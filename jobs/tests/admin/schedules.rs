use std::time::Duration;

use chrono::{TimeDelta, Utc};
use recete_jobs::admin::schedules::{schedules, schedules_with_tick};
use recete_shared::api_key_expiry;
use recete_shared::periodic::{self, ANALYTICS_ROLLUP, Run};

use crate::fleet::Fleet;

#[tokio::test]
async fn every_fleet_job_is_listed_with_its_last_runs_and_lateness() {
    let fleet = Fleet::new().await;
    let before_any = schedules(&fleet.pool).await.expect("schedules");
    assert_eq!(
        before_any.iter().map(|s| s.job.as_str()).collect::<Vec<_>>(),
        vec!["analytics_rollup", "api_key_expiry"]
    );
    assert!(before_any.iter().all(|s| s.last_run_at.is_none() && s.lateness_secs.is_none()));

    // Yesterday's expiry ran; today's has not yet, so it is late by the time since midnight.
    let yesterday = Utc::now() - TimeDelta::days(1);
    let ran = periodic::run_once(&fleet.pool, &api_key_expiry::JOB, &periodic::daily_period(yesterday), || async {
        Ok(serde_json::json!({ "expired": 2 }))
    })
    .await
    .expect("bookkeeping");
    assert!(matches!(ran, Run::Done(_)));
    // The rollup failed this tick and waits for its retry.
    let tick = Duration::from_secs(300);
    let failed =
        periodic::run_once(&fleet.pool, &ANALYTICS_ROLLUP, &periodic::tick_period(Utc::now(), tick), || async {
            anyhow::Result::<()>::Err(anyhow::anyhow!("statement timeout"))
        })
        .await
        .expect("bookkeeping");
    assert!(matches!(failed, Run::Failed(_)));

    let views = schedules_with_tick(&fleet.pool, tick).await.expect("schedules");
    let expiry = views.iter().find(|s| s.job == "api_key_expiry").expect("listed");
    assert_eq!(expiry.every, "daily (UTC)");
    assert_eq!(expiry.last_state.as_deref(), Some("succeeded"));
    assert_eq!(expiry.last_outcome, Some(serde_json::json!({ "expired": 2 })));
    let midnight = Utc::now().date_naive().and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    assert_eq!(expiry.next_run_at, Some(midnight));
    let late = expiry.lateness_secs.expect("late");
    let since_midnight = (Utc::now() - midnight).num_seconds() as f64;
    assert!((late - since_midnight).abs() < 5.0, "{late} vs {since_midnight}");

    let rollup = views.iter().find(|s| s.job == "analytics_rollup").expect("listed");
    assert_eq!(rollup.every, "every 300 s");
    assert_eq!((rollup.last_state.as_deref(), rollup.attempts), (Some("failed"), Some(1)));
    assert_eq!(rollup.last_error.as_deref(), Some("statement timeout"));
    assert!(rollup.last_success_at.is_none());
    let next = rollup.next_run_at.expect("a retry is due");
    assert!(next > Utc::now() && next <= Utc::now() + TimeDelta::seconds(31), "retried after its base pause: {next}");
    assert_eq!(rollup.lateness_secs, Some(0.0));
}

//! SIGTERM to a `recete all` process in the middle of a burst, with webhooks still arriving and
//! one job stuck on a row lock: readiness fails at once, the workers stop fetching, the stuck
//! job is released at the end of the grace, the process exits 0, every acknowledged webhook is
//! on disk, and the next process picks the released job up at once and finishes everything.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::report::Tally;
use crate::stack::{Http, PROCESSED, Role, Servers, Stack, webhook_order};

pub const FAULT: &str = "SIGTERM mid-burst";
pub const EXPECTED: &str =
    "readyz 503 at once; fetching stops; running job released; exit 0 within the grace; nothing lost";

const STORED: i64 = 1_000;
const GRACE_SECS: u64 = 3;
/// Long enough that a row picked up sooner was handed back by the process releasing it, not
/// found again by the reconciler.
const RECONCILE_AFTER_SECS: u64 = 60;
/// The first order of the burst: its job is among the first handed over, so it is stuck while
/// the rest of the burst is still being worked through.
const STUCK_ORDER: &str = "order-0";
/// How soon the next process must finish the released job: well before the reconciler would
/// hand it over again.
const PICKUP_LIMIT: Duration = Duration::from_secs(20);
/// "At once", allowing for a busy machine delivering the signal.
const READINESS_LIMIT: Duration = Duration::from_secs(1);

pub async fn run(tally: Tally) -> anyhow::Result<()> {
    let stack = Stack::new("sigterm", Servers::default()).await?;
    let (merchant, integration) = stack.store_orders(STORED as usize).await?;
    let grace = GRACE_SECS.to_string();
    let reconcile = RECONCILE_AFTER_SECS.to_string();
    let settings = [
        ("RECETE__WORKER__SHUTDOWN_GRACE_SECS", grace.as_str()),
        ("RECETE__API__SHUTDOWN_GRACE_SECS", grace.as_str()),
        ("RECETE__QUEUE__RECONCILE_AFTER_SECS", reconcile.as_str()),
        // The stuck job waits on a lock through the grace; only the release may end it.
        ("RECETE__DATABASE__STATEMENT_TIMEOUT_MS", "60000"),
    ];

    // An uncommitted order with the stuck event's order id: the job applying that event waits
    // in its INSERT until this transaction ends, through the whole grace period.
    let mut blocker = stack.admin.begin().await?;
    sqlx::query("INSERT INTO orders (id, merchant_id, external_order_id, status) VALUES ($1, $2, $3, 'created')")
        .bind(uuid::Uuid::new_v4())
        .bind(merchant)
        .bind(STUCK_ORDER)
        .execute(&mut *blocker)
        .await?;
    let blocker_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut *blocker).await?;

    let mut recete = stack.recete(Role::All, &settings)?;
    recete.http.wait_ready(Duration::from_secs(60)).await?;
    stack.wait_for_count(PROCESSED, STORED / 10, Duration::from_secs(60)).await?;
    wait_until_blocked_by(&stack, blocker_pid).await?;

    // Webhooks keep arriving until the API stops answering; each 202 is a promise checked below.
    let acknowledged = Arc::new(AtomicI64::new(0));
    let sender = tokio::spawn({
        let http = recete.http.clone();
        let integration = integration.clone();
        let acknowledged = acknowledged.clone();
        async move {
            for number in 0.. {
                match http.post_generic(&integration, &webhook_order(number)).await {
                    Ok(response) if response.status().as_u16() == 202 => acknowledged.fetch_add(1, Ordering::SeqCst),
                    _ => break,
                };
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;

    let at_signal = stack.count(PROCESSED).await?;
    recete.process.signal("TERM")?;
    let signalled = Instant::now();
    // The signal is handled asynchronously: readiness going away marks the start of shutdown.
    let (readiness, noticed_in) = wait_until_not_ready(&recete.http).await;
    let draining_at: DateTime<Utc> = sqlx::query_scalar("SELECT now()").fetch_one(&stack.admin).await?;
    tally.check(
        readiness == "503" && noticed_in <= READINESS_LIMIT,
        format!("/readyz after SIGTERM: {readiness} within {:.2} s", noticed_in.as_secs_f64()),
    );

    let exit = recete.process.wait_for_exit(Duration::from_secs(GRACE_SECS + 10)).await?;
    let exited_in = signalled.elapsed();
    tally.check(
        exit.success() && exited_in <= Duration::from_secs(GRACE_SECS + 2),
        format!("{exit} {:.1} s after SIGTERM (grace {GRACE_SECS} s)", exited_in.as_secs_f64()),
    );
    sender.await?;
    let at_exit = stack.count(PROCESSED).await?;
    let events = stack.count("SELECT count(*) FROM external_events").await?;
    let started_after_signal: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM job_attempts WHERE worker LIKE '%-' || $1 || '-%' AND started_at > $2",
    )
    .bind(recete.process.id().to_string())
    .bind(draining_at)
    .fetch_one(&stack.admin)
    .await?;
    tally.check(
        started_after_signal == 0 && at_exit < events,
        format!(
            "{started_after_signal} jobs started once draining; {} finished after SIGTERM, {at_exit}/{events} at exit",
            at_exit - at_signal
        ),
    );
    check_released(&stack, &tally).await?;

    let acknowledged = acknowledged.load(Ordering::SeqCst);
    let sent_after_burst = events - STORED;
    tally.check(
        sent_after_burst >= acknowledged,
        format!("{acknowledged} webhooks acknowledged, {sent_after_burst} stored"),
    );

    blocker.rollback().await?;
    let _next = stack.recete(Role::OrderWorker, &settings)?;
    let stuck_done =
        format!("SELECT count(*) FROM external_events WHERE subject_id = '{STUCK_ORDER}' AND state = 'processed'");
    match stack.wait_for_count(&stuck_done, 1, PICKUP_LIMIT).await {
        Ok(picked_up) => {
            tally.note(format!("released job finished {:.1} s after the next process started", picked_up.as_secs_f64()))
        }
        Err(_) => tally.check(false, format!("released job not picked up within {PICKUP_LIMIT:?}")),
    }
    let finished = stack.wait_for_count(PROCESSED, events, Duration::from_secs(180)).await?;
    tally.note(format!("the next process finished the rest in {:.1} s", finished.as_secs_f64()));
    stack.tally_effects(&tally, events).await
}

/// Polls `/readyz` until it stops answering 200; returns what it said then (a status, or that
/// nothing answered) and how long after the signal.
async fn wait_until_not_ready(http: &Http) -> (String, Duration) {
    let started = Instant::now();
    loop {
        let seen = match http.get("/readyz").await {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(response.status().as_u16().to_string()),
            Err(_) => Some("no answer (listener closed)".to_owned()),
        };
        if let Some(seen) = seen {
            return (seen, started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(GRACE_SECS) {
            return ("200 throughout the grace".to_owned(), started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until a job is blocked by the transaction holding the uncommitted order.
async fn wait_until_blocked_by(stack: &Stack, blocker_pid: i32) -> anyhow::Result<()> {
    let blocked = format!("SELECT count(*) FROM pg_stat_activity WHERE {blocker_pid} = ANY(pg_blocking_pids(pid))");
    stack.wait_for_count(&blocked, 1, Duration::from_secs(60)).await.map(|_| ())
}

/// The stuck job was released: its attempt recorded as such, its row pending again and its
/// hand-over cleared so the next relay pass hands it over at once.
async fn check_released(stack: &Stack, tally: &Tally) -> anyhow::Result<()> {
    let (state, handed_over, released): (String, bool, i64) = sqlx::query_as(
        "SELECT e.state, e.enqueued_at IS NOT NULL,
                (SELECT count(*) FROM job_attempts a WHERE a.job_id = e.id AND a.outcome = 'released')
         FROM external_events e WHERE e.subject_id = $1",
    )
    .bind(STUCK_ORDER)
    .fetch_one(&stack.admin)
    .await?;
    tally.check(
        released == 1 && state == "pending" && !handed_over,
        format!("stuck job: {released} released attempt, row {state}, hand-over cleared: {}", !handed_over),
    );
    Ok(())
}

//! Many relays on one queue, as many worker processes would run: together they keep the Redis
//! backlog under `queue.max_backlog`, and every row is still processed exactly once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use recete_jobs::backlog;
use recete_jobs::budget::{Budget, Outstanding};
use recete_jobs::relay;

use super::queue::relay_for;
use super::support::store_orders;
use crate::helpers::spawn_app_with;

const MAX_BACKLOG: usize = 60;
const RELAY_BATCH: usize = 50;
const RELAYS: usize = 8;
const WORKER_PROCESSES: usize = 3;
const EVENTS: usize = 600;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn relays_of_many_processes_share_one_backlog_bound() {
    // A job that finds its row locked by a relay's claim at that instant is skipped and its row
    // left to the reconciler; a short delay keeps that rare case from dominating the run.
    let app = spawn_app_with(|f| {
        f.merge(("queue.max_backlog", MAX_BACKLOG))
            .merge(("queue.relay_batch", RELAY_BATCH))
            .merge(("queue.reconcile_after_secs", 5))
    })
    .await;
    store_orders(&app, EVENTS).await;
    let namespace = backlog::namespace(&app.redis.prefix, recete_jobs::QueueName::OrderEvents);
    let mut onlooker = app.redis.client().expect("client").get_multiplexed_async_connection().await.expect("redis");

    // Eight relays, each with its own Redis connection, all passing at the same moment: each
    // alone would see an empty queue and push a full batch (8 × 50 = 400 jobs).
    let start = Arc::new(tokio::sync::Barrier::new(RELAYS));
    let mut first_passes = Vec::new();
    for _ in 0..RELAYS {
        let mut relay = relay_for(&app).await;
        let (pool, start) = (app.pool.clone(), start.clone());
        first_passes.push(tokio::spawn(async move {
            start.wait().await;
            let report = relay.relay_once(&pool).await.expect("relay pass");
            (relay, report)
        }));
    }
    let mut relays = Vec::new();
    let mut handed_over = 0;
    for pass in first_passes {
        let (relay, report) = pass.await.expect("relay task");
        handed_over += report.handed_over;
        relays.push(relay);
    }
    let depth = backlog::depth(&mut relays[0].connection, &namespace).await.expect("depth");
    assert_eq!((handed_over, depth), (MAX_BACKLOG, MAX_BACKLOG as u64), "the relays together fill the bound once");

    // Then three worker processes (each with relays of its own) drain the queue while the eight
    // relays keep topping it up; the depth is sampled as often as Redis answers.
    let workers: Vec<_> = (0..WORKER_PROCESSES).map(|_| app.start_workers()).collect();
    let stop = tokio_util::sync::CancellationToken::new();
    let mut looping = Vec::new();
    for mut relay in relays {
        let (pool, stop) = (app.pool.clone(), stop.clone());
        looping.push(tokio::spawn(async move {
            while !stop.is_cancelled() {
                // Like the relay loop, a pass that fails (a reply slow on a busy machine) is
                // tried again; nothing is lost meanwhile.
                match relay.relay_once(&pool).await {
                    Ok(report) => tokio::time::sleep(relay::next_pass_in(&report, &relay.settings, false)).await,
                    Err(error) => {
                        eprintln!("relay pass failed: {error}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }));
    }
    let budget = Budget::new(&namespace, MAX_BACKLOG);
    let processed = "SELECT count(*) FROM external_events WHERE state = 'processed'";
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut deepest, mut samples, mut reserved_seen) = (0u64, 0u64, 0u64);
    let mut last_check = Instant::now();
    loop {
        // A read that times out on a busy machine is no sample; the next one is.
        // Often, not flat out: a sampler spinning on Redis would starve the workers' heartbeats.
        tokio::time::sleep(Duration::from_millis(1)).await;
        let Ok(Outstanding { depth, reserved, .. }) = budget.outstanding(&mut onlooker).await else {
            assert!(Instant::now() < deadline, "Redis unreadable");
            continue;
        };
        assert!(depth <= MAX_BACKLOG as u64, "depth {depth} past {MAX_BACKLOG} (sample {samples})");
        deepest = deepest.max(depth);
        reserved_seen = reserved_seen.max(reserved);
        samples += 1;
        if last_check.elapsed() > Duration::from_millis(100) {
            if app.count(processed).await == EVENTS as i64 {
                break;
            }
            last_check = Instant::now();
        }
        assert!(Instant::now() < deadline, "{} of {EVENTS} processed in time", app.count(processed).await);
    }
    stop.cancel();
    for relay in looping {
        relay.await.expect("relay loop");
    }
    for running in workers {
        running.stop().await;
    }
    println!(
        "deepest Redis queue {deepest} of {MAX_BACKLOG} over {samples} samples; most reserved at once {reserved_seen}"
    );
    assert!(samples > 200, "{samples} samples");

    // Exactly once: every effect once per event, and no event run to success twice (the attempt
    // history is best effort, so it can only show a second run, not prove the first).
    for (what, sql) in [
        ("orders", "SELECT count(*) FROM orders"),
        ("order items", "SELECT count(*) FROM order_items"),
        ("customers", "SELECT count(*) FROM customers"),
        ("order.created audits", "SELECT count(*) FROM audit_log WHERE action = 'order.created'"),
    ] {
        assert_eq!(app.count(sql).await, EVENTS as i64, "{what}");
    }
    assert_eq!(
        app.count(
            "SELECT count(*) FROM (SELECT job_id FROM job_attempts WHERE job_table = 'external_events'
             AND outcome = 'succeeded' GROUP BY job_id HAVING count(*) > 1) twice"
        )
        .await,
        0
    );
    let mut connection = app.redis.client().expect("client").get_multiplexed_async_connection().await.expect("redis");
    assert_eq!(
        budget.outstanding(&mut connection).await.expect("outstanding"),
        Outstanding { depth: 0, inflight: 0, reserved: 0 },
        "nothing left waiting, running or reserved"
    );
}

//! SIGTERM to a `recete all` process in the middle of a burst, with webhooks still arriving:
//! readiness fails at once, the API stops accepting, the workers stop fetching, the process
//! exits 0 within its grace, and every acknowledged webhook is on disk and processed once by
//! the next process.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use crate::report::Tally;
use crate::stack::{PROCESSED, Role, Servers, Stack};

pub const FAULT: &str = "SIGTERM mid-burst";
pub const EXPECTED: &str = "readyz 503 at once; exit 0 within the grace; fetching stops; nothing lost";

const STORED: i64 = 2_000;
const GRACE_SECS: u64 = 3;
const GRACE: &str = "3";

pub async fn run(tally: Tally) -> anyhow::Result<()> {
    let stack = Stack::new("sigterm", Servers::default()).await?;
    let integration = stack.store_orders(STORED as usize).await?;
    let grace = [("RECETE__WORKER__SHUTDOWN_GRACE_SECS", GRACE), ("RECETE__API__SHUTDOWN_GRACE_SECS", GRACE)];
    let mut recete = stack.recete(Role::All, &grace).await?;
    recete.http.wait_ready(Duration::from_secs(60)).await?;
    stack.wait_for_count(PROCESSED, STORED / 10, Duration::from_secs(60)).await?;

    // Webhooks keep arriving until the API stops answering; each 202 is a promise kept below.
    let acknowledged = Arc::new(AtomicI64::new(0));
    let sender = {
        let http = recete.http.clone();
        let integration = integration.clone();
        let acknowledged = acknowledged.clone();
        tokio::spawn(async move {
            for number in 0.. {
                match http.post_generic(&integration, &crate::stack::webhook_order(number)).await {
                    Ok(response) if response.status().as_u16() == 202 => {
                        acknowledged.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => break,
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;

    let at_signal = stack.count(PROCESSED).await?;
    recete.process.signal("TERM")?;
    let signalled = Instant::now();
    let readiness = match recete.http.get("/readyz").await {
        Ok(response) => format!("{}", response.status().as_u16()),
        Err(error) => format!("no answer ({error})"),
    };
    tally.check(readiness == "503", format!("/readyz right after SIGTERM: {readiness}"));

    let exit = recete.process.wait_for_exit(Duration::from_secs(GRACE_SECS + 10)).await?;
    let exited_in = signalled.elapsed();
    tally.check(
        exit.success() && exited_in <= Duration::from_secs(GRACE_SECS + 2),
        format!("exit {exit} after {:.1} s (grace {GRACE_SECS} s)", exited_in.as_secs_f64()),
    );
    sender.await?;
    let at_exit = stack.count(PROCESSED).await?;
    tally.note(format!("{} events finished between SIGTERM and exit", at_exit - at_signal));
    tally.check(at_exit < STORED, format!("{at_exit}/{STORED} processed at exit: fetching stopped"));

    let acknowledged = acknowledged.load(Ordering::SeqCst);
    let events = stack.count("SELECT count(*) FROM external_events").await?;
    tally.check(
        events >= STORED + acknowledged,
        format!("{acknowledged} webhooks acknowledged, {} stored", events - STORED),
    );

    let _next = stack.recete(Role::OrderWorker, &[]).await?;
    let finished = stack.wait_for_count(PROCESSED, events, Duration::from_secs(120)).await?;
    tally.note(format!("the next process finished the rest in {:.1} s", finished.as_secs_f64()));
    stack.tally_effects(&tally, events).await
}

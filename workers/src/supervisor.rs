//! Running a pool's apalis worker, and running it again when it stops on its own.
//!
//! apalis-redis ends a worker on any backend error (a Redis timeout, a restart). The supervisor
//! restarts it after a pause that doubles from one second up to `queue.restart_backoff_max_secs`
//! (reset after a run that lasted a minute), with a log line and `recete_pool_restarts_total`
//! each time. Each run registers under a new worker name, because apalis keeps a stopped
//! worker's name registered for a heartbeat and would refuse the same name.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use apalis::prelude::*;
use recete_agent::Agent;
use recete_config::Settings;
use recete_jobs::backlog;
use recete_jobs::execution::JobContext;
use recete_jobs::heartbeat::Process;
use recete_jobs::{EventJob, TaskJob};
use recete_knowledge::Embedder;
use recete_llm::ChatModel;
use tokio_util::sync::CancellationToken;

use crate::conversations::{self, ConversationDeps};
use crate::imports::{self, ImportDeps};
use crate::knowledge::{self, KnowledgeDeps};
use crate::messages::{self, MessageDeps};
use crate::orders::{self, OrderDeps};
use crate::webhooks::{self, WebhookDeps};
use crate::whatsapp::{self, WhatsAppDeps};
use crate::{Pool, WorkerDeps};

/// A worker name unique to this process start and run.
pub fn worker_name(pool: Pool, run: u32) -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
    format!("{pool}-{host}-{}-{run}-{}", std::process::id(), recete_platform::crypto::random_token(6))
}

/// Restarts `run_once` until shutdown. `run_once(n)` is the n-th run; it returns when the
/// worker stopped, by shutdown (`Ok`) or by failure.
pub async fn supervise_with<F, Fut>(
    label: &'static str,
    max_backoff: Duration,
    shutdown: CancellationToken,
    mut run_once: F,
) -> u32
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut run = 0;
    let mut backoff = Duration::from_secs(1);
    loop {
        let started = Instant::now();
        let outcome = run_once(run).await;
        if shutdown.is_cancelled() {
            return run;
        }
        if started.elapsed() > Duration::from_secs(60) {
            backoff = Duration::from_secs(1);
        }
        match outcome {
            Ok(()) => tracing::warn!(pool = label, "worker stopped without shutdown; restarting"),
            Err(error) => tracing::error!(pool = label, error.cause_chain = ?error, "worker failed; restarting"),
        }
        metrics::counter!("recete_pool_restarts_total", "pool" => label).increment(1);
        tokio::select! {
            () = shutdown.cancelled() => return run,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(max_backoff);
        run += 1;
    }
}

pub async fn supervise(
    pool: Pool,
    deps: WorkerDeps,
    shutdown: CancellationToken,
    process: Arc<Process>,
    release: CancellationToken,
) {
    let max_backoff = Duration::from_secs(deps.settings.queue.restart_backoff_max_secs);
    let context = JobContext::new(
        pool.queue(),
        deps.pool.clone(),
        pool.settings(&deps.settings).clone(),
        &process,
        shutdown.clone(),
        release,
    );
    supervise_with(pool.name(), max_backoff, shutdown.clone(), |run| {
        run_pool(pool, deps.clone(), shutdown.clone(), context.clone(), run)
    })
    .await;
}

/// Builds the pool's worker and spawns it where it is built: its future is Send, but proving it
/// through a surrounding future trips a compiler limitation with apalis's higher-ranked types.
macro_rules! spawn_worker {
    ($name:expr, $backend:expr, $data:expr, $context:expr, $concurrency:expr, $handler:path, $signal:expr) => {
        tokio::spawn(
            WorkerBuilder::new($name)
                .backend($backend)
                .data($data)
                .data($context)
                .concurrency($concurrency)
                .parallelize(tokio::spawn)
                .build($handler)
                .run_until($signal),
        )
    };
}

async fn run_pool(
    pool: Pool,
    deps: WorkerDeps,
    shutdown: CancellationToken,
    context: JobContext,
    run: u32,
) -> anyhow::Result<()> {
    let settings = deps.settings.clone();
    let pool_settings = pool.settings(&settings).clone();
    let connection = deps.redis.connection().await?;
    let poll = Duration::from_millis(settings.queue.poll_interval_ms);
    let prefix = deps.redis.key_prefix();
    let name = worker_name(pool, run);
    tracing::info!(pool = %pool, worker = %name, "worker starting");
    let stop = shutdown.clone();
    let signal = async move {
        stop.cancelled().await;
        Ok::<(), std::io::Error>(())
    };
    let concurrency = pool_settings.concurrency;
    let batch = pool_settings.fetch_batch;
    // Every pool's worker differs only in its job type, data and handler.
    macro_rules! start {
        ($job:ty, $data:expr, $handler:path) => {{
            let storage = backlog::storage::<$job>(connection, prefix, pool.queue(), &settings.queue, batch);
            spawn_worker!(name, storage.poll_with_interval(poll), $data, context.clone(), concurrency, $handler, signal)
        }};
    }
    let mut running = match pool {
        Pool::OrderEvents => {
            let data = OrderDeps::new(&deps, pool_settings.clone());
            start!(EventJob, data, orders::process)
        }
        Pool::WhatsAppEvents => {
            let data = WhatsAppDeps::new(&deps, pool_settings.clone());
            start!(EventJob, data, whatsapp::process)
        }
        Pool::Messages => {
            let data = MessageDeps::new(&deps, pool_settings.clone());
            start!(TaskJob, data, messages::process)
        }
        Pool::Knowledge => {
            let embedder = load_embedder(&settings).await?;
            let data = KnowledgeDeps::new(&deps, embedder, pool_settings.clone())?;
            start!(TaskJob, data, knowledge::process)
        }
        Pool::Conversations => {
            let embedder = load_embedder(&settings).await?;
            let chat = if settings.llm.is_configured() {
                Some(ChatModel::new(&settings.llm).context("Failed to set up the language model client")?)
            } else {
                None
            };
            let agent = Arc::new(Agent::new(embedder, chat, settings.agent.clone()));
            let data = ConversationDeps::new(&deps, agent, pool_settings.clone());
            start!(TaskJob, data, conversations::process)
        }
        Pool::Imports => {
            let data = ImportDeps::new(&deps, pool_settings.clone());
            start!(TaskJob, data, imports::process)
        }
        Pool::Webhooks => {
            let data = WebhookDeps::new(&deps, pool_settings.clone())?;
            start!(TaskJob, data, webhooks::process)
        }
    };
    context.slots.open(concurrency);
    let grace = Duration::from_secs(settings.worker.shutdown_grace_secs);
    let stopped = tokio::select! {
        joined = &mut running => match joined {
            Ok(result) => result.map_err(|e| anyhow::anyhow!("{e}")),
            Err(join_error) => Err(anyhow::anyhow!("worker task ended abnormally: {join_error}")),
        },
        () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
            // Jobs still running are dropped: their transactions roll back, their rows stay due,
            // and the reconciler hands them over again.
            tracing::warn!(pool = %pool, grace_secs = grace.as_secs(), "grace period over; abandoning running jobs");
            running.abort();
            Ok(())
        }
    };
    context.slots.close();
    stopped
}

/// The configured embedder; the local model is read from disk once per process, off the
/// async threads.
async fn load_embedder(settings: &Settings) -> anyhow::Result<Arc<dyn Embedder>> {
    let embedding = settings.embedding.clone();
    tokio::task::spawn_blocking(move || recete_embed::from_settings(&embedding))
        .await
        .context("loading the embedder panicked")?
        .context("Failed to load the embedder")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_failing_pool_is_restarted_with_growing_pauses_until_shutdown() {
        let shutdown = CancellationToken::new();
        let runs = Arc::new(AtomicU32::new(0));
        let started = tokio::time::Instant::now();
        let counted = runs.clone();
        let stopper = shutdown.clone();
        let supervisor = tokio::spawn(supervise_with("test", Duration::from_secs(4), shutdown.clone(), move |run| {
            let counted = counted.clone();
            let stopper = stopper.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                if run == 4 {
                    stopper.cancel();
                    return Ok(());
                }
                anyhow::bail!("backend error: connection reset")
            }
        }));
        let last_run = supervisor.await.expect("supervisor ends");
        assert_eq!(last_run, 4);
        assert_eq!(runs.load(Ordering::SeqCst), 5);
        // Pauses of 1, 2, 4 and 4 (capped) seconds between the five runs.
        assert_eq!(started.elapsed().as_secs(), 11);
    }

    #[test]
    fn worker_names_differ_per_run_and_process_start() {
        assert_ne!(worker_name(Pool::OrderEvents, 0), worker_name(Pool::OrderEvents, 0));
        assert!(worker_name(Pool::OrderEvents, 3).starts_with("order-events-"));
    }
}

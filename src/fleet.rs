//! Starting a process's roles (API, workers or both) with shared connections and one shutdown.
//!
//! SIGTERM or Ctrl-C cancels one token; the API stops accepting and drains, the workers stop
//! fetching and finish what they hold, and the process exits 0 once both are done.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use recete_api::{Application, Dependencies};
use recete_config::Settings;
use recete_messaging::whatsapp::Sender;
use recete_platform::crypto::Keyring;
use recete_platform::db;
use recete_platform::redis_client::RedisClient;
use recete_workers::{Pool, WorkerDeps, WorkerOptions};
use tokio_util::sync::CancellationToken;

pub struct Roles {
    api: Option<Option<SocketAddr>>,
    workers: Option<WorkerRole>,
}

struct WorkerRole {
    pools: Vec<Pool>,
    /// A worker-only process serves its own health endpoints.
    health_listen: Option<Option<SocketAddr>>,
}

impl Roles {
    pub fn api(listen: Option<SocketAddr>) -> Self {
        Self { api: Some(listen), workers: None }
    }

    pub fn workers(queues: Vec<String>, listen: Option<SocketAddr>) -> anyhow::Result<Self> {
        let pools = recete_workers::pools::select(&queues).map_err(anyhow::Error::msg)?;
        Ok(Self { api: None, workers: Some(WorkerRole { pools, health_listen: Some(listen) }) })
    }

    pub fn all(listen: Option<SocketAddr>) -> Self {
        Self { api: Some(listen), workers: Some(WorkerRole { pools: Pool::ALL.to_vec(), health_listen: None }) }
    }
}

pub async fn run(settings: &Settings, roles: Roles) -> anyhow::Result<()> {
    // The recorder first: whatever a pool counts before it is installed is lost, and a worker
    // process would otherwise install it only at its first scrape.
    recete_platform::telemetry::metrics_handle();
    let pool = db::connect_lazy(&settings.database).context("invalid database.url")?;
    let redis = RedisClient::new(&settings.redis).context("invalid redis.url")?;
    let keyring = Arc::new(Keyring::from_settings(&settings.crypto)?);
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));

    let mut tasks = tokio::task::JoinSet::new();
    if let Some(listen) = roles.api {
        let deps = Dependencies { pool: pool.clone(), redis: redis.clone(), keyring: keyring.clone() };
        let mut app = Application::build(settings, listen.unwrap_or(settings.api.listen), deps).await?;
        // The merchants' console shares the API's listener and port, under /console.
        if settings.console.enabled {
            let live = app.live_streams();
            let console = recete_console::ConsoleState::new(settings, pool.clone(), redis.clone(), keyring.clone())
                .with_live_streams(live)
                .with_integrations(app.integration_directory())
                .with_upload_limits(app.upload_limits());
            app = app.with_routes(recete_console::router(console));
        }
        let operator_routes = app.operator_routes();
        tasks.spawn(app.run_until_stopped(shutdown.clone()));
        // The queue board lives with the API, on an address of its own, with the API's metrics
        // and detailed readiness beside it (the public listener keeps neither).
        if settings.ops.enabled {
            let board = recete_ops::Board::build(settings, settings.ops.listen, pool.clone(), keyring.clone())
                .await?
                .with_routes(operator_routes);
            tasks.spawn(board.run_until_stopped(shutdown.clone()));
        }
    }
    if let Some(role) = roles.workers {
        let options = WorkerOptions {
            pools: role.pools,
            health_listen: role.health_listen.map(|listen| listen.unwrap_or(settings.worker.listen)),
        };
        let deps = WorkerDeps {
            pool: pool.clone(),
            redis: redis.clone(),
            keyring: keyring.clone(),
            settings: Arc::new(settings.clone()),
            sender: Sender::from_settings(&settings.whatsapp).context("cannot build the WhatsApp client")?,
        };
        tasks.spawn(recete_workers::run(deps, options, shutdown.clone()));
    }
    let mut outcome = Ok(());
    while let Some(joined) = tasks.join_next().await {
        let result = joined.context("a process role panicked").and_then(|r| r);
        if let Err(error) = result {
            tracing::error!(error.cause_chain = ?error, "a process role failed; shutting down");
            shutdown.cancel();
            outcome = Err(error);
        }
    }
    pool.close().await;
    outcome
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupt received; shutting down"),
        () = terminate => tracing::info!("SIGTERM received; shutting down"),
    }
    shutdown.cancel();
}

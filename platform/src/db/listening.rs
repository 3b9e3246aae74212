//! Holding a `LISTEN` connection: where it goes (`database.listen_url`), opening it within a time
//! limit, and opening it again after it failed or was lost, with pauses doubling from a quarter
//! second up to fifteen seconds.

use std::future::Future;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio_util::sync::CancellationToken;

use crate::config::{DatabaseSettings, ListenTarget};

/// The name `LISTEN` connections of their own carry in `pg_stat_activity`.
pub const LISTEN_APPLICATION_NAME: &str = "recete-listen";

/// Connections a process may hold for `LISTEN`: the job wake-ups and the event streams.
const LISTEN_CONNECTIONS: u32 = 2;

/// Where this process opens its `LISTEN` connections.
#[derive(Debug, Clone)]
pub enum Listening {
    /// On connections of this pool: the application's own, or one of its own past any pooler.
    On(PgPool),
    /// Nowhere (`database.listen_url = "off"`): what would wake on a notification polls.
    Off,
}

impl Listening {
    /// From `database.listen_url`, with `pool` (the pool of `database.url`) for an empty one.
    pub fn from_settings(settings: &DatabaseSettings, pool: &PgPool) -> Result<Self, sqlx::Error> {
        match settings.listen_target() {
            ListenTarget::Pool => Ok(Self::On(pool.clone())),
            ListenTarget::Off => Ok(Self::Off),
            ListenTarget::Direct(url) => {
                let options: PgConnectOptions = url.expose_secret().parse()?;
                Ok(Self::On(
                    PgPoolOptions::new()
                        .max_connections(LISTEN_CONNECTIONS)
                        .acquire_timeout(CONNECT_TIMEOUT)
                        .connect_lazy_with(options.application_name(LISTEN_APPLICATION_NAME)),
                ))
            }
        }
    }

    /// The pool `LISTEN` connections come from, unless listening is off.
    pub fn pool(&self) -> Option<&PgPool> {
        match self {
            Self::On(pool) => Some(pool),
            Self::Off => None,
        }
    }
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const RETRY_BASE: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(15);

/// A connection of its own (outside the pool, with the pool's options) listening on `channel`.
async fn listen(pool: &PgPool, channel: &str) -> Result<PgListener, String> {
    let connecting = async {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(channel).await?;
        Ok::<_, sqlx::Error>(listener)
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Ok(Ok(listener)) => Ok(listener),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no connection within {CONNECT_TIMEOUT:?}")),
    }
}

/// Listens on `channel` until `shutdown`. `serve` gets each connection opened and returns `true`
/// when it was lost (it is opened again after a pause) or `false` at shutdown. `what` names the
/// notifications in log lines. With listening off, returns at once.
pub async fn keep_listening<F, Fut>(
    listening: &Listening,
    channel: &str,
    what: &str,
    shutdown: &CancellationToken,
    mut serve: F,
) where
    F: FnMut(PgListener) -> Fut,
    Fut: Future<Output = bool>,
{
    let Some(pool) = listening.pool() else {
        tracing::info!("database.listen_url is off: no {what}; what they would wake polls");
        return;
    };
    let mut failures: u32 = 0;
    loop {
        let connected = tokio::select! {
            () = shutdown.cancelled() => return,
            connected = listen(pool, channel) => connected,
        };
        match connected {
            Ok(listener) => {
                if failures > 0 {
                    tracing::info!("listening for {what} again");
                }
                failures = 0;
                if !serve(listener).await {
                    return;
                }
            }
            Err(error) => tracing::warn!(%error, "cannot listen for {what}"),
        }
        failures = failures.saturating_add(1);
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(reconnect_pause(failures)) => {}
        }
    }
}

/// The pause after `failures` failed or lost connections in a row.
pub fn reconnect_pause(failures: u32) -> Duration {
    RETRY_BASE.saturating_mul(2u32.saturating_pow(failures.min(6))).min(RETRY_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_fifteen_seconds() {
        assert_eq!(reconnect_pause(0), Duration::from_millis(250));
        assert_eq!(reconnect_pause(1), Duration::from_millis(500));
        assert_eq!(reconnect_pause(5), Duration::from_secs(8));
        assert_eq!(reconnect_pause(6), RETRY_MAX);
        assert_eq!(reconnect_pause(u32::MAX), RETRY_MAX);
    }
}

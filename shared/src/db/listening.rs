//! Holding a `LISTEN` connection: opening it within a time limit, and opening it again after it
//! failed or was lost, with pauses doubling from a quarter second up to fifteen seconds.

use std::future::Future;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

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
/// notifications in log lines.
pub async fn keep_listening<F, Fut>(
    pool: &PgPool,
    channel: &str,
    what: &str,
    shutdown: &CancellationToken,
    mut serve: F,
) where
    F: FnMut(PgListener) -> Fut,
    Fut: Future<Output = bool>,
{
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

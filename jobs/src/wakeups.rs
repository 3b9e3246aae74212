//! Waking each relay when work for its queue commits, instead of polling for it.
//!
//! Triggers on `external_events` and `scheduled_tasks` send a `NOTIFY` on [`CHANNEL`] for every
//! committed batch of new due work (payload `<table>:<source or kind>`), and for every row given
//! back to the relay; resuming a paused queue sends `queue:<name>`. [`RelayWakeups::listen`]
//! holds one `LISTEN` connection per process and wakes the relay of each queue that feeds on what
//! was notified. A wake-up that arrives while the relay is in a pass is kept (one permit), so it
//! runs another pass rather than missing the rows committed meanwhile.
//!
//! The `LISTEN` connection goes where `database.listen_url` says (past a transaction-mode pooler,
//! whose shared server connections must never hold one), or nowhere. Notifications can also fail
//! silently, so their arrival is checked: every `queue.sweep_interval_secs` the listener sends itself a ping through
//! the pool. Until a ping comes back (at start, after a lost connection, or when none ever does)
//! [`RelayWakeups::is_heard`] is false and relays poll every `queue.relay_interval_ms` as if there
//! were no notifications; once one does, every relay is woken, since anything notified before was
//! not heard.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::QueueName;
use recete_platform::db::listening::{self, Listening};

/// The channel the job tables' triggers and queue resumes notify on.
pub const CHANNEL: &str = "recete_jobs";

const PING_PREFIX: &str = "ping:";
const QUEUE_PREFIX: &str = "queue:";
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// The relays of one process and what wakes them.
#[derive(Debug)]
pub struct RelayWakeups {
    relays: Vec<(QueueName, Arc<Notify>)>,
    heard: AtomicBool,
}

impl RelayWakeups {
    pub fn new(queues: &[QueueName]) -> Self {
        Self {
            relays: queues.iter().map(|queue| (*queue, Arc::new(Notify::new()))).collect(),
            heard: AtomicBool::new(false),
        }
    }

    /// What wakes the relay of `queue` (a fresh one, never woken, for a queue not given to [`Self::new`]).
    pub fn waker(&self, queue: QueueName) -> Arc<Notify> {
        self.relays.iter().find(|(relay, _)| *relay == queue).map(|(_, notify)| notify.clone()).unwrap_or_default()
    }

    /// Whether notifications are known to arrive; while not, relays poll.
    pub fn is_heard(&self) -> bool {
        self.heard.load(Ordering::Relaxed)
    }

    /// Wakes the relays a notification's payload concerns; returns how many.
    pub fn wake_for(&self, payload: &str) -> usize {
        let mut woken = 0;
        for (queue, notify) in &self.relays {
            if concerns(*queue, payload) {
                notify.notify_one();
                woken += 1;
            }
        }
        woken
    }

    fn wake_all(&self) {
        for (_, notify) in &self.relays {
            notify.notify_one();
        }
    }

    fn set_heard(&self, heard: bool) {
        if self.heard.swap(heard, Ordering::Relaxed) != heard {
            if heard {
                tracing::info!("relays wake on job notifications");
                self.wake_all();
            } else {
                tracing::warn!("job notifications are not arriving; relays poll meanwhile");
            }
        }
    }

    /// Listens on [`CHANNEL`] until `shutdown`, checking every `check_every` that its own pings,
    /// sent through `pool`, come back. A lost connection is opened again with backoff. With
    /// listening off, returns at once and relays keep polling.
    pub async fn listen(
        self: Arc<Self>,
        listening: Listening,
        pool: PgPool,
        check_every: Duration,
        shutdown: CancellationToken,
    ) {
        let ping: Arc<str> = format!("{PING_PREFIX}{}", recete_platform::crypto::random_token(12)).into();
        listening::keep_listening(&listening, CHANNEL, "job notifications", &shutdown, |listener| {
            let (this, pool, ping, shutdown) = (self.clone(), pool.clone(), ping.clone(), shutdown.clone());
            async move {
                let lost = this.heard_until_lost(listener, &pool, &ping, check_every, &shutdown).await;
                if lost {
                    this.set_heard(false);
                }
                lost
            }
        })
        .await;
    }

    /// Wakes relays from `listener`; `true` when the connection was lost, `false` at shutdown.
    async fn heard_until_lost(
        &self,
        mut listener: PgListener,
        pool: &PgPool,
        ping: &str,
        check_every: Duration,
        shutdown: &CancellationToken,
    ) -> bool {
        let mut checks = tokio::time::interval(check_every);
        checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut outstanding = false;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return false,
                _ = checks.tick() => {
                    if outstanding {
                        self.set_heard(false);
                    }
                    outstanding = true;
                    let sent = sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(ping).execute(pool);
                    match tokio::time::timeout(PING_TIMEOUT, sent).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(error)) => tracing::warn!(%error, "could not ping the job notifications"),
                        Err(_) => tracing::warn!("pinging the job notifications timed out"),
                    }
                }
                received = listener.try_recv() => match received {
                    Ok(Some(notification)) if notification.payload() == ping => {
                        outstanding = false;
                        self.set_heard(true);
                    }
                    Ok(Some(notification)) => {
                        self.wake_for(notification.payload());
                    }
                    Ok(None) => {
                        tracing::warn!("job notification connection lost; reconnecting");
                        return true;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "job notifications failed; reconnecting");
                        return true;
                    }
                },
            }
        }
    }
}

/// Whether a notification's payload names work for `queue`.
fn concerns(queue: QueueName, payload: &str) -> bool {
    if let Some(resumed) = payload.strip_prefix(QUEUE_PREFIX) {
        return resumed == queue.as_str();
    }
    match payload.split_once(':') {
        Some(("external_events" | "scheduled_tasks", name)) => queue.feeds_on().contains(&name),
        _ => false,
    }
}

/// The payload sent when `queue` is resumed.
pub fn resumed_payload(queue: QueueName) -> String {
    format!("{QUEUE_PREFIX}{queue}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_wake_the_queues_that_feed_on_them() {
        assert!(concerns(QueueName::OrderEvents, "external_events:shopify"));
        assert!(concerns(QueueName::OrderEvents, "external_events:csv"));
        assert!(!concerns(QueueName::OrderEvents, "external_events:whatsapp"));
        assert!(concerns(QueueName::WhatsAppEvents, "external_events:whatsapp"));
        assert!(concerns(QueueName::Messages, "scheduled_tasks:follow_up"));
        assert!(concerns(QueueName::Conversations, "scheduled_tasks:answer"));
        assert!(!concerns(QueueName::Conversations, "scheduled_tasks:follow_up"));
        assert!(concerns(QueueName::Imports, &resumed_payload(QueueName::Imports)));
        assert!(!concerns(QueueName::Messages, &resumed_payload(QueueName::Imports)));
        assert!(!concerns(QueueName::Messages, "ping:abc"));
        assert!(!concerns(QueueName::Messages, "orders:follow_up"));
    }

    #[tokio::test]
    async fn a_wake_up_during_a_pass_is_kept_for_the_next_wait() {
        let wakeups = RelayWakeups::new(&[QueueName::OrderEvents, QueueName::Messages]);
        let orders = wakeups.waker(QueueName::OrderEvents);
        let messages = wakeups.waker(QueueName::Messages);
        assert_eq!(wakeups.wake_for("external_events:generic"), 1);
        tokio::time::timeout(Duration::from_millis(100), orders.notified()).await.expect("the permit was kept");
        assert!(
            tokio::time::timeout(Duration::from_millis(50), messages.notified()).await.is_err(),
            "another queue's relay sleeps on"
        );
        assert!(!wakeups.is_heard(), "not heard before a ping came back");
    }
}

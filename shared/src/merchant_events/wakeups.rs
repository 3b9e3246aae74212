//! Waking the live streams of a merchant when one of its events commits, on every API process.
//!
//! [`Wakeups::listen`] holds one `LISTEN` connection per process; each notification (payload: the
//! merchant's id) bumps that merchant's counter, and each of its streams, watching the counter,
//! reads the new rows from the table. A lost connection is opened again with backoff and then
//! wakes every stream, since notifications sent meanwhile are lost. Subscribing is also where the
//! per-merchant bound on open streams is kept: a [`Subscription`] is a held slot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::stream::CHANNEL;
use recete_platform::db::listening::{self, Listening};
use recete_platform::ids::MerchantId;

/// The streams open on this process, by merchant.
#[derive(Debug)]
pub struct Wakeups {
    per_merchant: usize,
    open: Mutex<HashMap<MerchantId, Open>>,
    /// Cancelled when the process shuts down: every stream ends.
    closing: CancellationToken,
}

#[derive(Debug)]
struct Open {
    streams: usize,
    bump: watch::Sender<u64>,
}

/// Past `events.max_streams_per_merchant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyStreams {
    pub limit: usize,
}

/// One stream's slot and wake-up signal, given back when dropped.
#[derive(Debug)]
pub struct Subscription {
    wakeups: Arc<Wakeups>,
    merchant: MerchantId,
    pub woken: watch::Receiver<u64>,
}

impl Wakeups {
    pub fn new(per_merchant: usize) -> Self {
        Self { per_merchant, open: Mutex::new(HashMap::new()), closing: CancellationToken::new() }
    }

    /// A slot for one more stream of `merchant`, or the bound it would pass.
    pub fn subscribe(self: &Arc<Self>, merchant: MerchantId) -> Result<Subscription, TooManyStreams> {
        let mut open = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = open.entry(merchant).or_insert_with(|| Open { streams: 0, bump: watch::channel(0).0 });
        if entry.streams >= self.per_merchant {
            return Err(TooManyStreams { limit: self.per_merchant });
        }
        entry.streams += 1;
        let woken = entry.bump.subscribe();
        Ok(Subscription { wakeups: self.clone(), merchant, woken })
    }

    /// Wakes the streams of `merchant`, if it has any here.
    pub fn wake(&self, merchant: MerchantId) {
        let open = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(entry) = open.get(&merchant) {
            entry.bump.send_modify(|count| *count = count.wrapping_add(1));
        }
    }

    fn wake_all(&self) {
        let open = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for entry in open.values() {
            entry.bump.send_modify(|count| *count = count.wrapping_add(1));
        }
    }

    /// Streams open for `merchant` on this process.
    pub fn open_streams(&self, merchant: MerchantId) -> usize {
        let open = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        open.get(&merchant).map_or(0, |entry| entry.streams)
    }

    /// Ends every stream (the process is shutting down).
    pub fn close(&self) {
        self.closing.cancel();
    }

    pub fn closing(&self) -> CancellationToken {
        self.closing.clone()
    }

    /// Listens on [`CHANNEL`] until `shutdown`, waking streams as notifications arrive.
    pub async fn listen(self: Arc<Self>, listening: Listening, shutdown: CancellationToken) {
        listening::keep_listening(&listening, CHANNEL, "event stream notifications", &shutdown, |listener| {
            self.clone().wake_until_lost(listener, shutdown.clone())
        })
        .await;
    }

    /// Wakes streams from `listener`; `true` when the connection was lost, `false` at shutdown.
    async fn wake_until_lost(self: Arc<Self>, mut listener: PgListener, shutdown: CancellationToken) -> bool {
        // Anything raised while not listening was not heard: every stream reads.
        self.wake_all();
        loop {
            let received = tokio::select! {
                () = shutdown.cancelled() => return false,
                received = listener.try_recv() => received,
            };
            match received {
                Ok(Some(notification)) => match notification.payload().parse::<uuid::Uuid>() {
                    Ok(merchant) => self.wake(MerchantId::from_uuid(merchant)),
                    Err(_) => {
                        tracing::warn!(
                            payload = notification.payload(),
                            "a notification on {CHANNEL} is not a merchant id"
                        )
                    }
                },
                Ok(None) => {
                    tracing::warn!("event stream notification connection lost; reconnecting");
                    return true;
                }
                Err(error) => {
                    tracing::warn!(%error, "event stream notifications failed; reconnecting");
                    return true;
                }
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut open = self.wakeups.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(entry) = open.get_mut(&self.merchant) {
            entry.streams = entry.streams.saturating_sub(1);
            if entry.streams == 0 {
                open.remove(&self.merchant);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn streams_are_bounded_per_merchant_and_woken_by_their_merchant_only() {
        let wakeups = Arc::new(Wakeups::new(2));
        let (a, b) = (MerchantId::generate(), MerchantId::generate());
        let mut first = wakeups.subscribe(a).expect("first of a");
        let second = wakeups.subscribe(a).expect("second of a");
        assert_eq!(wakeups.subscribe(a).expect_err("third of a"), TooManyStreams { limit: 2 });
        let mut other = wakeups.subscribe(b).expect("first of b");
        wakeups.wake(a);
        assert!(first.woken.has_changed().expect("open"));
        assert!(!other.woken.has_changed().expect("open"));
        first.woken.mark_unchanged();
        other.woken.mark_unchanged();
        drop(second);
        assert_eq!(wakeups.open_streams(a), 1);
        wakeups.subscribe(a).expect("a slot given back is free again");
    }
}

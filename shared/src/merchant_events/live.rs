//! One live stream of a merchant's events, as the API's `GET /api/events/stream` and the
//! console's inbox serve them: every event after the client's `Last-Event-ID`, in order, nothing
//! twice, each rendered exactly as the webhooks render it. A stream holds a [`Subscription`]
//! (its slot in the per-merchant bound), wakes when [`Wakeups`] says the merchant raised an
//! event, reads the table every `poll` anyway, and ends when the process shuts down or a read
//! fails (the client reconnects with `Last-Event-ID`).

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::render::render;
use super::stream::{self, LATE_COMMIT_WINDOW};
use super::wakeups::{Subscription, TooManyStreams, Wakeups};
use recete_platform::crypto::Keyring;
use recete_platform::db;
use recete_platform::ids::MerchantId;

/// Events read (and rendered) per query.
const READ_BATCH: i64 = 100;

/// What the streams of one process share.
#[derive(Clone)]
pub struct LiveStreams {
    pub wakeups: Arc<Wakeups>,
    /// A comment line on an idle stream this often (`events.stream_heartbeat_secs`).
    pub heartbeat: Duration,
    /// Each stream reads the table this often even when not woken (`events.stream_poll_secs`).
    pub poll: Duration,
}

/// One Server-Sent Event to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveEvent {
    /// Where to resume (`id:`); none on a `reset`.
    pub id: Option<String>,
    /// The event type (`conversation.handed_over`...) or `reset`.
    pub event: String,
    /// The webhook body, or the reset's explanation.
    pub data: String,
}

/// Why a stream could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("this merchant already has {} event streams open; close one first", .0.limit)]
    TooMany(TooManyStreams),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Opens a stream of `merchant`'s events after `resume` (from the start of what is kept when
/// `None`). A `resume` no longer kept, or never the merchant's, gets a `reset` event first.
pub async fn open(
    streams: &LiveStreams,
    pool: &PgPool,
    keyring: Arc<Keyring>,
    merchant: MerchantId,
    resume: Option<Uuid>,
) -> Result<LiveStream, OpenError> {
    let subscription = streams.wakeups.subscribe(merchant).map_err(OpenError::TooMany)?;
    let mut queue = VecDeque::new();
    if let Some(resume) = resume {
        let mut tx = db::tenant_tx(pool, merchant).await?;
        let retained = stream::is_retained(&mut tx, resume).await?;
        tx.commit().await?;
        if !retained {
            let data = json!({
                "last_event_id": resume,
                "detail": "this event is no longer kept (or was never this merchant's); events may have been \
                           missed, every event still kept follows",
            });
            queue.push_back(LiveEvent { id: None, event: "reset".into(), data: data.to_string() });
        }
    }
    metrics::gauge!("recete_event_streams_open").increment(1.0);
    Ok(LiveStream {
        pool: pool.clone(),
        keyring,
        merchant,
        closing: streams.wakeups.closing(),
        poll: streams.poll,
        subscription: Some(subscription),
        resume,
        sent: BTreeSet::new(),
        newest: None,
        queue,
        read_now: true,
    })
}

/// Opens a stream of what `merchant` raises from now on (after its newest event), for a page
/// that has just shown the current state.
pub async fn open_from_now(
    streams: &LiveStreams,
    pool: &PgPool,
    keyring: Arc<Keyring>,
    merchant: MerchantId,
) -> Result<LiveStream, OpenError> {
    let mut tx = db::tenant_tx(pool, merchant).await?;
    let newest = stream::newest(&mut tx).await?;
    tx.commit().await?;
    open(streams, pool, keyring, merchant, newest).await
}

/// The `Last-Event-ID` a client sent: empty is none, anything but a UUID is an error.
pub fn parse_last_event_id(value: &str) -> Result<Option<Uuid>, uuid::Error> {
    let text = value.trim();
    if text.is_empty() { Ok(None) } else { Uuid::parse_str(text).map(Some) }
}

/// One stream's position.
pub struct LiveStream {
    pool: PgPool,
    keyring: Arc<Keyring>,
    merchant: MerchantId,
    closing: CancellationToken,
    poll: Duration,
    /// The slot, given back when the stream ends.
    subscription: Option<Subscription>,
    /// The client's `Last-Event-ID`: nothing at or before it is sent.
    resume: Option<Uuid>,
    /// Ids sent within [`LATE_COMMIT_WINDOW`] of the newest, so a re-read never repeats one.
    sent: BTreeSet<Uuid>,
    newest: Option<Uuid>,
    queue: VecDeque<LiveEvent>,
    /// A read is due before waiting (at the start, and after a batch that may have more).
    read_now: bool,
}

impl Drop for LiveStream {
    fn drop(&mut self) {
        metrics::gauge!("recete_event_streams_open").decrement(1.0);
    }
}

impl LiveStream {
    /// The next event to write, or `None` when the stream ends (shutdown, or a read failed: the
    /// client reconnects with `Last-Event-ID`).
    pub async fn next(&mut self) -> Option<LiveEvent> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(event);
            }
            if self.closing.is_cancelled() {
                return None;
            }
            if !self.read_now {
                let subscription = self.subscription.as_mut()?;
                tokio::select! {
                    () = self.closing.cancelled() => return None,
                    changed = subscription.woken.changed() => changed.ok()?,
                    () = tokio::time::sleep(self.poll) => {}
                }
            }
            match self.read().await {
                Ok(more) => self.read_now = more,
                Err(error) => {
                    tracing::warn!(merchant = %self.merchant, error = %error, "event stream read failed; closing it");
                    return None;
                }
            }
        }
    }

    /// Reads and renders the events not sent yet; true when there may be more right away.
    async fn read(&mut self) -> anyhow::Result<bool> {
        let window = self.newest.map(|newest| stream::window_start(newest, LATE_COMMIT_WINDOW));
        let mut cursor = match (window, self.resume) {
            (Some(window), Some(resume)) => Some(window.max(resume)),
            (window, resume) => window.or(resume),
        };
        if let Some(floor) = cursor {
            self.sent = self.sent.split_off(&floor);
        }
        let mut tx = db::tenant_tx(&self.pool, self.merchant).await?;
        let (fresh, full) = loop {
            let rows = stream::after(&mut tx, cursor, READ_BATCH).await?;
            let full = rows.len() as i64 == READ_BATCH;
            let last = rows.last().map(|row| row.id);
            let fresh: Vec<_> = rows.into_iter().filter(|row| !self.sent.contains(&row.id)).collect();
            if !fresh.is_empty() || !full {
                break (fresh, full);
            }
            cursor = last;
        };
        for row in &fresh {
            let body = render(&mut tx, &self.keyring, row).await?;
            let data = String::from_utf8(body)?;
            self.sent.insert(row.id);
            let newest = self.newest.map_or(row.id, |newest| newest.max(row.id));
            self.newest = Some(newest);
            // `id:` is where to resume; an event that committed late (after a newer one was
            // sent) carries the newest id sent, so resuming never repeats an event.
            self.queue.push_back(LiveEvent {
                id: Some(newest.to_string()),
                event: row.event_type.as_str().to_owned(),
                data,
            });
        }
        tx.commit().await?;
        Ok(full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_last_event_id_is_a_uuid_or_nothing() {
        assert_eq!(parse_last_event_id("  ").ok(), Some(None));
        let id = Uuid::now_v7();
        assert_eq!(parse_last_event_id(&format!(" {id} ")).ok(), Some(Some(id)));
        assert!(parse_last_event_id("latest").is_err());
    }
}

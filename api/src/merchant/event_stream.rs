//! `GET /api/events/stream`: the merchant's events as Server-Sent Events, the same types and
//! bodies as the outbound webhooks (rendered by the same code, so personal data is handled the
//! same way). Each event's `id:` is its event id; a client reconnecting with `Last-Event-ID` gets
//! the events after it, in order, nothing twice. An id no longer kept (older than
//! `events.retention_days`) gets `event: reset` first, then every event still kept.
//!
//! An idle stream carries a comment line every `events.stream_heartbeat_secs`. New events wake
//! the stream through PostgreSQL notifications (see `merchant_events::wakeups`), and it reads
//! the table every `events.stream_poll_secs` anyway. One merchant may hold
//! `events.max_streams_per_merchant` streams open per API process; past it, 429.

use std::collections::{BTreeSet, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use recete_shared::crypto::Keyring;
use recete_shared::db;
use recete_shared::ids::MerchantId;
use recete_shared::merchant_events::render::render;
use recete_shared::merchant_events::stream::{self, LATE_COMMIT_WINDOW};
use recete_shared::merchant_events::wakeups::{Subscription, Wakeups};
use serde_json::json;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Merchant;
use crate::error::ApiError;
use crate::state::AppState;

pub const PATH: &str = "/api/events/stream";
/// Events read (and rendered) per query.
const READ_BATCH: i64 = 100;
/// A refused stream may try again after this long.
const RETRY_AFTER: Duration = Duration::from_secs(10);

/// What the streams of this process share.
#[derive(Clone)]
pub struct EventStreams {
    pub wakeups: Arc<Wakeups>,
    pub heartbeat: Duration,
    pub poll: Duration,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream_events))
}

/// The merchant's events as they happen (Server-Sent Events).
///
/// Each message is `id: <event id>`, `event: <type>` and `data: <the webhook body>` (an
/// `EventEnvelope`). Reconnect with the `Last-Event-ID` header to receive what was missed; an id
/// no longer kept (events are kept `events.retention_days`) gets `event: reset` first, whose data
/// names it, then every event kept. Lines starting with `:` are heartbeats.
#[utoipa::path(
    get,
    path = "/api/events/stream",
    tag = "events",
    params(
        ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received; the stream \
          starts after it.")
    ),
    responses(
        (status = 200, description = "The stream: one Server-Sent Event per merchant event, in order.",
         content_type = "text/event-stream", body = String),
    )
)]
pub async fn stream_events(
    State(state): State<AppState>,
    merchant: Merchant,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let resume = last_event_id(&headers)?;
    let subscription = state.event_streams.wakeups.subscribe(merchant.merchant_id).map_err(|refused| {
        tracing::info!(merchant = %merchant.merchant_id, limit = refused.limit, "event stream refused: too many open");
        ApiError::TooManyInProgress {
            detail: format!(
                "this merchant already has {} event streams open (events.max_streams_per_merchant); close one first",
                refused.limit
            ),
            retry_after: RETRY_AFTER,
        }
    })?;
    let mut queue = VecDeque::new();
    if let Some(resume) = resume {
        let mut tx = db::tenant_tx(&state.pool, merchant.merchant_id).await.map_err(ApiError::from_database)?;
        let retained = stream::is_retained(&mut tx, resume).await.map_err(ApiError::from_database)?;
        crate::auth::commit(tx).await?;
        if !retained {
            let data = json!({
                "last_event_id": resume,
                "detail": "this event is no longer kept (or was never this merchant's); events may have been \
                           missed, every event still kept follows",
            });
            queue.push_back(Event::default().event("reset").data(data.to_string()));
        }
    }
    metrics::gauge!("recete_event_streams_open").increment(1.0);
    let reader = Reader {
        pool: state.pool.clone(),
        keyring: state.keyring.clone(),
        merchant: merchant.merchant_id,
        closing: state.event_streams.wakeups.closing(),
        poll: state.event_streams.poll,
        subscription: Some(subscription),
        resume,
        sent: BTreeSet::new(),
        newest: None,
        queue,
        read_now: true,
    };
    let events = futures_util::stream::unfold(reader, |mut reader| async move {
        let event = reader.next().await?;
        Some((Ok(event), reader))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(state.event_streams.heartbeat).text("heartbeat")))
}

fn last_event_id(headers: &HeaderMap) -> Result<Option<Uuid>, ApiError> {
    let invalid = || ApiError::InvalidField {
        field: "Last-Event-ID".into(),
        detail: "must be the id of an event received from this stream (a UUID)".into(),
    };
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| invalid())?.trim();
    if text.is_empty() {
        return Ok(None);
    }
    Uuid::parse_str(text).map(Some).map_err(|_| invalid())
}

/// One stream's position.
struct Reader {
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
    queue: VecDeque<Event>,
    /// A read is due before waiting (at the start, and after a batch that may have more).
    read_now: bool,
}

impl Drop for Reader {
    fn drop(&mut self) {
        metrics::gauge!("recete_event_streams_open").decrement(1.0);
    }
}

impl Reader {
    /// The next event to write, or `None` when the stream ends (shutdown, or a read failed: the
    /// client reconnects with `Last-Event-ID`).
    async fn next(&mut self) -> Option<Event> {
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
            self.queue.push_back(Event::default().id(newest.to_string()).event(row.event_type.as_str()).data(data));
        }
        tx.commit().await?;
        Ok(full)
    }
}

//! `GET /api/events/stream`: the merchant's events as Server-Sent Events, the same types and
//! bodies as the outbound webhooks (rendered by the same code, so personal data is handled the
//! same way). Each event's `id:` is its event id; a client reconnecting with `Last-Event-ID` gets
//! the events after it, in order, nothing twice. An id no longer kept (older than
//! `events.retention_days`) gets `event: reset` first, then every event still kept.
//!
//! An idle stream carries a comment line every `events.stream_heartbeat_secs`. New events wake
//! the stream through PostgreSQL notifications (see `merchant_events::wakeups`), and it reads
//! the table every `events.stream_poll_secs` anyway. One merchant may hold
//! `events.max_streams_per_merchant` streams open per API process; past it, 429. The stream itself
//! (reading, rendering, resuming) is `recete_shared::merchant_events::live`, which the console's
//! inbox uses too.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use recete_shared::merchant_events::live::{self, LiveEvent, OpenError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Merchant;
use crate::error::ApiError;
use crate::state::AppState;

pub const PATH: &str = "/api/events/stream";
/// A refused stream may try again after this long.
const RETRY_AFTER: Duration = Duration::from_secs(10);

/// What the streams of this process share (the console's inbox streams share it too).
pub use recete_shared::merchant_events::live::LiveStreams as EventStreams;

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
    let opened =
        live::open(&state.event_streams, &state.pool, state.keyring.clone(), merchant.merchant_id, resume).await;
    let stream = match opened {
        Ok(stream) => stream,
        Err(OpenError::TooMany(refused)) => {
            tracing::info!(merchant = %merchant.merchant_id, limit = refused.limit, "event stream refused: too many open");
            return Err(ApiError::TooManyInProgress {
                detail: format!(
                    "this merchant already has {} event streams open (events.max_streams_per_merchant); close one first",
                    refused.limit
                ),
                retry_after: RETRY_AFTER,
            });
        }
        Err(OpenError::Database(error)) => return Err(ApiError::from(error)),
    };
    let events = futures_util::stream::unfold(stream, |mut stream| async move {
        let event = stream.next().await?;
        Some((Ok(sse_event(event)), stream))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(state.event_streams.heartbeat).text("heartbeat")))
}

/// A live event as a Server-Sent Event.
pub fn sse_event(event: LiveEvent) -> Event {
    let sse = Event::default().event(event.event).data(event.data);
    match event.id {
        Some(id) => sse.id(id),
        None => sse,
    }
}

fn last_event_id(headers: &HeaderMap) -> Result<Option<Uuid>, ApiError> {
    let invalid = || ApiError::InvalidField {
        field: "Last-Event-ID".into(),
        detail: "must be the id of an event received from this stream (a UUID)".into(),
    };
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    live::parse_last_event_id(value.to_str().map_err(|_| invalid())?).map_err(|_| invalid())
}

//! `GET /console/inbox/events`: the signed-in user's merchant's events as Server-Sent Events, the
//! same stream the API serves at `/api/events/stream` (`merchant_events::live`: the same types,
//! the same bodies, `id:` to resume with `Last-Event-ID`, heartbeats). Opened fresh it starts
//! with what happens from now on, since the page it serves has just shown the current state.
//! `assets/inbox.js` reads it to refresh the inbox and the thread. Without a session it answers
//! like every console page: a redirect to sign in, no stream.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use recete_shared::merchant_events::live::{self, LiveEvent, OpenError};

use crate::error::PageError;
use crate::signed_in::ConsoleUser;
use crate::{ConsoleState, text};

/// A refused stream may try again after this long.
const RETRY_AFTER_SECS: u64 = 10;

pub async fn stream(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, PageError> {
    // A browser reconnecting sends the last id it saw; one that is not ours starts afresh.
    let resume = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| live::parse_last_event_id(value).ok().flatten());
    let keyring = state.keyring.clone();
    let opened = match resume {
        Some(resume) => live::open(&state.live, &state.pool, keyring, user.merchant_id, Some(resume)).await,
        None => live::open_from_now(&state.live, &state.pool, keyring, user.merchant_id).await,
    };
    let stream = match opened {
        Ok(stream) => stream,
        Err(OpenError::TooMany(refused)) => {
            tracing::info!(merchant = %user.merchant_id, limit = refused.limit, "console event stream refused: too many open");
            return Err(PageError::TooManyRequests {
                message: text::LIVE_UPDATES_BUSY.into(),
                retry_after_secs: RETRY_AFTER_SECS,
            });
        }
        Err(OpenError::Database(error)) => return Err(error.into()),
    };
    let events = futures_util::stream::unfold(stream, |mut stream| async move {
        let event = stream.next().await?;
        Some((Ok(sse_event(event)), stream))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(state.live.heartbeat).text("heartbeat")))
}

fn sse_event(event: LiveEvent) -> Event {
    let sse = Event::default().event(event.event).data(event.data);
    match event.id {
        Some(id) => sse.id(id),
        None => sse,
    }
}

//! The live event stream over a real socket: a client reads `GET /api/events/stream` as bytes
//! with reqwest and parses the Server-Sent Events itself, while the real workers raise the
//! events (a hand-over, a customer's message, an opt-out).

mod story;
mod stream;

use std::pin::Pin;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use serde_json::Value;

use crate::helpers::TestApp;

pub const PATH: &str = "/api/events/stream";

/// One Server-Sent Events message, or a comment (a heartbeat).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: Option<String>,
    pub comment: Option<String>,
}

impl Frame {
    pub fn json(&self) -> Value {
        serde_json::from_str(self.data.as_deref().expect("an event with data")).expect("JSON data")
    }

    pub fn is_heartbeat(&self) -> bool {
        self.comment.is_some() && self.event.is_none() && self.data.is_none()
    }
}

type Bytes = Pin<Box<dyn Stream<Item = reqwest::Result<Vec<u8>>> + Send>>;

/// An open stream, read frame by frame.
pub struct EventStream {
    body: Bytes,
    buffer: String,
}

/// Opens the stream with `key`, resuming after `last_event_id` when given; expects 200.
pub async fn open(app: &TestApp, key: &str, last_event_id: Option<&str>) -> EventStream {
    let response = request(app, key, last_event_id).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    EventStream::from(response)
}

/// The response to opening the stream, whatever it is.
pub async fn request(app: &TestApp, key: &str, last_event_id: Option<&str>) -> reqwest::Response {
    // No overall timeout: the stream stays open; each read below has its own.
    let client = reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).build().expect("client");
    let mut request = client.get(app.url(PATH)).bearer_auth(key);
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    request.send().await.expect("request sent")
}

impl From<reqwest::Response> for EventStream {
    fn from(response: reqwest::Response) -> Self {
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(content_type.as_deref(), Some("text/event-stream"));
        Self {
            body: Box::pin(response.bytes_stream().map(|chunk| chunk.map(|bytes| bytes.to_vec()))),
            buffer: String::new(),
        }
    }
}

impl EventStream {
    /// The next frame, or `None` when none arrives within `wait`.
    pub async fn next_frame(&mut self, wait: Duration) -> Option<Frame> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                return Some(parse(&block));
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.body.next()).await {
                Ok(Some(chunk)) => {
                    let chunk = chunk.expect("the stream reads");
                    self.buffer.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
                }
                Ok(None) => panic!("the server ended the stream; unread: {:?}", self.buffer),
                Err(_) => return None,
            }
        }
    }

    /// The next event (heartbeats skipped), failing after `seconds`.
    pub async fn next_event(&mut self, seconds: u64) -> Frame {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let left = deadline.checked_duration_since(Instant::now()).unwrap_or_default();
            let frame = self.next_frame(left).await.unwrap_or_else(|| panic!("no event within {seconds} s"));
            if !frame.is_heartbeat() {
                return frame;
            }
        }
    }

    /// Every frame arriving within `wait`.
    pub async fn frames_for(&mut self, wait: Duration) -> Vec<Frame> {
        let deadline = Instant::now() + wait;
        let mut frames = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.next_frame(left).await {
                Some(frame) => frames.push(frame),
                None => break,
            }
        }
        frames
    }
}

fn parse(block: &str) -> Frame {
    let mut frame = Frame::default();
    for line in block.lines() {
        if let Some(comment) = line.strip_prefix(':') {
            frame.comment = Some(comment.trim().to_owned());
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
        match field {
            "id" => frame.id = Some(value),
            "event" => frame.event = Some(value),
            "data" => {
                frame.data = Some(match frame.data.take() {
                    Some(before) => format!("{before}\n{value}"),
                    None => value,
                })
            }
            _ => {}
        }
    }
    frame
}

/// The merchant's event ids of `kind` in the table, oldest first (as the superuser).
pub async fn event_ids(app: &TestApp, merchant: uuid::Uuid, kind: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT id::text FROM merchant_events WHERE merchant_id = $1 AND type = $2 ORDER BY id")
        .bind(merchant)
        .bind(kind)
        .fetch_all(&app.admin)
        .await
        .expect("events")
}

//! A job's payload for a person to read: an event's raw body as the platform sent it (opened from
//! its sealed column), or a task's JSON; pretty-printed, with every value its source does not
//! list as non-personal redacted unless revealed ([`redact`]), and cut at a size limit.
//!
//! Memory: the opened body is parsed once into a JSON value and dropped, and the pretty text is
//! written through a writer that stops at the limit, so a 5 MB payload never becomes a 5 MB
//! string, let alone two.

use std::io;

use chrono::{DateTime, Utc};
use recete_platform::crypto::Keyring;
use recete_platform::db::{self, Tx};
use recete_platform::ids::IntegrationId;
use recete_shared::events::store::{OpenError, open_payload, payload_context};
use serde::Serialize;
use serde_json::Value;
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use super::redact;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayloadView {
    /// Pretty JSON (or the raw text of a body that is not JSON, when revealed), at most the
    /// limit's bytes, cut on a character boundary.
    pub text: String,
    pub truncated: bool,
    /// Size of the whole payload as received (an event's raw body, a task's JSON).
    pub total_bytes: usize,
    /// Personal values are hidden in `text`.
    pub redacted: bool,
    /// How many values were hidden.
    pub redacted_values: usize,
    /// The customer the event named was erased: its payload is a tombstone, nothing to show.
    pub erased_at: Option<DateTime<Utc>>,
    /// Why `text` is empty or partial, in words.
    pub note: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("the job tables could not be read: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the event's payload could not be opened: {0}")]
    Open(#[from] OpenError),
    #[error("max_bytes: must be at least 1")]
    Limit,
}

#[derive(FromRow)]
struct EventPayload {
    integration_id: Uuid,
    source: String,
    dedup_key: String,
    key_id: String,
    payload_sealed: Vec<u8>,
    erased_at: Option<DateTime<Utc>>,
}

/// The payload of the job `id`, or `None` when no job has that id. `reveal` shows personal
/// values; the caller records that it did.
pub async fn payload(
    pool: &PgPool,
    keyring: &Keyring,
    id: Uuid,
    reveal: bool,
    max_bytes: usize,
) -> Result<Option<PayloadView>, PayloadError> {
    if max_bytes == 0 {
        return Err(PayloadError::Limit);
    }
    let mut tx = db::system_tx(pool).await?;
    let view = match read_event(&mut tx, id).await? {
        Some(event) => Some(event_view(keyring, event, reveal, max_bytes)?),
        None => read_task(&mut tx, id)
            .await?
            .map(|(json, bytes)| render_json(json, redact::Source::Task, bytes, reveal, max_bytes)),
    };
    tx.commit().await?;
    Ok(view)
}

async fn read_event(tx: &mut Tx, id: Uuid) -> Result<Option<EventPayload>, sqlx::Error> {
    sqlx::query_as(
        "SELECT integration_id, source, dedup_key, key_id,
                CASE WHEN erased_at IS NULL THEN payload_sealed ELSE ''::bytea END AS payload_sealed, erased_at
         FROM external_events WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

async fn read_task(tx: &mut Tx, id: Uuid) -> Result<Option<(Value, usize)>, sqlx::Error> {
    let row: Option<(Value, i64)> =
        sqlx::query_as("SELECT payload, octet_length(payload::text)::bigint FROM scheduled_tasks WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.map(|(json, bytes)| (json, usize::try_from(bytes).unwrap_or(0))))
}

fn event_view(
    keyring: &Keyring,
    event: EventPayload,
    reveal: bool,
    max_bytes: usize,
) -> Result<PayloadView, OpenError> {
    if let Some(erased_at) = event.erased_at {
        return Ok(PayloadView {
            text: String::new(),
            truncated: false,
            total_bytes: 0,
            redacted: !reveal,
            redacted_values: 0,
            erased_at: Some(erased_at),
            note: Some(format!(
                "erased on {}: the customer this event named was erased, and its payloads with them",
                erased_at.format("%Y-%m-%d %H:%M UTC")
            )),
        });
    }
    let context = payload_context(IntegrationId::from_uuid(event.integration_id), &event.dedup_key, "payload");
    let body = open_payload(keyring, &event.key_id, &event.payload_sealed, &context)?;
    let source = redact::Source::of_event(&event.source);
    drop(event);
    let total_bytes = body.len();
    Ok(match serde_json::from_slice::<Value>(&body) {
        Ok(json) => {
            drop(body);
            render_json(json, source, total_bytes, reveal, max_bytes)
        }
        Err(_) => render_text(&body, reveal, max_bytes),
    })
}

fn render_json(
    mut json: Value,
    source: redact::Source,
    total_bytes: usize,
    reveal: bool,
    max_bytes: usize,
) -> PayloadView {
    let redacted_values = if reveal { 0 } else { redact::redact(&mut json, source) };
    let mut writer = BoundedWriter::new(max_bytes);
    // A full writer stops serialization with an error on purpose; `truncated` tells it apart.
    let written = serde_json::to_writer_pretty(&mut writer, &json);
    let truncated = writer.full;
    let note = match written {
        Err(error) if !truncated => Some(format!("the payload could not be printed whole: {error}")),
        _ => truncated.then(|| format!("cut at {max_bytes} bytes")),
    };
    PayloadView {
        text: writer.into_text(),
        truncated,
        total_bytes,
        redacted: !reveal,
        redacted_values,
        erased_at: None,
        note,
    }
}

/// A body that is not JSON: its personal data cannot be picked out, so it shows only revealed.
fn render_text(body: &[u8], reveal: bool, max_bytes: usize) -> PayloadView {
    let total_bytes = body.len();
    if !reveal {
        return PayloadView {
            text: String::new(),
            truncated: false,
            total_bytes,
            redacted: true,
            redacted_values: 1,
            erased_at: None,
            note: Some(format!("not JSON ({total_bytes} bytes): shown only when revealed")),
        };
    }
    let truncated = total_bytes > max_bytes;
    let mut writer = BoundedWriter::new(max_bytes);
    writer.keep(&String::from_utf8_lossy(&body[..total_bytes.min(max_bytes)]).into_owned().into_bytes());
    PayloadView {
        text: writer.into_text(),
        truncated,
        total_bytes,
        redacted: false,
        redacted_values: 0,
        erased_at: None,
        note: Some(if truncated { format!("not JSON; cut at {max_bytes} bytes") } else { "not JSON".to_owned() }),
    }
}

/// Keeps the first `limit` bytes written and then refuses more.
struct BoundedWriter {
    kept: Vec<u8>,
    limit: usize,
    full: bool,
}

impl BoundedWriter {
    fn new(limit: usize) -> Self {
        Self { kept: Vec::with_capacity(limit.min(64 * 1024)), limit, full: false }
    }

    fn keep(&mut self, bytes: &[u8]) {
        let room = self.limit - self.kept.len();
        if bytes.len() > room {
            self.kept.extend_from_slice(&bytes[..room]);
            self.full = true;
        } else {
            self.kept.extend_from_slice(bytes);
        }
    }

    /// The text kept, without a character cut in half at the limit.
    fn into_text(self) -> String {
        match String::from_utf8(self.kept) {
            Ok(text) => text,
            Err(error) => {
                let valid = error.utf8_error().valid_up_to();
                let mut bytes = error.into_bytes();
                bytes.truncate(valid);
                String::from_utf8(bytes).unwrap_or_default()
            }
        }
    }
}

impl io::Write for BoundedWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.full {
            return Err(io::Error::other("payload preview is full"));
        }
        self.keep(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_cut_never_splits_a_character() {
        // `{\n  "a": "` is 10 bytes; byte 13 falls inside the second `ç`.
        let view = render_json(json!({ "a": "çççç" }), redact::Source::Task, 0, true, 13);
        assert!(view.truncated);
        assert_eq!(view.text, "{\n  \"a\": \"ç");
    }

    #[test]
    fn a_payload_that_fits_is_whole_and_says_nothing() {
        let view = render_json(json!({ "sku": "SERUM-30" }), redact::Source::Generic, 16, false, 1000);
        assert_eq!(view.text, "{\n  \"sku\": \"SERUM-30\"\n}");
        assert!(!view.truncated && view.redacted && view.note.is_none());
    }

    #[test]
    fn bodies_that_are_not_json_show_only_when_revealed() {
        let hidden = render_text(b"phone=905551112233", false, 100);
        assert!(hidden.text.is_empty() && hidden.redacted);
        let shown = render_text("çç phone".as_bytes(), true, 3);
        assert_eq!(shown.text, "ç");
        assert!(shown.truncated);
    }
}

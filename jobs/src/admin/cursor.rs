//! Opaque page cursors: where the last page ended, bound to the filter that made it. A cursor
//! carried over to another filter would silently skip or repeat jobs, so it is refused.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::DateTime;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::filter::JobFilter;
use super::sql::Position;

const VERSION: &str = "1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("after: the page cursor is malformed; start again from the first page")]
    Malformed,
    #[error("after: the page cursor belongs to another search; start again from the first page")]
    OtherFilter,
}

pub(crate) fn encode(position: Position, filter: &JobFilter) -> String {
    let text = format!(
        "{VERSION}|{}|{}|{}",
        position.created_at.timestamp_micros(),
        position.id.simple(),
        fingerprint(filter)
    );
    URL_SAFE_NO_PAD.encode(text)
}

pub(crate) fn decode(cursor: &str, filter: &JobFilter) -> Result<Position, CursorError> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| CursorError::Malformed)?;
    let text = String::from_utf8(bytes).map_err(|_| CursorError::Malformed)?;
    let mut parts = text.split('|');
    let (Some(VERSION), Some(micros), Some(id), Some(print), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(CursorError::Malformed);
    };
    let created_at =
        micros.parse::<i64>().ok().and_then(DateTime::from_timestamp_micros).ok_or(CursorError::Malformed)?;
    let id: Uuid = id.parse().map_err(|_| CursorError::Malformed)?;
    if print != fingerprint(filter) {
        return Err(CursorError::OtherFilter);
    }
    Ok(Position { created_at, id })
}

/// Short, not secret: it only has to tell filters apart.
fn fingerprint(filter: &JobFilter) -> String {
    let digest = Sha256::digest(filter.to_query().as_bytes());
    digest.iter().take(6).map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::filter::JobState;

    #[test]
    fn a_cursor_opens_only_under_its_own_filter() {
        let position = Position {
            created_at: DateTime::from_timestamp_micros(1_795_000_000_123_456).expect("time"),
            id: Uuid::from_u128(42),
        };
        let dead = JobFilter { state: Some(JobState::Dead), ..JobFilter::default() };
        let cursor = encode(position, &dead);
        assert_eq!(decode(&cursor, &dead), Ok(position));
        assert_eq!(decode(&cursor, &JobFilter::default()), Err(CursorError::OtherFilter));
        assert_eq!(decode("not a cursor", &dead), Err(CursorError::Malformed));
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("1|x|y|z"), &dead), Err(CursorError::Malformed));
    }
}

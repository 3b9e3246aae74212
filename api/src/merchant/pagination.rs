//! Keyset pagination shared by every list: a `limit` and an opaque cursor holding the last row's
//! sort key, so a page is as fast at row one million as at row one and never skips or repeats a
//! row when others are inserted meanwhile.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// The page size asked for, checked.
pub fn limit(asked: Option<i64>) -> Result<i64, ApiError> {
    let limit = asked.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::InvalidField {
            field: "limit".into(),
            detail: format!("must be between 1 and {MAX_LIMIT}"),
        });
    }
    Ok(limit)
}

/// A cursor after the row sorted at `(at, id)`.
pub fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", at.to_rfc3339()))
}

/// The position after which a page starts: none for the first page (no cursor, or an empty one
/// as some clients send for "no value").
pub fn after(cursor: Option<&str>) -> Result<Option<(DateTime<Utc>, Uuid)>, ApiError> {
    cursor.map(str::trim).filter(|c| !c.is_empty()).map(decode_cursor).transpose()
}

pub fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let invalid =
        || ApiError::InvalidField { field: "cursor".into(), detail: "is not a cursor this API returned".into() };
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (at, id) = text.split_once('|').ok_or_else(invalid)?;
    let at = DateTime::parse_from_rfc3339(at).map_err(|_| invalid())?.with_timezone(&Utc);
    Ok((at, Uuid::parse_str(id).map_err(|_| invalid())?))
}

/// Cuts a page fetched with `limit + 1` rows to `limit`, and gives the cursor of the next page
/// when there is one.
pub fn finish_page<T>(rows: &mut Vec<T>, limit: i64, sort_key: impl Fn(&T) -> (DateTime<Utc>, Uuid)) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() <= limit {
        return None;
    }
    rows.truncate(limit);
    rows.last().map(|last| {
        let (at, id) = sort_key(last);
        encode_cursor(at, id)
    })
}

/// `from`/`to` filters, checked to be in order.
pub fn check_range(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<(), ApiError> {
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(ApiError::InvalidField { field: "from".into(), detail: "must not be after `to`".into() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_a_named_error() {
        let at = Utc::now();
        let id = Uuid::now_v7();
        let (back_at, back_id) = decode_cursor(&encode_cursor(at, id)).expect("own cursor");
        assert_eq!((back_at.timestamp_micros(), back_id), (at.timestamp_micros(), id));
        assert!(
            matches!(decode_cursor("not a cursor"), Err(ApiError::InvalidField { field, .. }) if field == "cursor")
        );
    }

    #[test]
    fn a_full_page_gets_a_cursor_and_a_short_one_does_not() {
        let now = Utc::now();
        let mut rows: Vec<(DateTime<Utc>, Uuid)> = (0..3).map(|_| (now, Uuid::now_v7())).collect();
        let third = rows[1];
        assert_eq!(finish_page(&mut rows, 2, |row| *row), Some(encode_cursor(third.0, third.1)));
        assert_eq!(rows.len(), 2);
        assert_eq!(finish_page(&mut rows, 5, |row| *row), None);
        assert!(limit(Some(0)).is_err() && limit(Some(201)).is_err() && limit(None).is_ok());
    }
}

//! Keyset pagination for the console's lists, as the API's: a page is fetched with one row more
//! than it shows, and the cursor of the next page holds the last shown row's sort key (its time
//! in microseconds and its id), so rows inserted meanwhile are neither skipped nor repeated.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::PageError;
use crate::text;

/// Rows a console list shows per page.
pub const PAGE_SIZE: i64 = 50;

pub fn encode(at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}.{id}", at.timestamp_micros())
}

/// The position after which a page starts; none (or empty) for the first page.
pub fn decode(cursor: Option<&str>) -> Result<Option<(DateTime<Utc>, Uuid)>, PageError> {
    let Some(cursor) = cursor.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let bad = || PageError::BadRequest(text::BAD_CURSOR.into());
    let (micros, id) = cursor.split_once('.').ok_or_else(bad)?;
    let at = micros.parse::<i64>().ok().and_then(DateTime::from_timestamp_micros).ok_or_else(bad)?;
    Ok(Some((at, id.parse().map_err(|_| bad())?)))
}

/// Cuts rows fetched with `limit + 1` to `limit`; the next page's cursor when there is one.
pub fn finish<T>(rows: &mut Vec<T>, limit: i64, key: impl Fn(&T) -> (DateTime<Utc>, Uuid)) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() <= limit {
        return None;
    }
    rows.truncate(limit);
    rows.last().map(|last| {
        let (at, id) = key(last);
        encode(at, id)
    })
}

/// `path?query&cursor=…`: the same filters, the next page.
pub fn next_href(path: &str, filters: &[(&str, &str)], cursor: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in filters.iter().filter(|(_, value)| !value.is_empty()) {
        query.append_pair(key, value);
    }
    query.append_pair("cursor", cursor);
    format!("{path}?{}", query.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let at = DateTime::from_timestamp_micros(1_796_000_000_123_456).expect("time");
        let id = Uuid::now_v7();
        assert_eq!(decode(Some(&encode(at, id))).expect("own cursor"), Some((at, id)));
        assert_eq!(decode(Some("")).expect("empty"), None);
        assert!(decode(Some("yesterday")).is_err());
        assert!(decode(Some("12.not-a-uuid")).is_err());
    }

    #[test]
    fn a_full_page_gets_a_next_link_with_its_filters() {
        let now = Utc::now();
        let mut rows: Vec<(DateTime<Utc>, Uuid)> = (0..3).map(|_| (now, Uuid::now_v7())).collect();
        let second = rows[1];
        assert_eq!(finish(&mut rows, 2, |row| *row), Some(encode(second.0, second.1)));
        assert_eq!(finish(&mut rows, 2, |row| *row), None);
        let href = next_href("/console/orders", &[("status", "paid"), ("number", "")], "1.x");
        assert_eq!(href, "/console/orders?status=paid&cursor=1.x");
    }
}

//! Keyset pagination shared by every list: a `limit` and an opaque cursor holding the last row's
//! sort key, so a page is as fast at row one million as at row one and never skips or repeats a
//! row when others are inserted meanwhile.
//!
//! A list handler takes a [`ListQuery`] (the page asked for, checked, beside the route's own
//! filters), fetches [`PageRequest::fetch_limit`] rows after [`PageRequest::after`], and answers
//! [`PageRequest::page`]: a [`Page`] of the items under their own key with the next cursor.

use std::borrow::Cow;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract;

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

/// A pair of time filters (`from`/`to`, `created_from`/`created_to`, ...), checked to be in
/// order; the error names the first.
pub fn check_range(
    (from_name, from): (&str, Option<DateTime<Utc>>),
    (to_name, to): (&str, Option<DateTime<Utc>>),
) -> Result<(), ApiError> {
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(ApiError::InvalidField {
            field: from_name.into(),
            detail: format!("must not be after `{to_name}`"),
        });
    }
    Ok(())
}

/// The page a list request asks for, checked.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    /// Rows on the page.
    pub limit: i64,
    /// The sort key of the last row of the previous page; none for the first page.
    pub after: Option<(DateTime<Utc>, Uuid)>,
}

impl PageRequest {
    pub fn new(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, ApiError> {
        Ok(Self { limit: self::limit(limit)?, after: after(cursor)? })
    }

    /// Rows to fetch: one more than the page holds, which tells whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }

    /// The page of `rows` (fetched with [`Self::fetch_limit`]), with the cursor of the next.
    pub fn page<T>(&self, mut rows: Vec<T>, sort_key: impl Fn(&T) -> (DateTime<Utc>, Uuid)) -> Page<T> {
        let next_cursor = finish_page(&mut rows, self.limit, sort_key);
        Page { items: rows, next_cursor }
    }
}

/// `limit` and `cursor` as the API documents them for every list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PageParams {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A list's query string: the page ([`PageParams`], checked) and the route's own filters `F`,
/// which may not repeat `limit` or `cursor`. An unknown, malformed or out-of-range parameter is a
/// 422 naming it, as with [`extract::Query`].
pub struct ListQuery<F> {
    pub page: PageRequest,
    pub filter: F,
}

impl<S, F> FromRequestParts<S> for ListQuery<F>
where
    S: Send + Sync,
    F: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let (mut limit, mut cursor) = (None, None);
        let mut rest = form_urlencoded::Serializer::new(String::new());
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                "limit" => &mut limit,
                "cursor" => &mut cursor,
                _ => {
                    rest.append_pair(&name, &value);
                    continue;
                }
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(ApiError::InvalidField {
                    field: "query".into(),
                    detail: format!("duplicate field `{name}`"),
                });
            }
        }
        let limit = limit
            .map(|raw| raw.parse::<i64>())
            .transpose()
            .map_err(|error| ApiError::InvalidField { field: "limit".into(), detail: error.to_string() })?;
        let page = PageRequest::new(limit, cursor.as_deref())?;
        let filter = extract::parse_query(&rest.finish())?;
        Ok(Self { page, filter })
    }
}

/// The filters of a list that has none but the page.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoFilter {}

/// An item of a list: the key its page holds the items under, and the name of the page's schema.
pub trait Listed: Serialize + ToSchema {
    /// `customers` in `{"customers": [...], "next_cursor": ...}`.
    const KEY: &'static str;
    /// The page's schema in the OpenAPI document, such as `CustomerList`.
    const LIST: &'static str;
}

/// One page of a list: `{"<items' key>": [...], "next_cursor": "..."}`.
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T: Listed> Serialize for Page<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry(T::KEY, &self.items)?;
        map.serialize_entry("next_cursor", &self.next_cursor)?;
        map.end()
    }
}

impl<T: Listed> PartialSchema for Page<T> {
    fn schema() -> RefOr<Schema> {
        let items = ArrayBuilder::new().items(Ref::from_schema_name(T::name()));
        let next_cursor = ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .description(Some("Pass as `cursor` for the next page; absent on the last page."));
        ObjectBuilder::new().property(T::KEY, items).required(T::KEY).property("next_cursor", next_cursor).into()
    }
}

impl<T: Listed> ToSchema for Page<T> {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed(T::LIST)
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(schemas);
    }
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

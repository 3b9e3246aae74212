//! Which jobs an operator is looking at, to and from a URL query string, so every search can be
//! bookmarked and shared. Empty values mean "any"; anything else must parse, or the error names
//! the field.

use std::borrow::Cow;

use crate::QueueName;
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use super::state::JobState;
use super::state::JobTable;

/// Query keys that belong to the page, not the filter; [`JobFilter::from_query`] skips them.
pub const PAGE_KEYS: &[&str] = &["after", "limit"];

/// Longest free-text value (an order or external id) accepted.
const MAX_TEXT_CHARS: usize = 200;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobFilter {
    pub id: Option<Uuid>,
    /// A queue's name (`order-events`, `messages`...).
    pub queue: Option<String>,
    /// An event's `kind` (`order.paid`) or a task's `kind` (`follow_up`).
    pub kind: Option<String>,
    pub state: Option<JobState>,
    pub merchant: Option<Uuid>,
    /// The store's order id, or our own order id (a UUID).
    pub order: Option<String>,
    /// An event's `platform_event_id`, or a task's `unique_key`.
    pub external_id: Option<String>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("{field}: {problem}")]
    Invalid { field: &'static str, problem: String },
    #[error("`{0}` is not a job filter (id, queue, kind, state, merchant, order, external_id, from, to)")]
    UnknownField(String),
    #[error("{0}: given more than once")]
    Repeated(String),
}

impl FilterError {
    /// The query key at fault.
    pub fn field(&self) -> &str {
        match self {
            Self::Invalid { field, .. } => field,
            Self::UnknownField(field) | Self::Repeated(field) => field,
        }
    }
}

fn invalid(field: &'static str, problem: impl Into<String>) -> FilterError {
    FilterError::Invalid { field, problem: problem.into() }
}

impl JobFilter {
    /// Parses `id=…&state=dead&…` (with or without a leading `?`). Keys in [`PAGE_KEYS`] are
    /// skipped; any other unknown key is refused, so a mistyped filter never shows every job.
    pub fn from_query(query: &str) -> Result<Self, FilterError> {
        Self::from_pairs(form_urlencoded::parse(query.trim_start_matches('?').as_bytes()))
    }

    /// Like [`JobFilter::from_query`], from pairs already split (a form body, an axum query).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (Cow<'a, str>, Cow<'a, str>)>) -> Result<Self, FilterError> {
        let mut filter = Self::default();
        let mut seen: Vec<String> = Vec::new();
        for (key, value) in pairs {
            if PAGE_KEYS.contains(&key.as_ref()) {
                continue;
            }
            if seen.iter().any(|k| k == key.as_ref()) {
                return Err(FilterError::Repeated(key.into_owned()));
            }
            seen.push(key.to_string());
            let value = value.trim();
            if value.is_empty() {
                if !FIELDS.contains(&key.as_ref()) {
                    return Err(FilterError::UnknownField(key.into_owned()));
                }
                continue;
            }
            match key.as_ref() {
                "id" => filter.id = Some(parse_uuid("id", value)?),
                "queue" => {
                    let queue: QueueName = value.parse().map_err(|e: crate::control::UnknownQueue| {
                        invalid("queue", format!("{e} (one of {})", queue_names()))
                    })?;
                    filter.queue = Some(queue.as_str().to_owned());
                }
                "kind" => filter.kind = Some(text("kind", value)?),
                "state" => {
                    filter.state =
                        Some(value.parse().map_err(|e: super::state::UnknownState| invalid("state", e.to_string()))?)
                }
                "merchant" => filter.merchant = Some(parse_uuid("merchant", value)?),
                "order" => filter.order = Some(text("order", value)?),
                "external_id" => filter.external_id = Some(text("external_id", value)?),
                "from" => filter.from = Some(parse_time("from", value)?),
                "to" => filter.to = Some(parse_time("to", value)?),
                _ => return Err(FilterError::UnknownField(key.into_owned())),
            }
        }
        filter.validate()?;
        Ok(filter)
    }

    /// The query string of this filter (no leading `?`), fields in a fixed order, absent fields
    /// left out: equal filters give equal strings.
    pub fn to_query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(id) = self.id {
            query.append_pair("id", &id.to_string());
        }
        if let Some(queue) = &self.queue {
            query.append_pair("queue", queue);
        }
        if let Some(kind) = &self.kind {
            query.append_pair("kind", kind);
        }
        if let Some(state) = self.state {
            query.append_pair("state", state.as_str());
        }
        if let Some(merchant) = self.merchant {
            query.append_pair("merchant", &merchant.to_string());
        }
        if let Some(order) = &self.order {
            query.append_pair("order", order);
        }
        if let Some(external_id) = &self.external_id {
            query.append_pair("external_id", external_id);
        }
        if let Some(from) = self.from {
            query.append_pair("from", &from.to_rfc3339_opts(SecondsFormat::AutoSi, true));
        }
        if let Some(to) = self.to {
            query.append_pair("to", &to.to_rfc3339_opts(SecondsFormat::AutoSi, true));
        }
        query.finish()
    }

    /// Checks what a filter built in code (not parsed) could still get wrong.
    pub fn validate(&self) -> Result<(), FilterError> {
        if let Some(queue) = &self.queue {
            queue.parse::<QueueName>().map_err(|e| invalid("queue", format!("{e} (one of {})", queue_names())))?;
        }
        for (field, value) in [("kind", &self.kind), ("order", &self.order), ("external_id", &self.external_id)] {
            if let Some(value) = value {
                text(field, value)?;
            }
        }
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from >= to
        {
            return Err(invalid("from", "must be earlier than `to`"));
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The queue, parsed (it is checked when the filter is made).
    pub(crate) fn queue_name(&self) -> Option<QueueName> {
        self.queue.as_deref().and_then(|name| name.parse().ok())
    }

    /// Whether rows of `table` can match at all: a queue belongs to one table, and tasks are
    /// never ignored.
    pub(crate) fn may_match(&self, table: JobTable) -> bool {
        if self.state == Some(JobState::Ignored) && table == JobTable::ScheduledTasks {
            return false;
        }
        match self.queue_name() {
            Some(queue) => queue_table(queue) == table,
            None => true,
        }
    }
}

const FIELDS: &[&str] = &["id", "queue", "kind", "state", "merchant", "order", "external_id", "from", "to"];

/// The table a queue's rows are in.
pub(crate) fn queue_table(queue: QueueName) -> JobTable {
    match queue {
        QueueName::OrderEvents | QueueName::WhatsAppEvents => JobTable::ExternalEvents,
        QueueName::Messages
        | QueueName::Knowledge
        | QueueName::Conversations
        | QueueName::Imports
        | QueueName::Webhooks => JobTable::ScheduledTasks,
    }
}

/// The queue a row is on, from its table and its feed column (an event's source, a task's kind).
pub(crate) fn queue_of(table: JobTable, feed: &str) -> Option<QueueName> {
    QueueName::ALL.iter().copied().find(|queue| queue_table(*queue) == table && queue.feeds_on().contains(&feed))
}

fn queue_names() -> String {
    QueueName::ALL.iter().map(QueueName::as_str).collect::<Vec<_>>().join(", ")
}

fn parse_uuid(field: &'static str, value: &str) -> Result<Uuid, FilterError> {
    value.parse().map_err(|_| invalid(field, format!("`{}` is not a UUID", shorten(value))))
}

fn text(field: &'static str, value: &str) -> Result<String, FilterError> {
    if value.chars().count() > MAX_TEXT_CHARS {
        return Err(invalid(field, format!("longer than {MAX_TEXT_CHARS} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "contains control characters"));
    }
    Ok(value.to_owned())
}

/// RFC 3339 (`2026-11-23T10:00:00Z`), a browser's `datetime-local` (`2026-11-23T10:00`, read as
/// UTC) or a date (`2026-11-23`, its start in UTC).
fn parse_time(field: &'static str, value: &str) -> Result<DateTime<Utc>, FilterError> {
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        return Ok(time.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(time) = NaiveDateTime::parse_from_str(value, format) {
            return Ok(time.and_utc());
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        && let Some(start) = date.and_hms_opt(0, 0, 0)
    {
        return Ok(start.and_utc());
    }
    Err(invalid(
        field,
        format!("`{}` is not a time (2026-11-23T10:00:00Z, 2026-11-23T10:00 UTC or 2026-11-23)", shorten(value)),
    ))
}

/// Echoes at most a few dozen characters of a bad value back.
fn shorten(value: &str) -> String {
    const ECHO: usize = 40;
    if value.chars().count() <= ECHO {
        value.to_owned()
    } else {
        format!("{}…", value.chars().take(ECHO).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_field(query: &str) -> String {
        JobFilter::from_query(query).expect_err(query).field().to_owned()
    }

    #[test]
    fn a_filter_survives_its_own_query_string() {
        let filter = JobFilter {
            id: Some(Uuid::from_u128(7)),
            queue: Some("messages".into()),
            kind: Some("follow_up".into()),
            state: Some(JobState::Retrying),
            merchant: Some(Uuid::from_u128(9)),
            order: Some("#1001 & co".into()),
            external_id: Some("step:3d".into()),
            from: Some(DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z").expect("time").with_timezone(&Utc)),
            to: Some(DateTime::parse_from_rfc3339("2026-11-02T12:30:00.250Z").expect("time").with_timezone(&Utc)),
        };
        let query = filter.to_query();
        assert_eq!(JobFilter::from_query(&query), Ok(filter.clone()));
        assert_eq!(JobFilter::from_query(&format!("?{query}&after=abc&limit=50")), Ok(filter));
    }

    #[test]
    fn empty_values_are_absent_and_times_come_in_three_spellings() {
        let filter = JobFilter::from_query("id=&queue=&state=dead&from=2026-11-23&to=2026-11-23T10:30").expect("valid");
        assert_eq!(filter.state, Some(JobState::Dead));
        assert_eq!(filter.id, None);
        assert_eq!(filter.from.map(|t| t.to_rfc3339()), Some("2026-11-23T00:00:00+00:00".into()));
        assert_eq!(filter.to.map(|t| t.to_rfc3339()), Some("2026-11-23T10:30:00+00:00".into()));
        assert!(JobFilter::from_query("").expect("empty").is_empty());
    }

    #[test]
    fn each_bad_value_names_its_field() {
        assert_eq!(error_field("id=42"), "id");
        assert_eq!(error_field("merchant=shop"), "merchant");
        assert_eq!(error_field("queue=orders"), "queue");
        assert_eq!(error_field("state=failed"), "state");
        assert_eq!(error_field("from=yesterday"), "from");
        assert_eq!(error_field("to=2026-13-01"), "to");
        assert_eq!(error_field("from=2026-11-02&to=2026-11-01"), "from");
        assert_eq!(error_field("stat=dead"), "stat");
        assert_eq!(error_field("state=dead&state=done"), "state");
        assert_eq!(error_field(&format!("order={}", "9".repeat(201))), "order");
        let message = JobFilter::from_query("queue=orders").expect_err("unknown queue").to_string();
        assert!(message.starts_with("queue: ") && message.contains("order-events"), "{message}");
    }

    #[test]
    fn every_feed_belongs_to_exactly_one_queue() {
        for queue in QueueName::ALL {
            for feed in queue.feeds_on() {
                assert_eq!(queue_of(queue_table(*queue), feed), Some(*queue));
            }
        }
        assert_eq!(queue_of(JobTable::ExternalEvents, "follow_up"), None);
    }
}

//! The inbox people work from: conversations handed over to a person first, the one waiting
//! longest at the top (with how long and why), then every other conversation, newest activity
//! first; each with the customer's name and masked phone. Keyset pages run through both parts in
//! that order.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use super::{ConversationError, ConversationState};
use crate::customers::{SEALED_COLUMNS, SealedContact};
use crate::message_bodies::BodyError;
use recete_platform::crypto::Keyring;
use recete_platform::db::Tx;
use recete_platform::ids::MerchantId;

/// One conversation as the inbox lists it.
#[derive(Debug, Clone)]
pub struct InboxEntry {
    pub id: Uuid,
    pub state: ConversationState,
    /// When the conversation went to a person (while handed over).
    pub handed_over_at: Option<DateTime<Utc>>,
    pub handover_reason: Option<String>,
    pub last_message_at: Option<DateTime<Utc>>,
    pub window_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub customer_name: Option<String>,
    /// `+90 ****67`; none once the customer's data was erased.
    pub customer_phone: Option<String>,
}

impl InboxEntry {
    /// The last activity: the newest message, or the start.
    pub fn active_at(&self) -> DateTime<Utc> {
        self.last_message_at.unwrap_or(self.created_at)
    }

    /// Whether free-form text may be sent now.
    pub fn window_open(&self, now: DateTime<Utc>) -> bool {
        self.window_expires_at.is_some_and(|expires| expires > now)
    }
}

#[derive(FromRow)]
struct Row {
    id: Uuid,
    state: ConversationState,
    handed_over_at: Option<DateTime<Utc>>,
    handover_reason: Option<String>,
    last_message_at: Option<DateTime<Utc>>,
    window_expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    #[sqlx(flatten)]
    sealed: SealedContact,
}

fn select() -> String {
    format!(
        "SELECT v.id, v.state, v.handed_over_at, v.handover_reason, v.last_message_at, v.window_expires_at,
                v.created_at, {SEALED_COLUMNS}
         FROM conversations v JOIN customers c ON c.id = v.customer_id"
    )
}

/// Where the next page starts: within the handed-over part (oldest hand-over first) or within
/// the rest (newest activity first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxCursor {
    HandedOver { at: DateTime<Utc>, id: Uuid },
    Rest { at: DateTime<Utc>, id: Uuid },
}

impl fmt::Display for InboxCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (part, at, id) = match self {
            Self::HandedOver { at, id } => ("h", at, id),
            Self::Rest { at, id } => ("r", at, id),
        };
        write!(f, "{part}.{}.{}", at.timestamp_micros(), id.simple())
    }
}

/// A cursor that is not one this inbox gave out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a cursor of the inbox; follow the links of the pages")]
pub struct BadCursor(pub String);

impl FromStr for InboxCursor {
    type Err = BadCursor;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadCursor(text.chars().take(80).collect());
        let mut parts = text.splitn(3, '.');
        let (Some(part), Some(micros), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let at = micros.parse::<i64>().ok().and_then(DateTime::from_timestamp_micros).ok_or_else(bad)?;
        let id = Uuid::parse_str(id).map_err(|_| bad())?;
        match part {
            "h" => Ok(Self::HandedOver { at, id }),
            "r" => Ok(Self::Rest { at, id }),
            _ => Err(bad()),
        }
    }
}

/// One page of the inbox and where the next one starts.
#[derive(Debug)]
pub struct InboxPage {
    pub entries: Vec<InboxEntry>,
    pub next: Option<InboxCursor>,
}

/// Up to `limit` conversations from `cursor` on (from the top when `None`).
pub async fn page(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    cursor: Option<InboxCursor>,
    limit: i64,
) -> Result<InboxPage, ConversationError> {
    let limit = limit.max(1);
    let mut rows: Vec<(bool, Row)> = Vec::new();
    let rest_after = match cursor {
        Some(InboxCursor::Rest { at, id }) => Some((at, id)),
        handed_over_cursor => {
            let after = match handed_over_cursor {
                Some(InboxCursor::HandedOver { at, id }) => Some((at, id)),
                _ => None,
            };
            let handed: Vec<Row> = sqlx::query_as(&format!(
                "{} WHERE v.state = 'handed_over'
                   AND ($1::timestamptz IS NULL OR (coalesce(v.handed_over_at, v.created_at), v.id) > ($1, $2))
                 ORDER BY coalesce(v.handed_over_at, v.created_at), v.id
                 LIMIT $3",
                select()
            ))
            .bind(after.map(|(at, _)| at))
            .bind(after.map(|(_, id)| id))
            .bind(limit + 1)
            .fetch_all(&mut **tx)
            .await?;
            rows.extend(handed.into_iter().map(|row| (true, row)));
            None
        }
    };
    let wanted = limit + 1 - rows.len() as i64;
    if wanted > 0 {
        let rest: Vec<Row> = sqlx::query_as(&format!(
            "{} WHERE v.state <> 'handed_over'
               AND ($1::timestamptz IS NULL OR (coalesce(v.last_message_at, v.created_at), v.id) < ($1, $2))
             ORDER BY coalesce(v.last_message_at, v.created_at) DESC, v.id DESC
             LIMIT $3",
            select()
        ))
        .bind(rest_after.map(|(at, _)| at))
        .bind(rest_after.map(|(_, id)| id))
        .bind(wanted)
        .fetch_all(&mut **tx)
        .await?;
        rows.extend(rest.into_iter().map(|row| (false, row)));
    }
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = match rows.last() {
        Some((true, row)) if more => {
            Some(InboxCursor::HandedOver { at: row.handed_over_at.unwrap_or(row.created_at), id: row.id })
        }
        Some((false, row)) if more => {
            Some(InboxCursor::Rest { at: row.last_message_at.unwrap_or(row.created_at), id: row.id })
        }
        _ => None,
    };
    let entries = rows.into_iter().map(|(_, row)| open(keyring, merchant, row)).collect::<Result<_, _>>()?;
    Ok(InboxPage { entries, next })
}

/// One conversation with its customer, as the inbox shows it above the thread.
pub async fn entry(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    conversation_id: Uuid,
) -> Result<InboxEntry, ConversationError> {
    let row: Row = sqlx::query_as(&format!("{} WHERE v.id = $1", select()))
        .bind(conversation_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(ConversationError::NotFound(conversation_id))?;
    open(keyring, merchant, row)
}

fn open(keyring: &Keyring, merchant: MerchantId, row: Row) -> Result<InboxEntry, ConversationError> {
    let sealed = |error| ConversationError::Body(BodyError::Sealed(error));
    let customer_name = row.sealed.open(keyring, merchant, crate::customers::ContactField::Name).map_err(sealed)?;
    let customer_phone = row.sealed.masked_phone(keyring, merchant).map_err(sealed)?;
    Ok(InboxEntry {
        id: row.id,
        state: row.state,
        handed_over_at: row.handed_over_at,
        handover_reason: row.handover_reason,
        last_message_at: row.last_message_at,
        window_expires_at: row.window_expires_at,
        created_at: row.created_at,
        customer_name,
        customer_phone,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_and_strangers_are_refused() {
        let at = DateTime::from_timestamp_micros(1_796_630_400_123_456).expect("a time");
        let id = Uuid::now_v7();
        for cursor in [InboxCursor::HandedOver { at, id }, InboxCursor::Rest { at, id }] {
            assert_eq!(cursor.to_string().parse::<InboxCursor>(), Ok(cursor));
        }
        for bad in ["", "x.1.2", "h.notanumber.0", &format!("q.1.{}", id.simple()), "h.1"] {
            assert!(bad.parse::<InboxCursor>().is_err(), "{bad}");
        }
    }
}

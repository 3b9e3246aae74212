//! `privacy_requests`: one row per export or erasure, whoever asked. Rows hold our ids, counts
//! and times, never a phone, email or name; the export document of a store's data request, which
//! the merchant must hand to the customer, is kept sealed until an erasure of the customer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::export::ExportDocument;
use super::{Channel, Counts, PrivacyError};
use recete_platform::crypto::Keyring;
use recete_platform::db::Tx;
use recete_platform::ids::{CustomerId, MerchantId};
use recete_shared::events::store::{open_payload, pack};
use recete_shared::merchant_events::{self, MerchantEvent, PrivacyRequestCompleted};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum RequestKind {
    Export,
    Erase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Scope {
    /// The customers one request named.
    Customer,
    /// Every customer of the shop.
    Shop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum RequestStatus {
    /// A shop erasure still working through its batches.
    Running,
    Completed,
    /// Nothing held matched the request.
    NotFound,
}

/// Where a request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ChannelName {
    Api,
    Shopify,
    Console,
}

/// The associated data a kept document is sealed with: it opens only in its own row.
pub fn document_context(merchant: MerchantId, request_id: Uuid) -> Vec<u8> {
    format!("privacy_requests.document:{merchant}:{request_id}").into_bytes()
}

pub struct NewRequest<'a> {
    pub id: Uuid,
    pub merchant: MerchantId,
    pub kind: RequestKind,
    pub scope: Scope,
    pub channel: &'a Channel,
    /// The store's own id of the request.
    pub platform_request_id: Option<&'a str>,
    pub status: RequestStatus,
    pub customer_ids: &'a [CustomerId],
    pub counts: Counts,
    /// Kept, sealed, for the merchant to fetch.
    pub document: Option<&'a ExportDocument>,
}

/// Records a finished request (or a started one, for a shop erasure). A store delivery is one
/// request: recording it again changes nothing.
pub async fn record(tx: &mut Tx, keyring: &Keyring, request: &NewRequest<'_>) -> Result<(), PrivacyError> {
    let sealed = match request.document {
        Some(document) => {
            let json = serde_json::to_vec(document)?;
            Some(keyring.seal(&pack(&json), &document_context(request.merchant, request.id)))
        }
        None => None,
    };
    let completed = request.status != RequestStatus::Running;
    let inserted = sqlx::query(
        "INSERT INTO privacy_requests (id, merchant_id, kind, scope, channel, actor, event_id, platform_request_id, status,
             customer_ids, counts, document_key_id, document_sealed, completed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, CASE WHEN $14 THEN now() END)
         ON CONFLICT (event_id) WHERE event_id IS NOT NULL DO NOTHING",
    )
    .bind(request.id)
    .bind(request.merchant)
    .bind(request.kind)
    .bind(request.scope)
    .bind(request.channel.as_str())
    .bind(request.channel.actor())
    .bind(request.channel.event_id())
    .bind(request.platform_request_id)
    .bind(request.status)
    .bind(request.customer_ids)
    .bind(sqlx::types::Json(request.counts))
    .bind(sealed.as_ref().map(|s| s.key_id.as_str()))
    .bind(sealed.as_ref().map(|s| s.bytes.as_slice()))
    .bind(completed)
    .execute(&mut **tx)
    .await?;
    if completed && inserted.rows_affected() == 1 {
        let event = MerchantEvent::PrivacyRequestCompleted(PrivacyRequestCompleted {
            privacy_request_id: request.id,
            kind: label(request.kind)?,
            scope: label(request.scope)?,
            status: label(request.status)?,
            channel: request.channel.as_str().to_owned(),
        });
        merchant_events::raise(tx, request.merchant, &event).await?;
    }
    Ok(())
}

/// An enum's name as its JSON says it (`export`, `shop`, `not_found`).
fn label(value: impl Serialize) -> Result<String, PrivacyError> {
    Ok(serde_json::to_value(value)?.as_str().unwrap_or_default().to_owned())
}

/// The request a store delivery started, if any: its id and counts so far.
pub async fn for_event(
    tx: &mut Tx,
    event_id: recete_platform::ids::EventId,
) -> Result<Option<(Uuid, Counts)>, sqlx::Error> {
    let row: Option<(Uuid, sqlx::types::Json<Counts>)> =
        sqlx::query_as("SELECT id, counts FROM privacy_requests WHERE event_id = $1 FOR UPDATE")
            .bind(event_id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.map(|(id, counts)| (id, counts.0)))
}

/// Adds a batch's counts to a running request, and completes it when `finished`.
pub async fn progress(tx: &mut Tx, id: Uuid, counts: &Counts, finished: bool) -> Result<(), sqlx::Error> {
    let row: Option<(MerchantId, String, String, String, bool)> = sqlx::query_as(
        "UPDATE privacy_requests p SET counts = $2,
             status = CASE WHEN $3 THEN 'completed' ELSE p.status END,
             completed_at = CASE WHEN $3 THEN now() ELSE p.completed_at END
         FROM (SELECT status FROM privacy_requests WHERE id = $1 FOR UPDATE) AS old
         WHERE p.id = $1
         RETURNING p.merchant_id, p.kind, p.scope, p.channel, $3 AND old.status = 'running' AS newly_completed",
    )
    .bind(id)
    .bind(sqlx::types::Json(counts))
    .bind(finished)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((merchant, kind, scope, channel, true)) = row {
        let event = MerchantEvent::PrivacyRequestCompleted(PrivacyRequestCompleted {
            privacy_request_id: id,
            kind,
            scope,
            status: "completed".to_owned(),
            channel,
        });
        merchant_events::raise(tx, merchant, &event).await?;
    }
    Ok(())
}

/// A privacy request as the merchant sees it: ids, counts and times, never the document itself.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PrivacyRequest {
    pub id: Uuid,
    pub kind: RequestKind,
    pub scope: Scope,
    pub channel: ChannelName,
    pub status: RequestStatus,
    /// The store's own id of the request (Shopify's `data_request.id`), to answer it by.
    pub platform_request_id: Option<String>,
    /// Our ids of the customers the request matched.
    pub customer_ids: Vec<Uuid>,
    #[schema(value_type = Counts)]
    pub counts: sqlx::types::Json<Counts>,
    /// A store's data request keeps its export document until the customer is erased.
    pub document_available: bool,
    pub document_erased_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl PrivacyRequest {
    /// The key lists are sorted by, newest first.
    pub fn sort_key(&self) -> (DateTime<Utc>, Uuid) {
        (self.created_at, self.id)
    }
}

const REQUEST_COLUMNS: &str = "id, kind, scope, channel, status, platform_request_id, customer_ids, counts,
    document_sealed IS NOT NULL AS document_available, document_erased_at, created_at, completed_at";

/// Which requests a list shows; a field left empty filters nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct RequestFilter {
    pub kind: Option<RequestKind>,
    pub status: Option<RequestStatus>,
    /// Made at or after.
    pub from: Option<DateTime<Utc>>,
    /// Made before.
    pub to: Option<DateTime<Utc>>,
}

/// Up to `limit` requests of the transaction's merchant, newest first, after the request sorted
/// at `after`.
pub async fn list(
    tx: &mut Tx,
    filter: &RequestFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<PrivacyRequest>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {REQUEST_COLUMNS} FROM privacy_requests
         WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR status = $2)
           AND ($3::timestamptz IS NULL OR created_at >= $3) AND ($4::timestamptz IS NULL OR created_at < $4)
           AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6))
         ORDER BY created_at DESC, id DESC
         LIMIT $7"
    ))
    .bind(filter.kind)
    .bind(filter.status)
    .bind(filter.from)
    .bind(filter.to)
    .bind(after.map(|(at, _)| at))
    .bind(after.map(|(_, id)| id))
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

#[derive(sqlx::FromRow)]
struct RequestWithDocument {
    #[sqlx(flatten)]
    request: PrivacyRequest,
    document_key_id: Option<String>,
    document_sealed: Option<Vec<u8>>,
}

/// One request of the transaction's merchant, with its kept export document opened (none for
/// other requests and once the customer was erased).
pub async fn find(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    id: Uuid,
) -> Result<Option<(PrivacyRequest, Option<ExportDocument>)>, PrivacyError> {
    let row: Option<RequestWithDocument> = sqlx::query_as(&format!(
        "SELECT {REQUEST_COLUMNS}, document_key_id, document_sealed FROM privacy_requests WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let document = match (row.document_key_id, row.document_sealed) {
        (Some(key_id), Some(sealed)) => Some(open_document(keyring, merchant, id, &key_id, &sealed)?),
        _ => None,
    };
    Ok(Some((row.request, document)))
}

/// Opens a kept document.
pub fn open_document(
    keyring: &Keyring,
    merchant: MerchantId,
    request_id: Uuid,
    key_id: &str,
    sealed: &[u8],
) -> Result<ExportDocument, PrivacyError> {
    let json = open_payload(keyring, key_id, sealed, &document_context(merchant, request_id))?;
    Ok(serde_json::from_slice(&json)?)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use recete_platform::config::{PlatformSettings, base_figment};

    #[test]
    fn a_kept_document_opens_only_in_its_own_row() {
        let settings = PlatformSettings::load_from(base_figment(None)).expect("defaults load");
        let keyring = Keyring::from_settings(&settings.crypto).expect("default keys");
        let merchant = MerchantId::generate();
        let request = Uuid::now_v7();
        let document = ExportDocument {
            generated_at: Utc::now(),
            customers: Vec::new(),
            consent_history: Vec::new(),
            orders: Vec::new(),
            conversations: Vec::new(),
            other_messages: Vec::new(),
            scheduled_messages: Vec::new(),
            events: Vec::new(),
            import_errors: Vec::new(),
        };
        let json = serde_json::to_vec(&document).expect("serializes");
        let sealed = keyring.seal(&pack(&json), &document_context(merchant, request));
        let opened = open_document(&keyring, merchant, request, &sealed.key_id, &sealed.bytes).expect("opens");
        assert_eq!(opened, document);
        assert!(open_document(&keyring, merchant, Uuid::now_v7(), &sealed.key_id, &sealed.bytes).is_err());
        assert!(open_document(&keyring, MerchantId::generate(), request, &sealed.key_id, &sealed.bytes).is_err());
    }
}

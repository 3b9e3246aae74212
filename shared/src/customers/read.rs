//! Reading the merchant's customers as a dashboard shows them: the list (newest first, filtered by
//! consent, creation time, phone or email lookup hashes) and one customer, each with their order
//! figures and latest conversation.
//!
//! The name and email (the store's own data) are opened; the phone number is the key to the
//! customer's WhatsApp and is never given whole, only its country code and last two digits.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;
use uuid::Uuid;

pub use super::ConsentState;
use super::{CUSTOMER_COLUMNS, ContactField, CustomerRow, SEALED_COLUMNS, SealedContact};
use crate::conversations::ConversationState;
use recete_platform::crypto::{Keyring, KeyringError};
use recete_platform::db::Tx;
use recete_platform::ids::MerchantId;

/// The customer's latest conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerConversation {
    pub id: Uuid,
    pub state: ConversationState,
    pub last_message_at: Option<DateTime<Utc>>,
    /// Until then free-form messages may be sent; afterwards only approved templates.
    pub window_expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Customer {
    pub id: Uuid,
    /// The store's own id of the customer.
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    /// Masked: the country code and the last two digits, e.g. `+49 ****89`.
    pub phone: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country_code: Option<String>,
    /// The customer's own IANA time zone, when known.
    pub timezone: Option<String>,
    pub consent: ConsentState,
    /// Where the consent came from: `whatsapp:STOP`, `whatsapp:button`, `whatsapp:user_preferences`,
    /// `shopify:sms_marketing_consent`...
    pub consent_source: Option<String>,
    pub consent_updated_at: Option<DateTime<Utc>>,
    pub order_count: i64,
    /// When the newest order was placed (or first seen, when the store gave no time).
    pub last_order_at: Option<DateTime<Utc>>,
    pub conversation: Option<CustomerConversation>,
    /// Set when the customer's personal data was erased; name, email and phone are then absent.
    pub erased_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which customers a list holds; every field left `None` filters nothing.
#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    pub consent: Option<ConsentState>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    /// The lookup hashes of a phone number (one per lookup key).
    pub phone_lookups: Option<Vec<Vec<u8>>>,
    /// The lookup hashes of an email address.
    pub email_lookups: Option<Vec<Vec<u8>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("customer {customer} does not open: {source}")]
    Sealed { customer: Uuid, source: KeyringError },
}

/// A customer with their order figures and latest conversation.
#[derive(FromRow)]
struct ListedRow {
    #[sqlx(flatten)]
    customer: CustomerRow,
    order_count: i64,
    last_order_at: Option<DateTime<Utc>>,
    conversation_id: Option<Uuid>,
    conversation_state: Option<ConversationState>,
    conversation_last_message_at: Option<DateTime<Utc>>,
    conversation_window_expires_at: Option<DateTime<Utc>>,
}

/// The row, its order figures and its latest conversation.
fn select_customer() -> String {
    format!(
        "SELECT {CUSTOMER_COLUMNS}, placed.order_count, placed.last_order_at,
                conv.id AS conversation_id, conv.state AS conversation_state,
                conv.last_message_at AS conversation_last_message_at,
                conv.window_expires_at AS conversation_window_expires_at
         FROM customers c
         CROSS JOIN LATERAL (
             SELECT count(*) AS order_count, max(coalesce(o.placed_at, o.created_at)) AS last_order_at
             FROM orders o WHERE o.customer_id = c.id
         ) placed
         LEFT JOIN LATERAL (
             SELECT id, state, last_message_at, window_expires_at FROM conversations
             WHERE customer_id = c.id ORDER BY created_at DESC, id DESC LIMIT 1
         ) conv ON true"
    )
}

/// Up to `limit` customers matching `filter`, newest first, strictly after the sort key `after`.
pub async fn list(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    filter: &CustomerFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<Customer>, ReadError> {
    let rows: Vec<ListedRow> = sqlx::query_as(&format!(
        "{}
         WHERE c.merchant_id = $1
           AND ($2::text IS NULL OR c.whatsapp_consent = $2)
           AND ($3::timestamptz IS NULL OR c.created_at >= $3)
           AND ($4::timestamptz IS NULL OR c.created_at < $4)
           AND ($5::bytea[] IS NULL OR c.phone_lookup = ANY($5))
           AND ($6::bytea[] IS NULL OR c.email_lookup = ANY($6))
           AND ($7::timestamptz IS NULL OR (c.created_at, c.id) < ($7, $8))
         ORDER BY c.created_at DESC, c.id DESC
         LIMIT $9",
        select_customer()
    ))
    .bind(merchant)
    .bind(filter.consent)
    .bind(filter.created_from)
    .bind(filter.created_to)
    .bind(&filter.phone_lookups)
    .bind(&filter.email_lookups)
    .bind(after.map(|(at, _)| at))
    .bind(after.map(|(_, id)| id))
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter().map(|row| open(keyring, merchant, row)).collect()
}

/// One customer, if the merchant has them.
pub async fn find(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    customer_id: Uuid,
) -> Result<Option<Customer>, ReadError> {
    let row: Option<ListedRow> = sqlx::query_as(&format!("{} WHERE c.id = $1", select_customer()))
        .bind(customer_id)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|row| open(keyring, merchant, row)).transpose()
}

impl Customer {
    /// The key the list is sorted by.
    pub fn sort_key(&self) -> (DateTime<Utc>, Uuid) {
        (self.created_at, self.id)
    }
}

/// The row as the merchant sees it: name and email opened, the phone opened only to be masked.
fn open(keyring: &Keyring, merchant: MerchantId, row: ListedRow) -> Result<Customer, ReadError> {
    let customer = row.customer;
    let contact = customer
        .contact(keyring, merchant)
        .map_err(|source| ReadError::Sealed { customer: customer.id.as_uuid(), source })?;
    let phone = contact.masked_phone();
    let conversation = match (row.conversation_id, row.conversation_state) {
        (Some(id), Some(state)) => Some(CustomerConversation {
            id,
            state,
            last_message_at: row.conversation_last_message_at,
            window_expires_at: row.conversation_window_expires_at,
        }),
        _ => None,
    };
    Ok(Customer {
        id: customer.id.as_uuid(),
        external_id: customer.external_id,
        name: contact.name,
        email: contact.email,
        phone,
        country_code: customer.country_code,
        timezone: customer.timezone,
        consent: customer.whatsapp_consent,
        consent_source: customer.consent_source,
        consent_updated_at: customer.consent_updated_at,
        order_count: row.order_count,
        last_order_at: row.last_order_at,
        conversation,
        erased_at: customer.erased_at,
        created_at: customer.created_at,
        updated_at: customer.updated_at,
    })
}

/// The names of the customers `ids` (those the merchant has and who have one), for lists that
/// show who placed an order.
pub async fn names(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, String>, ReadError> {
    #[derive(FromRow)]
    struct NameRow {
        id: Uuid,
        #[sqlx(flatten)]
        sealed: SealedContact,
    }
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<NameRow> =
        sqlx::query_as(&format!("SELECT c.id, {SEALED_COLUMNS} FROM customers c WHERE c.id = ANY($1)"))
            .bind(ids)
            .fetch_all(&mut **tx)
            .await?;
    let mut names = std::collections::HashMap::with_capacity(rows.len());
    for row in rows {
        let name = row
            .sealed
            .open(keyring, merchant, ContactField::Name)
            .map_err(|source| ReadError::Sealed { customer: row.id, source })?;
        if let Some(name) = name {
            names.insert(row.id, name);
        }
    }
    Ok(names)
}

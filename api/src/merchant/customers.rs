//! The merchant's customers: the list (newest first, filtered by consent, creation time, phone or
//! email) and one customer with their orders and conversation at a glance.
//!
//! A dashboard needs to recognise a customer, so the name and email (the store's own data) are
//! opened; the phone number is the key to the customer's WhatsApp and is never shown whole, only
//! its country code and last two digits. Phone and email filters are matched through the keyed
//! lookup hashes, so the values asked for are neither stored nor logged.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use recete_shared::crypto::Keyring;
use recete_shared::customers::{self, EMAIL_LOOKUP_DOMAIN, PHONE_LOOKUP_DOMAIN};
use recete_shared::ids::MerchantId;
use recete_shared::phone::{self, PhoneNumber};
use recete_shared::{db, merchants};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::conversations::ConversationState;
use super::pagination;
use crate::auth::Merchant;
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::state::AppState;

const MAX_PHONE_CHARS: usize = 32;
const MAX_EMAIL_CHARS: usize = 254;

/// The customer routes, with their part of the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(show))
}

/// Whether the customer agreed to WhatsApp messages.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ConsentState {
    Granted,
    Revoked,
    /// Never said either way: no proactive messages.
    Unknown,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CustomerQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    consent: Option<ConsentState>,
    /// Customers first seen at or after this time (RFC 3339).
    created_from: Option<DateTime<Utc>>,
    /// Customers first seen before this time (RFC 3339).
    created_to: Option<DateTime<Utc>>,
    /// Exact match on the phone number, in any usual format; a number without `+` is read in the
    /// merchant's default phone country.
    #[param(min_length = 1, max_length = 32)]
    phone: Option<String>,
    /// Exact match on the email address, case-insensitive.
    #[param(format = Email, max_length = 254)]
    email: Option<String>,
}

/// The customer's latest conversation.
#[derive(Serialize, ToSchema)]
pub struct CustomerConversation {
    id: Uuid,
    state: ConversationState,
    last_message_at: Option<DateTime<Utc>>,
    /// Until then free-form messages may be sent; afterwards only approved templates.
    window_expires_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct Customer {
    id: Uuid,
    /// The store's own id of the customer.
    external_id: Option<String>,
    name: Option<String>,
    email: Option<String>,
    /// Masked: the country code and the last two digits, e.g. `+49 ****89`.
    phone: Option<String>,
    /// ISO 3166-1 alpha-2.
    country_code: Option<String>,
    /// The customer's own IANA time zone, when known.
    timezone: Option<String>,
    consent: ConsentState,
    /// Where the consent came from: `whatsapp:STOP`, `whatsapp:button`, `whatsapp:user_preferences`,
    /// `shopify:sms_marketing_consent`...
    consent_source: Option<String>,
    consent_updated_at: Option<DateTime<Utc>>,
    order_count: i64,
    /// When the newest order was placed (or first seen, when the store gave no time).
    last_order_at: Option<DateTime<Utc>>,
    conversation: Option<CustomerConversation>,
    /// Set when the customer's personal data was erased; name, email and phone are then absent.
    erased_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerList {
    customers: Vec<Customer>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<String>,
}

#[derive(FromRow)]
struct CustomerRow {
    id: Uuid,
    external_id: Option<String>,
    pii_key_id: Option<String>,
    phone_sealed: Option<Vec<u8>>,
    email_sealed: Option<Vec<u8>>,
    name_sealed: Option<Vec<u8>>,
    country_code: Option<String>,
    timezone: Option<String>,
    whatsapp_consent: ConsentState,
    consent_source: Option<String>,
    consent_updated_at: Option<DateTime<Utc>>,
    order_count: i64,
    last_order_at: Option<DateTime<Utc>>,
    conversation_id: Option<Uuid>,
    conversation_state: Option<ConversationState>,
    conversation_last_message_at: Option<DateTime<Utc>>,
    conversation_window_expires_at: Option<DateTime<Utc>>,
    erased_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// The columns both endpoints read: the row, its order figures and its latest conversation.
const SELECT_CUSTOMER: &str = "
    SELECT c.id, c.external_id, c.pii_key_id, c.phone_sealed, c.email_sealed, c.name_sealed, c.country_code,
           c.timezone, c.whatsapp_consent, c.consent_source, c.consent_updated_at, c.erased_at, c.created_at,
           c.updated_at, placed.order_count, placed.last_order_at,
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
    ) conv ON true";

/// Customers, newest first.
#[utoipa::path(
    get,
    path = "/api/customers",
    tag = "customers",
    params(CustomerQuery),
    responses((status = 200, description = "One page of customers.", body = CustomerList))
)]
pub async fn list(
    State(state): State<AppState>,
    merchant: Merchant,
    Query(query): Query<CustomerQuery>,
) -> Result<Json<CustomerList>, ApiError> {
    let limit = pagination::limit(query.limit)?;
    let after = pagination::after(query.cursor.as_deref())?;
    pagination::check_range(query.created_from, query.created_to).map_err(|_| ApiError::InvalidField {
        field: "created_from".into(),
        detail: "must not be after `created_to`".into(),
    })?;
    let email_lookup = query.email.as_deref().map(|raw| email_lookup(&state.keyring, raw)).transpose()?;
    let mut tx = merchant.transaction(&state.pool).await?;
    let phone_lookup = match query.phone.as_deref() {
        Some(raw) => Some(phone_lookup(&mut tx, &state.keyring, merchant.merchant_id, raw).await?),
        None => None,
    };
    let rows: Vec<CustomerRow> = sqlx::query_as(&format!(
        "{SELECT_CUSTOMER}
         WHERE c.merchant_id = $1
           AND ($2::text IS NULL OR c.whatsapp_consent = $2)
           AND ($3::timestamptz IS NULL OR c.created_at >= $3)
           AND ($4::timestamptz IS NULL OR c.created_at < $4)
           AND ($5::bytea[] IS NULL OR c.phone_lookup = ANY($5))
           AND ($6::bytea[] IS NULL OR c.email_lookup = ANY($6))
           AND ($7::timestamptz IS NULL OR (c.created_at, c.id) < ($7, $8))
         ORDER BY c.created_at DESC, c.id DESC
         LIMIT $9"
    ))
    .bind(merchant.merchant_id)
    .bind(query.consent)
    .bind(query.created_from)
    .bind(query.created_to)
    .bind(phone_lookup)
    .bind(email_lookup)
    .bind(after.map(|(at, _)| at))
    .bind(after.map(|(_, id)| id))
    .bind(limit + 1)
    .fetch_all(&mut *tx)
    .await
    .map_err(ApiError::from_database)?;
    crate::auth::commit(tx).await?;
    let mut customers =
        rows.into_iter().map(|row| open(&state.keyring, merchant.merchant_id, row)).collect::<Result<Vec<_>, _>>()?;
    let next_cursor = pagination::finish_page(&mut customers, limit, |last| (last.created_at, last.id));
    Ok(Json(CustomerList { customers, next_cursor }))
}

/// One customer.
#[utoipa::path(
    get,
    path = "/api/customers/{customer_id}",
    tag = "customers",
    params(("customer_id" = Uuid, Path, description = "Our id of the customer.")),
    responses((status = 200, description = "The customer.", body = Customer))
)]
pub async fn show(
    State(state): State<AppState>,
    merchant: Merchant,
    Path(customer_id): Path<Uuid>,
) -> Result<Json<Customer>, ApiError> {
    let mut tx = merchant.transaction(&state.pool).await?;
    let row: Option<CustomerRow> = sqlx::query_as(&format!("{SELECT_CUSTOMER} WHERE c.id = $1"))
        .bind(customer_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(ApiError::from_database)?;
    crate::auth::commit(tx).await?;
    let row = row.ok_or_else(|| ApiError::NotFound(format!("no customer {customer_id}")))?;
    Ok(Json(open(&state.keyring, merchant.merchant_id, row)?))
}

/// The lookup hashes (one per configured lookup key) of a phone filter, parsed as the customer's
/// numbers were when stored. The problem never repeats the number.
async fn phone_lookup(
    tx: &mut db::Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    raw: &str,
) -> Result<Vec<Vec<u8>>, ApiError> {
    let invalid = |detail: String| ApiError::InvalidField { field: "phone".into(), detail };
    if raw.trim().is_empty() {
        return Err(invalid("must not be empty".into()));
    }
    if raw.chars().count() > MAX_PHONE_CHARS {
        return Err(invalid(format!("must be at most {MAX_PHONE_CHARS} characters")));
    }
    let country = merchants::phone_country(tx, merchant).await.map_err(ApiError::from_database)?;
    let phone = PhoneNumber::parse(raw, country.as_deref()).map_err(|error| {
        let hint =
            if country.is_none() { " (write it with its +country code: no default phone country is set and the shop's time zone names no country)" } else { "" };
        invalid(format!("{error}{hint}"))
    })?;
    Ok(keyring.lookup_hashes(PHONE_LOOKUP_DOMAIN, phone.as_e164()))
}

fn email_lookup(keyring: &Keyring, raw: &str) -> Result<Vec<Vec<u8>>, ApiError> {
    let invalid = |detail: String| ApiError::InvalidField { field: "email".into(), detail };
    if raw.chars().count() > MAX_EMAIL_CHARS {
        return Err(invalid(format!("must be at most {MAX_EMAIL_CHARS} characters")));
    }
    let email = customers::normalize_email(raw).ok_or_else(|| invalid("is not an email address".into()))?;
    Ok(keyring.lookup_hashes(EMAIL_LOOKUP_DOMAIN, &email))
}

/// The row as the merchant sees it: name and email opened, the phone opened only to be masked.
fn open(keyring: &Keyring, merchant: MerchantId, row: CustomerRow) -> Result<Customer, ApiError> {
    let field = |name: &str, sealed: Option<&[u8]>| -> Result<Option<String>, ApiError> {
        let (Some(key_id), Some(sealed)) = (row.pii_key_id.as_deref(), sealed) else {
            return Ok(None);
        };
        let plain = keyring.open(key_id, sealed, &customers::field_context(merchant, name)).map_err(|error| {
            ApiError::Internal(anyhow::anyhow!("customer {} {name} does not open: {error}", row.id))
        })?;
        Ok(Some(String::from_utf8_lossy(&plain).into_owned()))
    };
    let name = field("name", row.name_sealed.as_deref())?;
    let email = field("email", row.email_sealed.as_deref())?;
    let phone = field("phone", row.phone_sealed.as_deref())?.map(|e164| phone::masked(&e164));
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
        id: row.id,
        external_id: row.external_id,
        name,
        email,
        phone,
        country_code: row.country_code,
        timezone: row.timezone,
        consent: row.whatsapp_consent,
        consent_source: row.consent_source,
        consent_updated_at: row.consent_updated_at,
        order_count: row.order_count,
        last_order_at: row.last_order_at,
        conversation,
        erased_at: row.erased_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

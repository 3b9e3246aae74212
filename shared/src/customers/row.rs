//! The one row type of the `customers` table as readers show a customer: every column but the
//! lookup hashes, the contact fields sealed until [`CustomerRow::contact`] opens them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;

use super::{Contact, SealedContact};
use recete_platform::crypto::{Keyring, KeyringError};
use recete_platform::ids::{CustomerId, MerchantId};

/// Whether the customer agreed to WhatsApp messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ConsentState {
    Granted,
    Revoked,
    /// Never said either way: no proactive messages.
    Unknown,
}

impl ConsentState {
    /// As the `whatsapp_consent` column stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Granted => "granted",
            Self::Revoked => "revoked",
            Self::Unknown => "unknown",
        }
    }
}

/// The `SELECT` list of [`CustomerRow`], for a `customers` row aliased `c`.
pub const CUSTOMER_COLUMNS: &str = "c.id, c.external_id, c.pii_key_id, c.phone_sealed, c.email_sealed, c.name_sealed,
    c.country_code, c.timezone, c.whatsapp_consent, c.consent_source, c.consent_updated_at, c.erased_at, c.created_at,
    c.updated_at";

/// A `customers` row.
#[derive(Debug, Clone, FromRow)]
pub struct CustomerRow {
    pub id: CustomerId,
    /// The store's own id of the customer.
    pub external_id: Option<String>,
    #[sqlx(flatten)]
    pub sealed: SealedContact,
    /// ISO 3166-1 alpha-2.
    pub country_code: Option<String>,
    /// The customer's own IANA time zone, when known.
    pub timezone: Option<String>,
    pub whatsapp_consent: ConsentState,
    /// Where the consent came from: `whatsapp:STOP`, `shopify:sms_marketing_consent`...
    pub consent_source: Option<String>,
    pub consent_updated_at: Option<DateTime<Utc>>,
    /// Set when the customer's personal data was erased; the contact fields are then absent.
    pub erased_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CustomerRow {
    /// The contact fields, opened.
    pub fn contact(&self, keyring: &Keyring, merchant: MerchantId) -> Result<Contact, KeyringError> {
        self.sealed.open_all(keyring, merchant)
    }
}

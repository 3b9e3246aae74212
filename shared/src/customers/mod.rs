//! Customers, found by keyed hashes of their phone (E.164) and email, never by plaintext.
//! Hashes are made with the active lookup key and its id is kept beside them; finding a
//! customer tries every configured lookup key, so rows hashed before a lookup key rotation are
//! still found until `recete keys rotate` has re-hashed them.
//!
//! Phone, email and name are sealed with AES-256-GCM bound to the merchant, so a value copied
//! into another merchant's row does not open. Consent changes are applied only when newer than
//! the consent already recorded, and each change is audited with its source and time.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::FromRow;

use crate::audit::{self, AuditEntry};
use crate::events::CustomerSnapshot;
use crate::merchant_events::{self, MerchantEvent, OptedOut};
use crate::phone::PhoneNumber;
use recete_platform::crypto::Keyring;
use recete_platform::db::Tx;
use recete_platform::ids::{CustomerId, EventId, MerchantId};

pub mod lookup;
pub mod read;
pub mod row;
pub mod sealed;

pub use row::{CUSTOMER_COLUMNS, ConsentState, CustomerRow};
pub use sealed::{Contact, ContactField, SEALED_COLUMNS, SealedContact};

pub const PHONE_LOOKUP_DOMAIN: &str = "phone";
pub const EMAIL_LOOKUP_DOMAIN: &str = "email";

/// The context sealed customer fields are bound to.
pub fn field_context(merchant: MerchantId, field: &str) -> Vec<u8> {
    format!("customers.{field}:{merchant}").into_bytes()
}

/// An email as lookups see it: trimmed and lower-cased; `None` when it is not shaped like one.
pub fn normalize_email(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    (!local.is_empty() && domain.contains('.')).then_some(email)
}

/// Where an upsert came from, for consent bookkeeping and the audit trail.
pub struct Provenance<'a> {
    pub actor: &'a str,
    pub event_id: Option<EventId>,
    /// The event's own time; consent without a time of its own is taken as of this moment.
    pub occurred_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct Existing {
    id: CustomerId,
    whatsapp_consent: String,
    consent_updated_at: Option<DateTime<Utc>>,
    pii_key_id: Option<String>,
    phone_sealed: Option<Vec<u8>>,
    email_sealed: Option<Vec<u8>>,
    name_sealed: Option<Vec<u8>>,
    phone_lookup: Option<Vec<u8>>,
    email_lookup: Option<Vec<u8>>,
    country_code: Option<String>,
    external_id: Option<String>,
}

/// The customer a snapshot named, and whether recording it changed anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerUpsert {
    pub id: CustomerId,
    /// Created, a field or the consent changed. An unchanged customer's row is not written, so
    /// its `updated_at` stays put.
    pub changed: bool,
    /// The snapshot turned the customer's WhatsApp consent to granted.
    pub consent_granted: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum UpsertError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("a stored customer field cannot be opened: {0}")]
    Crypto(#[from] recete_platform::crypto::KeyringError),
}

/// A field's sealed bytes under the active key: the new value when the snapshot has one, else
/// the stored value, re-sealed if an older key sealed it.
fn current_field(
    keyring: &Keyring,
    merchant: MerchantId,
    field: &str,
    new_value: Option<Vec<u8>>,
    stored: Option<&[u8]>,
    stored_key_id: Option<&str>,
) -> Result<Option<Vec<u8>>, recete_platform::crypto::KeyringError> {
    match (new_value, stored, stored_key_id) {
        (Some(new_value), _, _) => Ok(Some(new_value)),
        (None, Some(stored), Some(key_id)) if key_id != keyring.active_key_id() => {
            let context = field_context(merchant, field);
            let plaintext = keyring.open(key_id, stored, &context)?;
            Ok(Some(keyring.seal(&plaintext, &context).bytes))
        }
        (None, stored, _) => Ok(stored.map(<[u8]>::to_vec)),
    }
}

/// Finds or creates the customer a snapshot describes; `None` when it names no phone, email or
/// platform id to recognise them by.
pub async fn upsert_from_snapshot(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    snapshot: &CustomerSnapshot,
    default_country: Option<&str>,
    provenance: &Provenance<'_>,
) -> Result<Option<CustomerUpsert>, UpsertError> {
    let country = snapshot.country_code.as_deref().or(default_country);
    let phone = snapshot.phone.as_deref().and_then(|raw| match PhoneNumber::parse(raw, country) {
        Ok(phone) => Some(phone),
        Err(error) => {
            // The number itself is personal data: only the reason is logged.
            tracing::info!(%merchant, %error, "customer phone number not usable");
            None
        }
    });
    upsert_with_phone(tx, keyring, merchant, snapshot, phone, provenance).await
}

/// Like [`upsert_from_snapshot`], with the phone number already read (a WhatsApp sender's id,
/// which is accepted on terms of its own); the snapshot's `phone` is not read.
pub async fn upsert_with_phone(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    snapshot: &CustomerSnapshot,
    phone: Option<PhoneNumber>,
    provenance: &Provenance<'_>,
) -> Result<Option<CustomerUpsert>, UpsertError> {
    let email = snapshot.email.as_deref().and_then(normalize_email);
    let external_id = snapshot.external_id.as_deref();
    if phone.is_none() && email.is_none() && external_id.is_none() {
        return Ok(None);
    }
    let phone_lookup = phone.as_ref().map(|p| keyring.lookup_hash(PHONE_LOOKUP_DOMAIN, p.as_e164()).to_vec());
    let email_lookup = email.as_deref().map(|e| keyring.lookup_hash(EMAIL_LOOKUP_DOMAIN, e).to_vec());
    let phone_lookups = phone.as_ref().map(|p| keyring.lookup_hashes(PHONE_LOOKUP_DOMAIN, p.as_e164()));
    let email_lookups = email.as_deref().map(|e| keyring.lookup_hashes(EMAIL_LOOKUP_DOMAIN, e));
    let lookup_key_id = keyring.active_lookup_key_id();
    let key_id = keyring.active_key_id();
    let seal = |field: &str, value: &str| keyring.seal(value.as_bytes(), &field_context(merchant, field)).bytes;
    let phone_sealed = phone.as_ref().map(|p| seal("phone", p.as_e164()));
    let email_sealed = email.as_deref().map(|e| seal("email", e));
    let name_sealed = snapshot.name.as_deref().map(|n| seal("name", n));
    let country_code = snapshot.country_code.as_deref().map(str::to_ascii_uppercase);

    let mut changed = false;
    let mut consent_granted = false;
    // The consent the snapshot states: its state, the snapshot's words, and when it was given.
    let consent = snapshot.messaging_consent.as_ref().map(|consent| {
        let state = if consent.granted { "granted" } else { "revoked" };
        (state, consent, consent.recorded_at.unwrap_or(provenance.occurred_at))
    });
    // A new customer's consent is written with the row itself, not by a second statement.
    let mut consent_written = false;
    let existing = match find(tx, merchant, phone_lookups.as_deref(), email_lookups.as_deref(), external_id).await? {
        Some(existing) if holds_already(keyring, merchant, &existing, &phone_lookup, &email_lookup, snapshot)? => {
            existing
        }
        Some(existing) => {
            changed = true;
            // One key id covers the row's sealed fields, so every field is written under the
            // active key: new values as given, kept values re-sealed when an older key sealed them.
            let stored_key = existing.pii_key_id.as_deref();
            let phone =
                current_field(keyring, merchant, "phone", phone_sealed, existing.phone_sealed.as_deref(), stored_key)?;
            let email =
                current_field(keyring, merchant, "email", email_sealed, existing.email_sealed.as_deref(), stored_key)?;
            let name =
                current_field(keyring, merchant, "name", name_sealed, existing.name_sealed.as_deref(), stored_key)?;
            sqlx::query(
                "UPDATE customers SET pii_key_id = $2,
                    phone_sealed = $3, phone_lookup = coalesce($4, phone_lookup),
                    email_sealed = $5, email_lookup = coalesce($6, email_lookup),
                    name_sealed = $7, country_code = coalesce($8, country_code),
                    external_id = coalesce(external_id, $9),
                    -- The row's hashes are all under the active lookup key once each is new or absent.
                    lookup_key_id = CASE WHEN ($4::bytea IS NOT NULL OR phone_lookup IS NULL)
                                          AND ($6::bytea IS NOT NULL OR email_lookup IS NULL)
                                     THEN $10 ELSE lookup_key_id END
                 WHERE id = $1",
            )
            .bind(existing.id)
            .bind(key_id)
            .bind(phone)
            .bind(&phone_lookup)
            .bind(email)
            .bind(&email_lookup)
            .bind(name)
            .bind(&country_code)
            .bind(external_id)
            .bind(lookup_key_id)
            .execute(&mut **tx)
            .await?;
            existing
        }
        None => {
            let id = CustomerId::generate();
            let inserted = sqlx::query(
                "INSERT INTO customers (id, merchant_id, external_id, pii_key_id, phone_sealed, phone_lookup,
                     email_sealed, email_lookup, name_sealed, country_code, lookup_key_id,
                     whatsapp_consent, consent_source, consent_updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, coalesce($12, 'unknown'), $13, $14)
                 ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(merchant)
            .bind(external_id)
            .bind(key_id)
            .bind(&phone_sealed)
            .bind(&phone_lookup)
            .bind(&email_sealed)
            .bind(&email_lookup)
            .bind(&name_sealed)
            .bind(&country_code)
            .bind(lookup_key_id)
            .bind(consent.map(|(state, _, _)| state))
            .bind(consent.map(|(_, consent, _)| consent.source.as_str()))
            .bind(consent.map(|(_, _, recorded_at)| recorded_at))
            .execute(&mut **tx)
            .await?;
            changed = inserted.rows_affected() == 1;
            consent_written = changed;
            if inserted.rows_affected() == 0 {
                // Another event created this customer at the same moment; use that row.
                find(tx, merchant, phone_lookups.as_deref(), email_lookups.as_deref(), external_id)
                    .await?
                    .ok_or_else(|| sqlx::Error::Protocol("customer vanished after a conflicting insert".into()))?
            } else {
                Existing {
                    id,
                    whatsapp_consent: "unknown".into(),
                    consent_updated_at: None,
                    pii_key_id: None,
                    phone_sealed: None,
                    email_sealed: None,
                    name_sealed: None,
                    phone_lookup: None,
                    email_lookup: None,
                    country_code: None,
                    external_id: None,
                }
            }
        }
    };
    if let Some((state, consent, recorded_at)) = consent {
        let is_newer = existing.consent_updated_at.is_none_or(|current| recorded_at > current);
        if is_newer && existing.whatsapp_consent != state {
            if !consent_written {
                sqlx::query(
                    "UPDATE customers SET whatsapp_consent = $2, consent_source = $3, consent_updated_at = $4
                     WHERE id = $1",
                )
                .bind(existing.id)
                .bind(state)
                .bind(&consent.source)
                .bind(recorded_at)
                .execute(&mut **tx)
                .await?;
            }
            changed = true;
            consent_granted = consent.granted;
            audit::record(
                tx,
                AuditEntry {
                    merchant_id: Some(merchant),
                    actor: provenance.actor,
                    action: "customer.consent_changed",
                    subject_type: "customer",
                    subject_id: existing.id.to_string(),
                    event_id: provenance.event_id,
                    before: Some(json!({ "whatsapp_consent": existing.whatsapp_consent })),
                    after: Some(
                        json!({ "whatsapp_consent": state, "source": consent.source, "recorded_at": recorded_at }),
                    ),
                },
            )
            .await?;
            if !consent.granted {
                let event = MerchantEvent::OptedOut(OptedOut {
                    customer_id: existing.id.as_uuid(),
                    source: consent.source.clone(),
                    opted_out_at: recorded_at,
                });
                merchant_events::raise(tx, merchant, &event).await?;
            }
        }
    }
    Ok(Some(CustomerUpsert { id: existing.id, changed, consent_granted }))
}

/// What a merchant's systems may be told of a customer: the name and the phone masked to its
/// country code and last two digits. `None` when the customer is gone; empty once erased.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct MaskedContact {
    pub id: uuid::Uuid,
    pub name: Option<String>,
    /// `+49 ****89`
    pub phone: Option<String>,
}

pub async fn masked_contact(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    customer: CustomerId,
) -> Result<Option<MaskedContact>, UpsertError> {
    let row: Option<SealedContact> =
        sqlx::query_as(&format!("SELECT {SEALED_COLUMNS} FROM customers c WHERE c.id = $1"))
            .bind(customer)
            .fetch_optional(&mut **tx)
            .await?;
    let Some(sealed) = row else {
        return Ok(None);
    };
    let name = sealed.open(keyring, merchant, ContactField::Name)?;
    let phone = sealed.masked_phone(keyring, merchant)?;
    Ok(Some(MaskedContact { id: customer.as_uuid(), name, phone }))
}

/// The customer a message is about to go to (consent, where they live, their sealed contact),
/// locked: two due messages for one customer are decided one after the other, so the second sees
/// the first and the frequency cap holds.
pub async fn lock_recipient(tx: &mut Tx, customer: CustomerId) -> Result<CustomerRow, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {CUSTOMER_COLUMNS} FROM customers c WHERE c.id = $1 FOR UPDATE"))
        .bind(customer)
        .fetch_one(&mut **tx)
        .await
}

/// Whether the stored customer already holds everything the snapshot says, under the active
/// key, so writing it again would change nothing.
fn holds_already(
    keyring: &Keyring,
    merchant: MerchantId,
    existing: &Existing,
    phone_lookup: &Option<Vec<u8>>,
    email_lookup: &Option<Vec<u8>>,
    snapshot: &CustomerSnapshot,
) -> Result<bool, UpsertError> {
    let Some(key_id) = existing.pii_key_id.as_deref().filter(|key_id| *key_id == keyring.active_key_id()) else {
        return Ok(false);
    };
    let same_lookup = |new: &Option<Vec<u8>>, stored: &Option<Vec<u8>>| new.is_none() || new == stored;
    let country = snapshot.country_code.as_deref().map(str::to_ascii_uppercase);
    if !same_lookup(phone_lookup, &existing.phone_lookup)
        || !same_lookup(email_lookup, &existing.email_lookup)
        || (country.is_some() && country != existing.country_code)
        || (snapshot.external_id.is_some() && existing.external_id.is_none())
    {
        return Ok(false);
    }
    match (snapshot.name.as_deref(), existing.name_sealed.as_deref()) {
        (None, _) => Ok(true),
        (Some(_), None) => Ok(false),
        (Some(name), Some(sealed)) => {
            Ok(keyring.open(key_id, sealed, &field_context(merchant, "name"))? == name.as_bytes())
        }
    }
}

/// `phone_lookups` and `email_lookups` hold the value's hash under every configured lookup key.
async fn find(
    tx: &mut Tx,
    merchant: MerchantId,
    phone_lookups: Option<&[Vec<u8>]>,
    email_lookups: Option<&[Vec<u8>]>,
    external_id: Option<&str>,
) -> Result<Option<Existing>, sqlx::Error> {
    // A phone match wins over a platform id, which wins over an email (emails are shared more).
    sqlx::query_as(
        "SELECT id, whatsapp_consent, consent_updated_at, pii_key_id, phone_sealed, email_sealed, name_sealed,
             phone_lookup, email_lookup, country_code, external_id
         FROM customers
         WHERE merchant_id = $1
           AND ((phone_lookup = ANY($2)) OR (external_id = $3) OR (email_lookup = ANY($4)))
         ORDER BY (phone_lookup = ANY($2)) IS TRUE DESC, (external_id = $3) IS TRUE DESC, created_at
         LIMIT 1
         FOR UPDATE",
    )
    .bind(merchant)
    .bind(phone_lookups)
    .bind(external_id)
    .bind(email_lookups)
    .fetch_optional(&mut **tx)
    .await
}

#[cfg(test)]
mod tests {
    use super::normalize_email;

    #[test]
    fn emails_are_lower_cased_and_checked_for_shape() {
        assert_eq!(normalize_email(" Jon@Example.COM "), Some("jon@example.com".into()));
        assert_eq!(normalize_email("no-at-sign"), None);
        assert_eq!(normalize_email("a@localhost"), None);
    }
}

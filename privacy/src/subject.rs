//! The customers a request means. The merchant names one by our id, a phone or an email; a store
//! names one by its own customer id, email and phone, and means every row any of them matches.
//! Phones and emails are matched through their keyed lookup hashes, never in clear.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::StoreCustomer;
use recete_platform::crypto::Keyring;
use recete_platform::db::Tx;
use recete_platform::ids::{CustomerId, MerchantId};
use recete_shared::customers::{EMAIL_LOOKUP_DOMAIN, PHONE_LOOKUP_DOMAIN, normalize_email};
use recete_shared::merchants;
use recete_shared::phone::{PhoneError, PhoneNumber};

/// How the merchant names the customer.
#[derive(Clone, PartialEq, Eq)]
pub enum Subject {
    Id(CustomerId),
    /// As typed; a number without `+` is read in the merchant's default phone country.
    Phone(String),
    Email(String),
}

/// Never prints a phone or an email.
impl std::fmt::Debug for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(id) => write!(f, "Subject::Id({id})"),
            Self::Phone(_) => f.write_str("Subject::Phone(..)"),
            Self::Email(_) => f.write_str("Subject::Email(..)"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SubjectError {
    #[error("{0}")]
    Phone(PhoneError),
    #[error("not an email address")]
    Email,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A customer row a request matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct Matched {
    pub id: CustomerId,
    /// Set when an earlier request erased the customer.
    pub erased_at: Option<DateTime<Utc>>,
}

/// The customers `subject` names, oldest first; empty when none.
pub async fn find(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    subject: &Subject,
) -> Result<Vec<Matched>, SubjectError> {
    let rows = match subject {
        Subject::Id(id) => {
            sqlx::query_as("SELECT id, erased_at FROM customers WHERE merchant_id = $1 AND id = $2")
                .bind(merchant)
                .bind(id)
                .fetch_all(&mut **tx)
                .await?
        }
        Subject::Phone(raw) => {
            let country = merchants::phone_country(tx, merchant).await?;
            let phone = PhoneNumber::parse(raw, country.as_deref()).map_err(SubjectError::Phone)?;
            let lookups = keyring.lookup_hashes(PHONE_LOOKUP_DOMAIN, phone.as_e164());
            sqlx::query_as(
                "SELECT id, erased_at FROM customers WHERE merchant_id = $1 AND phone_lookup = ANY($2)
                 ORDER BY created_at, id",
            )
            .bind(merchant)
            .bind(&lookups)
            .fetch_all(&mut **tx)
            .await?
        }
        Subject::Email(raw) => {
            let email = normalize_email(raw).ok_or(SubjectError::Email)?;
            let lookups = keyring.lookup_hashes(EMAIL_LOOKUP_DOMAIN, &email);
            sqlx::query_as(
                "SELECT id, erased_at FROM customers WHERE merchant_id = $1 AND email_lookup = ANY($2)
                 ORDER BY created_at, id",
            )
            .bind(merchant)
            .bind(&lookups)
            .fetch_all(&mut **tx)
            .await?
        }
    };
    Ok(rows)
}

/// Every customer row a store's request matches by its customer id, phone or email. Identifiers
/// that do not parse match nothing (the store may hold numbers we could never store).
pub async fn find_store_customer(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    customer: &StoreCustomer,
) -> Result<Vec<Matched>, sqlx::Error> {
    let country = merchants::phone_country(tx, merchant).await?;
    let phone_lookup = customer
        .phone
        .as_deref()
        .and_then(|raw| PhoneNumber::parse(raw, country.as_deref()).ok())
        .map(|phone| keyring.lookup_hashes(PHONE_LOOKUP_DOMAIN, phone.as_e164()));
    let email_lookup = customer
        .email
        .as_deref()
        .and_then(normalize_email)
        .map(|email| keyring.lookup_hashes(EMAIL_LOOKUP_DOMAIN, &email));
    sqlx::query_as(
        "SELECT id, erased_at FROM customers
         WHERE merchant_id = $1 AND (external_id = $2 OR phone_lookup = ANY($3) OR email_lookup = ANY($4))
         ORDER BY created_at, id",
    )
    .bind(merchant)
    .bind(customer.external_id.as_deref())
    .bind(phone_lookup)
    .bind(email_lookup)
    .fetch_all(&mut **tx)
    .await
}

//! A phone number or email address as someone typed it into a search, turned into the keyed
//! lookup hashes customers are found by (one per configured lookup key). Phones are read as the
//! customers' numbers were when stored: a number without `+` in the merchant's phone country.
//! Errors name the field and the reason, never the value. Also the customers the workers find by
//! lookup hashes they computed themselves.

use super::{EMAIL_LOOKUP_DOMAIN, PHONE_LOOKUP_DOMAIN, normalize_email};
use crate::merchants;
use crate::phone::{PhoneError, PhoneNumber};
use recete_platform::crypto::Keyring;
use recete_platform::db::Tx;
use recete_platform::ids::{CustomerId, MerchantId};

pub const MAX_PHONE_CHARS: usize = 32;
pub const MAX_EMAIL_CHARS: usize = 254;

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("must not be empty")]
    EmptyPhone,
    #[error("must be at most {MAX_PHONE_CHARS} characters")]
    PhoneTooLong,
    /// `no_country`: the number has no `+` and the merchant has no phone country to read it in.
    #[error("{reason}{}", if *.no_country { " (write it with its +country code: no default phone country is set and the shop's time zone names no country)" } else { "" })]
    Phone { reason: PhoneError, no_country: bool },
    #[error("must be at most {MAX_EMAIL_CHARS} characters")]
    EmailTooLong,
    #[error("is not an email address")]
    Email,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl LookupError {
    /// The field at fault: `phone` or `email` (`None` for a database error).
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::EmptyPhone | Self::PhoneTooLong | Self::Phone { .. } => Some("phone"),
            Self::EmailTooLong | Self::Email => Some("email"),
            Self::Database(_) => None,
        }
    }
}

/// The lookup hashes of a phone number as typed.
pub async fn phone_lookups(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    raw: &str,
) -> Result<Vec<Vec<u8>>, LookupError> {
    if raw.trim().is_empty() {
        return Err(LookupError::EmptyPhone);
    }
    if raw.chars().count() > MAX_PHONE_CHARS {
        return Err(LookupError::PhoneTooLong);
    }
    let country = merchants::phone_country(tx, merchant).await?;
    let phone = PhoneNumber::parse(raw, country.as_deref())
        .map_err(|reason| LookupError::Phone { reason, no_country: country.is_none() })?;
    Ok(keyring.lookup_hashes(PHONE_LOOKUP_DOMAIN, phone.as_e164()))
}

/// The lookup hashes of an email address as typed (trimmed, case-insensitive).
pub fn email_lookups(keyring: &Keyring, raw: &str) -> Result<Vec<Vec<u8>>, LookupError> {
    if raw.chars().count() > MAX_EMAIL_CHARS {
        return Err(LookupError::EmailTooLong);
    }
    let email = normalize_email(raw).ok_or(LookupError::Email)?;
    Ok(keyring.lookup_hashes(EMAIL_LOOKUP_DOMAIN, &email))
}

/// The merchant's customer with one of these phone lookup hashes.
pub async fn find_by_phone(
    tx: &mut Tx,
    merchant: MerchantId,
    phone_lookups: &[Vec<u8>],
) -> Result<Option<CustomerId>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM customers WHERE merchant_id = $1 AND phone_lookup = ANY($2)")
        .bind(merchant)
        .bind(phone_lookups)
        .fetch_optional(&mut **tx)
        .await
}

/// Whether the merchant's customer with one of these phone or email lookup hashes last set their
/// consent on WhatsApp (STOP, START).
pub async fn consent_set_on_whatsapp(
    tx: &mut Tx,
    merchant: MerchantId,
    phone_lookups: Option<&[Vec<u8>]>,
    email_lookups: Option<&[Vec<u8>]>,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM customers WHERE merchant_id = $1
             AND (phone_lookup = ANY($2) OR email_lookup = ANY($3))
             AND consent_source LIKE 'whatsapp:%')",
    )
    .bind(merchant)
    .bind(phone_lookups)
    .bind(email_lookups)
    .fetch_one(&mut **tx)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use recete_platform::config::{PlatformSettings, base_figment};

    #[test]
    fn emails_are_hashed_case_insensitively_and_bad_ones_are_named() {
        let settings = PlatformSettings::load_from(base_figment(None)).expect("defaults load");
        let keyring = Keyring::from_settings(&settings.crypto).expect("default keys");
        let lower = email_lookups(&keyring, "ada@example.com").expect("an email");
        assert_eq!(email_lookups(&keyring, "  Ada@Example.COM ").expect("an email"), lower);
        let bad = email_lookups(&keyring, "ada").expect_err("not an email");
        assert_eq!((bad.field(), bad.to_string().as_str()), (Some("email"), "is not an email address"));
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(email_lookups(&keyring, &long).expect_err("too long").field(), Some("email"));
    }

    #[test]
    fn a_phone_without_a_country_says_how_to_write_it() {
        let error = LookupError::Phone { reason: PhoneError::Unparseable, no_country: true };
        assert!(error.to_string().starts_with("not a phone number (write it with its +country code"), "{error}");
        assert_eq!(LookupError::EmptyPhone.field(), Some("phone"));
    }
}

//! A customer's sealed contact fields as stored, and the one place they are opened.
//!
//! Phone, email and name are sealed with AES-256-GCM under the key `pii_key_id` names, bound to
//! the merchant ([`super::field_context`]), so a value copied into another merchant's row does
//! not open. Every reader selects the four columns into [`SealedContact`] (`#[sqlx(flatten)]`)
//! and opens here the fields it needs, or all of them into a [`Contact`].

use sqlx::FromRow;

use super::field_context;
use recete_platform::crypto::{Keyring, KeyringError};
use recete_platform::ids::MerchantId;

/// The `SELECT` list of the four columns, for a `customers` row aliased `c`.
pub const SEALED_COLUMNS: &str = "c.pii_key_id, c.phone_sealed, c.email_sealed, c.name_sealed";

/// One of a customer's sealed fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactField {
    /// E.164.
    Phone,
    Email,
    Name,
}

impl ContactField {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Email => "email",
            Self::Name => "name",
        }
    }
}

#[derive(Debug, Clone, Default, FromRow)]
pub struct SealedContact {
    pub pii_key_id: Option<String>,
    pub phone_sealed: Option<Vec<u8>>,
    pub email_sealed: Option<Vec<u8>>,
    pub name_sealed: Option<Vec<u8>>,
}

impl SealedContact {
    /// The field in plain text; `None` when the row holds none (never given, or erased).
    pub fn open(
        &self,
        keyring: &Keyring,
        merchant: MerchantId,
        field: ContactField,
    ) -> Result<Option<String>, KeyringError> {
        let sealed = match field {
            ContactField::Phone => self.phone_sealed.as_deref(),
            ContactField::Email => self.email_sealed.as_deref(),
            ContactField::Name => self.name_sealed.as_deref(),
        };
        let (Some(key_id), Some(sealed)) = (self.pii_key_id.as_deref(), sealed) else {
            return Ok(None);
        };
        let plain = keyring.open(key_id, sealed, &field_context(merchant, field.as_str()))?;
        Ok(Some(String::from_utf8_lossy(&plain).into_owned()))
    }

    /// Every field, opened.
    pub fn open_all(&self, keyring: &Keyring, merchant: MerchantId) -> Result<Contact, KeyringError> {
        Ok(Contact {
            phone: self.open(keyring, merchant, ContactField::Phone)?,
            email: self.open(keyring, merchant, ContactField::Email)?,
            name: self.open(keyring, merchant, ContactField::Name)?,
        })
    }

    /// The phone shown to people: country code and last two digits (`+49 ****89`).
    pub fn masked_phone(&self, keyring: &Keyring, merchant: MerchantId) -> Result<Option<String>, KeyringError> {
        Ok(self.open(keyring, merchant, ContactField::Phone)?.map(|e164| crate::phone::masked(&e164)))
    }
}

/// A customer's contact fields in plain text; `None` where the row holds none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    /// E.164.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
}

impl Contact {
    /// The phone shown to people: country code and last two digits (`+49 ****89`).
    pub fn masked_phone(&self) -> Option<String> {
        self.phone.as_deref().map(crate::phone::masked)
    }
}

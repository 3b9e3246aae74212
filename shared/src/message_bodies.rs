//! Message texts are personal data: sealed with the merchant bound into the associated data, so
//! a body copied to another merchant's row does not open.

use crate::crypto::{Keyring, KeyringError};
use crate::ids::MerchantId;

/// The associated data message bodies are sealed with.
pub fn context(merchant: MerchantId) -> Vec<u8> {
    format!("messages.body:{merchant}").into_bytes()
}

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("a message body does not open: {0}")]
    Sealed(#[from] KeyringError),
    #[error("a message body is not UTF-8")]
    NotText,
}

/// The text of a message row; `None` when it has no body (media, templates).
pub fn open(
    keyring: &Keyring,
    merchant: MerchantId,
    key_id: Option<&str>,
    sealed: Option<&[u8]>,
) -> Result<Option<String>, BodyError> {
    let (Some(key_id), Some(sealed)) = (key_id, sealed) else {
        return Ok(None);
    };
    let plain = keyring.open(key_id, sealed, &context(merchant))?;
    String::from_utf8(plain).map(Some).map_err(|_| BodyError::NotText)
}

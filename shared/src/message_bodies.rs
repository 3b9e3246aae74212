//! Message texts are personal data: sealed with the merchant bound into the associated data, so
//! a body copied to another merchant's row does not open.

use recete_platform::crypto::{Keyring, KeyringError};
use recete_platform::ids::MerchantId;

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
    #[error("a sealed text in a task payload lacks its key id or bytes")]
    Malformed,
}

/// A text sealed for a queue payload (a reply waiting to be sent): base64 of the sealed bytes and
/// the key id, so the plain text never sits in `scheduled_tasks`.
pub fn seal_for_payload(keyring: &Keyring, merchant: MerchantId, text: &str) -> serde_json::Value {
    use base64::Engine;
    let sealed = keyring.seal(text.as_bytes(), &context(merchant));
    serde_json::json!({
        "key_id": sealed.key_id,
        "sealed": base64::engine::general_purpose::STANDARD.encode(&sealed.bytes),
    })
}

/// Opens what [`seal_for_payload`] wrote.
pub fn open_from_payload(
    keyring: &Keyring,
    merchant: MerchantId,
    value: &serde_json::Value,
) -> Result<String, BodyError> {
    use base64::Engine;
    let key_id = value.get("key_id").and_then(serde_json::Value::as_str).ok_or(BodyError::Malformed)?;
    let sealed = value
        .get("sealed")
        .and_then(serde_json::Value::as_str)
        .and_then(|text| base64::engine::general_purpose::STANDARD.decode(text).ok())
        .ok_or(BodyError::Malformed)?;
    open(keyring, merchant, Some(key_id), Some(&sealed))?.ok_or(BodyError::Malformed)
}

/// Re-seals with the active key every text [`seal_for_payload`] put anywhere in a task payload
/// (an object holding `key_id` and `sealed`) that another key sealed; returns how many.
pub fn reseal_in_payload(
    keyring: &Keyring,
    merchant: MerchantId,
    payload: &mut serde_json::Value,
) -> Result<usize, BodyError> {
    use serde_json::Value;
    match payload {
        Value::Object(fields) if fields.contains_key("sealed") && fields.contains_key("key_id") => {
            let sealed_with_other_key =
                fields.get("key_id").and_then(Value::as_str).is_some_and(|key_id| key_id != keyring.active_key_id());
            if !sealed_with_other_key {
                return Ok(0);
            }
            let text = open_from_payload(keyring, merchant, payload)?;
            *payload = seal_for_payload(keyring, merchant, &text);
            Ok(1)
        }
        Value::Object(fields) => {
            let mut resealed = 0;
            for value in fields.values_mut() {
                resealed += reseal_in_payload(keyring, merchant, value)?;
            }
            Ok(resealed)
        }
        Value::Array(values) => {
            let mut resealed = 0;
            for value in values {
                resealed += reseal_in_payload(keyring, merchant, value)?;
            }
            Ok(resealed)
        }
        _ => Ok(0),
    }
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

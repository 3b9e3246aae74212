//! Endpoint secrets and signatures as Standard Webhooks defines them: a secret is `whsec_`
//! followed by the base64 of its key bytes; a signature is `v1,` and the base64 of
//! HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>"). While a rotated secret overlaps
//! with its successor, the header carries one signature per secret, separated by spaces, and a
//! receiver accepts the message when any of them verifies.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use recete_platform::crypto::{hmac_sha256, random_bytes};

pub const PREFIX: &str = "whsec_";
/// Bytes of a generated key: 256 bits, as HMAC-SHA256 uses them all.
const KEY_BYTES: usize = 32;
/// Standard Webhooks asks for keys of 24 to 64 bytes.
const MIN_KEY_BYTES: usize = 24;
const MAX_KEY_BYTES: usize = 64;

/// A signing secret. Its `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    pub fn generate() -> Self {
        Self(random_bytes::<KEY_BYTES>().to_vec())
    }

    /// Reads a `whsec_<base64>` secret.
    pub fn parse(text: &str) -> Result<Self, String> {
        let encoded = text.strip_prefix(PREFIX).ok_or_else(|| format!("a webhook secret starts with `{PREFIX}`"))?;
        let key = STANDARD.decode(encoded).map_err(|_| "a webhook secret is base64 after its prefix".to_owned())?;
        if !(MIN_KEY_BYTES..=MAX_KEY_BYTES).contains(&key.len()) {
            return Err(format!("a webhook secret holds {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes, not {}", key.len()));
        }
        Ok(Self(key))
    }

    /// The secret as the merchant stores it.
    pub fn expose(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// `v1,<base64 signature>` of one message.
    pub fn sign(&self, webhook_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut signed = Vec::with_capacity(webhook_id.len() + body.len() + 24);
        signed.extend_from_slice(webhook_id.as_bytes());
        signed.push(b'.');
        signed.extend_from_slice(timestamp.to_string().as_bytes());
        signed.push(b'.');
        signed.extend_from_slice(body);
        format!("v1,{}", STANDARD.encode(hmac_sha256(&self.0, &signed)))
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

/// The `webhook-signature` header: one signature per secret, space-separated.
pub fn signature_header(secrets: &[WebhookSecret], webhook_id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|secret| secret.sign(webhook_id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_specification_example() {
        // The worked example of the Standard Webhooks specification.
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("valid secret");
        let signature = secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn generated_secrets_read_back_and_differ() {
        let secret = WebhookSecret::generate();
        assert!(secret.expose().starts_with(PREFIX));
        assert_eq!(WebhookSecret::parse(&secret.expose()), Ok(secret.clone()));
        assert_ne!(WebhookSecret::generate(), secret);
        assert_eq!(format!("{secret:?}"), "WebhookSecret(..)");
    }

    #[test]
    fn malformed_secrets_are_refused_with_the_reason() {
        assert!(WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect_err("no prefix").contains("whsec_"));
        assert!(WebhookSecret::parse("whsec_not base64!").expect_err("bad base64").contains("base64"));
        assert!(WebhookSecret::parse("whsec_c2hvcnQ=").expect_err("short").contains("not 5"));
    }

    #[test]
    fn an_overlapping_rotation_signs_with_every_secret() {
        let (new, old) = (WebhookSecret::generate(), WebhookSecret::generate());
        let header = signature_header(&[new.clone(), old.clone()], "id", 1, b"{}");
        assert_eq!(header, format!("{} {}", new.sign("id", 1, b"{}"), old.sign("id", 1, b"{}")));
    }
}

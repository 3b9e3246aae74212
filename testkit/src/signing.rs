//! Signing webhook bodies the way each sender does, for tests and benchmarks.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use recete_platform::crypto::hmac_sha256;

/// `X-Shopify-Hmac-Sha256` and `X-WC-Webhook-Signature`.
pub fn base64_hmac(secret: &str, body: &[u8]) -> String {
    STANDARD.encode(hmac_sha256(secret.as_bytes(), body))
}

/// `X-Hub-Signature-256`.
pub fn hub_signature(app_secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(app_secret.as_bytes(), body)))
}

/// `Recete-Signature` for the generic API at `timestamp` (unix seconds).
pub fn recete_signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    format!("t={timestamp},v1={}", hex::encode(hmac_sha256(secret.as_bytes(), &signed)))
}

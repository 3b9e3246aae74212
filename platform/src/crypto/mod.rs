//! The one place personal data is sealed and secrets are made.
//!
//! Sealed values are AES-256-GCM with a fresh random 96-bit nonce per value, stored as
//! `nonce || ciphertext+tag`, with the id of the key beside them in their own column so keys can
//! rotate: new data uses the active key, old data stays readable while its key is configured.
//! Every value is bound to where it lives through associated data (for example the event's
//! integration and delivery id), so a sealed value copied into another row does not open.

mod key_generation;
mod keyring;
mod signatures;
mod tokens;

pub use key_generation::{production_crypto_section, today};
pub use keyring::{Keyring, KeyringError, Sealed};
pub use signatures::{hmac_sha256, hmac_sha256_parts, matches_any, sha256, verify_hmac_sha256};
pub use tokens::{random_bytes, random_token};

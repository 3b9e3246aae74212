use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;

use crate::config::CryptoSettings;

const NONCE_LEN: usize = 12;

/// A sealed value and the id of the key that sealed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("crypto key `{0}` is not base64 of exactly 32 bytes")]
    BadKey(String),
    #[error("crypto.lookup_key must be base64 of at least 32 bytes")]
    BadLookupKey,
    #[error("no crypto key with id `{0}` is configured")]
    UnknownKey(String),
    #[error("sealed value is corrupt or bound to another record")]
    Corrupt,
}

/// Every configured data key plus the lookup-hash key. Cheap to share behind an `Arc`.
pub struct Keyring {
    active_key_id: String,
    ciphers: BTreeMap<String, Aes256Gcm>,
    lookup: Hmac<Sha256>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("active_key_id", &self.active_key_id)
            .field("key_ids", &self.ciphers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Keyring {
    pub fn from_settings(settings: &CryptoSettings) -> Result<Self, KeyringError> {
        let mut ciphers = BTreeMap::new();
        for (id, encoded) in &settings.keys {
            let key = STANDARD
                .decode(encoded.expose_secret().trim())
                .ok()
                .filter(|bytes| bytes.len() == 32)
                .ok_or_else(|| KeyringError::BadKey(id.clone()))?;
            let cipher = Aes256Gcm::new_from_slice(&key).map_err(|_| KeyringError::BadKey(id.clone()))?;
            ciphers.insert(id.clone(), cipher);
        }
        if !ciphers.contains_key(&settings.active_key_id) {
            return Err(KeyringError::UnknownKey(settings.active_key_id.clone()));
        }
        let lookup_key = STANDARD
            .decode(settings.lookup_key.expose_secret().trim())
            .ok()
            .filter(|bytes| bytes.len() >= 32)
            .ok_or(KeyringError::BadLookupKey)?;
        let lookup = <Hmac<Sha256> as Mac>::new_from_slice(&lookup_key).map_err(|_| KeyringError::BadLookupKey)?;
        Ok(Self { active_key_id: settings.active_key_id.clone(), ciphers, lookup })
    }

    pub fn active_key_id(&self) -> &str {
        &self.active_key_id
    }

    /// Seals `plaintext` with the active key, bound to `context`.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Sealed {
        self.seal_with(&self.active_key_id, plaintext, context)
            .expect("the active key is checked to exist at construction")
    }

    /// Seals with a named key; several values of one row share the row's key id this way.
    pub fn seal_with(&self, key_id: &str, plaintext: &[u8], context: &[u8]) -> Result<Sealed, KeyringError> {
        let cipher = self.cipher(key_id)?;
        let nonce_bytes: [u8; NONCE_LEN] = super::random_bytes();
        let ciphertext = cipher
            .encrypt(Nonce::from_slice(&nonce_bytes), Payload { msg: plaintext, aad: context })
            .map_err(|_| KeyringError::Corrupt)?;
        let mut bytes = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        bytes.extend_from_slice(&nonce_bytes);
        bytes.extend_from_slice(&ciphertext);
        Ok(Sealed { key_id: key_id.to_owned(), bytes })
    }

    /// Opens a value sealed by [`Keyring::seal`] with the same `context`.
    pub fn open(&self, key_id: &str, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, KeyringError> {
        let cipher = self.cipher(key_id)?;
        if sealed.len() < NONCE_LEN {
            return Err(KeyringError::Corrupt);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: context })
            .map_err(|_| KeyringError::Corrupt)
    }

    /// A keyed hash for equality lookups of personal data (a phone in E.164, a lower-cased
    /// email) without storing it in clear. `domain` keeps hashes of different fields apart.
    pub fn lookup_hash(&self, domain: &str, value: &str) -> [u8; 32] {
        let mut mac = self.lookup.clone();
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn cipher(&self, key_id: &str) -> Result<&Aes256Gcm, KeyringError> {
        self.ciphers.get(key_id).ok_or_else(|| KeyringError::UnknownKey(key_id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Settings, base_figment};

    fn keyring() -> Keyring {
        let settings = Settings::load_from(base_figment(None)).expect("defaults load");
        Keyring::from_settings(&settings.crypto).expect("default keys are valid")
    }

    #[test]
    fn sealed_value_opens_only_with_its_context() {
        let keyring = keyring();
        let sealed = keyring.seal(b"+905551112233", b"customers.phone:1");
        assert_eq!(sealed.key_id, "dev-1");
        assert!(!sealed.bytes.windows(13).any(|w| w == b"+905551112233"));
        let opened = keyring.open(&sealed.key_id, &sealed.bytes, b"customers.phone:1").expect("opens");
        assert_eq!(opened, b"+905551112233");
        assert!(matches!(
            keyring.open(&sealed.key_id, &sealed.bytes, b"customers.phone:2"),
            Err(KeyringError::Corrupt)
        ));
    }

    #[test]
    fn sealing_twice_gives_different_bytes() {
        let keyring = keyring();
        assert_ne!(keyring.seal(b"same", b"ctx").bytes, keyring.seal(b"same", b"ctx").bytes);
    }

    #[test]
    fn unknown_key_and_truncated_values_are_errors_not_panics() {
        let keyring = keyring();
        assert!(matches!(keyring.open("nope", b"0123456789abcdef", b""), Err(KeyringError::UnknownKey(_))));
        assert!(matches!(keyring.open("dev-1", b"short", b""), Err(KeyringError::Corrupt)));
    }

    #[test]
    fn lookup_hashes_are_stable_and_domain_separated() {
        let keyring = keyring();
        assert_eq!(keyring.lookup_hash("phone", "+1555"), keyring.lookup_hash("phone", "+1555"));
        assert_ne!(keyring.lookup_hash("phone", "+1555"), keyring.lookup_hash("email", "+1555"));
    }
}

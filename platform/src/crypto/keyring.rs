use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::{CryptoSettings, decode_key};

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
    #[error("lookup key `{0}` is not base64 of at least 32 bytes")]
    BadLookupKey(String),
    #[error("no lookup key with id `{0}` is configured")]
    UnknownLookupKey(String),
    #[error("no crypto key with id `{0}` is configured")]
    UnknownKey(String),
    #[error("sealed value is corrupt or bound to another record")]
    Corrupt,
}

/// Every configured data key plus every lookup-hash key. Cheap to share behind an `Arc`.
pub struct Keyring {
    active_key_id: String,
    ciphers: BTreeMap<String, Aes256Gcm>,
    active_lookup_key_id: String,
    /// The active lookup key first, then the others.
    lookups: Vec<(String, Hmac<Sha256>)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("active_key_id", &self.active_key_id)
            .field("key_ids", &self.ciphers.keys().collect::<Vec<_>>())
            .field("active_lookup_key_id", &self.active_lookup_key_id)
            .field("lookup_key_ids", &self.lookups.iter().map(|(id, _)| id).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Keyring {
    pub fn from_settings(settings: &CryptoSettings) -> Result<Self, KeyringError> {
        let mut ciphers = BTreeMap::new();
        for (id, encoded) in &settings.keys {
            let key = decode_key(encoded, true).ok_or_else(|| KeyringError::BadKey(id.clone()))?;
            let cipher = Aes256Gcm::new_from_slice(&key).map_err(|_| KeyringError::BadKey(id.clone()))?;
            ciphers.insert(id.clone(), cipher);
        }
        if !ciphers.contains_key(&settings.active_key_id) {
            return Err(KeyringError::UnknownKey(settings.active_key_id.clone()));
        }
        let (active_lookup_key_id, lookup_keys) = settings.lookup_key_set();
        let mut lookups = Vec::with_capacity(lookup_keys.len());
        for (id, encoded) in lookup_keys {
            let key = decode_key(encoded, false).ok_or_else(|| KeyringError::BadLookupKey(id.clone()))?;
            let mac =
                <Hmac<Sha256> as Mac>::new_from_slice(&key).map_err(|_| KeyringError::BadLookupKey(id.clone()))?;
            lookups.push((id, mac));
        }
        let Some(active) = lookups.iter().position(|(id, _)| *id == active_lookup_key_id) else {
            return Err(KeyringError::UnknownLookupKey(active_lookup_key_id));
        };
        lookups.swap(0, active);
        Ok(Self { active_key_id: settings.active_key_id.clone(), ciphers, active_lookup_key_id, lookups })
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

    /// The id of the lookup key [`Keyring::lookup_hash`] uses; stored beside the hashes it makes.
    pub fn active_lookup_key_id(&self) -> &str {
        &self.active_lookup_key_id
    }

    /// A keyed hash for equality lookups of personal data (a phone in E.164, a lower-cased
    /// email) without storing it in clear, under the active lookup key. `domain` keeps hashes of
    /// different fields apart.
    pub fn lookup_hash(&self, domain: &str, value: &str) -> [u8; 32] {
        let (_, active) = &self.lookups[0];
        hash_with(active, domain, value)
    }

    /// The hashes of `value` under every configured lookup key, the active one first: what a
    /// lookup matches while rows hashed with an older key await `recete keys rotate`.
    pub fn lookup_hashes(&self, domain: &str, value: &str) -> Vec<Vec<u8>> {
        self.lookups.iter().map(|(_, mac)| hash_with(mac, domain, value).to_vec()).collect()
    }

    fn cipher(&self, key_id: &str) -> Result<&Aes256Gcm, KeyringError> {
        self.ciphers.get(key_id).ok_or_else(|| KeyringError::UnknownKey(key_id.to_owned()))
    }
}

fn hash_with(key: &Hmac<Sha256>, domain: &str, value: &str) -> [u8; 32] {
    let mut mac = key.clone();
    mac.update(domain.as_bytes());
    mac.update(&[0]);
    mac.update(value.as_bytes());
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PlatformSettings, base_figment};

    fn keyring() -> Keyring {
        let settings = PlatformSettings::load_from(base_figment(None)).expect("defaults load");
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
    fn lookups_try_every_lookup_key_the_active_one_first() {
        let settings = |active: &str| -> CryptoSettings {
            serde_json::from_value(serde_json::json!({
                "active_key_id": "k-1",
                "keys": { "k-1": "Pq0G3y8rZmG3qk2Q8m0w9b1m7n5r3t1v2x4z6c8e0g0=" },
                "active_lookup_key_id": active,
                "lookup_keys": {
                    "l-1": "BzxC+rlEZCf5VID7fWW6s9kglaxSdM0YYl/57SGViLo=",
                    "l-2": "c2VjcmV0LWxvb2t1cC1rZXktb2YtdGhpcnR5LXR3by1ieXRlcw==",
                },
            }))
            .expect("settings")
        };
        let old = Keyring::from_settings(&settings("l-1")).expect("keyring");
        let new = Keyring::from_settings(&settings("l-2")).expect("keyring");
        assert_eq!(new.active_lookup_key_id(), "l-2");
        assert_ne!(old.lookup_hash("phone", "+1555"), new.lookup_hash("phone", "+1555"));
        let hashes = new.lookup_hashes("phone", "+1555");
        assert_eq!(hashes, [new.lookup_hash("phone", "+1555").to_vec(), old.lookup_hash("phone", "+1555").to_vec()]);
        let unknown = Keyring::from_settings(&settings("l-9")).expect_err("no such lookup key");
        assert!(matches!(unknown, KeyringError::UnknownLookupKey(id) if id == "l-9"));
    }

    #[test]
    fn lookup_hashes_are_stable_and_domain_separated() {
        let keyring = keyring();
        assert_eq!(keyring.lookup_hash("phone", "+1555"), keyring.lookup_hash("phone", "+1555"));
        assert_ne!(keyring.lookup_hash("phone", "+1555"), keyring.lookup_hash("email", "+1555"));
    }
}

//! Merchant API keys: `rk_live_` followed by 32 random alphanumerics and a 6-character checksum.
//!
//! The key is shown once; only its SHA-256 is stored. The checksum lets a typo or a truncated
//! key be refused without a database round trip, and lets secret scanners recognise our keys.

use chrono::{DateTime, Utc};

use crate::crypto::{random_token, sha256};
use crate::db::Tx;
use crate::ids::{ApiKeyId, MerchantId};

const PREFIX: &str = "rk_live_";
const RANDOM_LEN: usize = 32;
const CHECKSUM_LEN: usize = 6;

/// A freshly made key: the plaintext exists only in this value.
pub struct NewApiKey {
    pub plaintext: String,
    pub hash: [u8; 32],
    pub display_prefix: String,
}

impl NewApiKey {
    pub fn generate() -> Self {
        let body = format!("{PREFIX}{}", random_token(RANDOM_LEN));
        let plaintext = format!("{body}{}", checksum(&body));
        Self { hash: sha256(plaintext.as_bytes()), display_prefix: plaintext[..PREFIX.len() + 4].to_owned(), plaintext }
    }
}

fn checksum(body: &str) -> String {
    hex::encode(sha256(body.as_bytes()))[..CHECKSUM_LEN].to_owned()
}

/// True when `candidate` has our shape and its checksum matches.
pub fn is_well_formed(candidate: &str) -> bool {
    let expected_len = PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN;
    if candidate.len() != expected_len || !candidate.starts_with(PREFIX) || !candidate.is_ascii() {
        return false;
    }
    let (body, sum) = candidate.split_at(expected_len - CHECKSUM_LEN);
    checksum(body) == sum
}

/// Stores a new key for `merchant` and returns its id and the plaintext to show once.
pub async fn insert(
    tx: &mut Tx,
    merchant: MerchantId,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(ApiKeyId, String), sqlx::Error> {
    let key = NewApiKey::generate();
    let id = ApiKeyId::generate();
    sqlx::query(
        "INSERT INTO api_keys (id, merchant_id, name, display_prefix, key_hash, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(merchant)
    .bind(name)
    .bind(&key.display_prefix)
    .bind(&key.hash[..])
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    Ok((id, key.plaintext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_well_formed_and_distinct() {
        let a = NewApiKey::generate();
        let b = NewApiKey::generate();
        assert!(is_well_formed(&a.plaintext), "{}", a.plaintext);
        assert_ne!(a.plaintext, b.plaintext);
        assert_eq!(a.hash, sha256(a.plaintext.as_bytes()));
        assert!(a.plaintext.starts_with(&a.display_prefix));
    }

    #[test]
    fn a_changed_character_fails_the_checksum() {
        let key = NewApiKey::generate().plaintext;
        let mut altered: Vec<char> = key.chars().collect();
        altered[10] = if altered[10] == 'a' { 'b' } else { 'a' };
        let altered: String = altered.into_iter().collect();
        assert!(!is_well_formed(&altered));
        assert!(!is_well_formed(&key[..key.len() - 1]));
        assert!(!is_well_formed("rk_test_whatever"));
    }
}

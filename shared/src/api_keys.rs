//! Merchant API keys: `rk_live_` followed by 32 random alphanumerics and a 6-character checksum.
//!
//! The key is shown once; only its SHA-256 is stored. The checksum lets a typo or a truncated
//! key be refused without a database round trip, and lets secret scanners recognise our keys.
//!
//! A key carries scopes ([`Scope`]): what it may do. A key made through the API by another key
//! records its maker; revoking a key revokes every key it made, and theirs, so a leaked key
//! cannot leave working descendants behind.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};

use recete_platform::crypto::{random_token, sha256};
use recete_platform::db::{self, Tx};
use recete_platform::ids::{ApiKeyId, MerchantId};

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

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Read the merchant's data (every `GET`).
    Read,
    /// Change the merchant's data (every other method), except credentials.
    Write,
    /// Manage credentials: API keys and integration secrets.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == value)
    }
}

/// A set of scopes, cheap to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScopeSet(u8);

impl ScopeSet {
    pub fn of(scopes: &[Scope]) -> Self {
        Self(scopes.iter().fold(0, |bits, scope| bits | Self::bit(*scope)))
    }

    fn bit(scope: Scope) -> u8 {
        1 << (scope as u8)
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & Self::bit(scope) != 0
    }

    pub fn is_subset_of(self, other: ScopeSet) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn to_vec(self) -> Vec<Scope> {
        Scope::ALL.into_iter().filter(|scope| self.contains(*scope)).collect()
    }
}

fn scope_names(scopes: &[Scope]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = scopes.iter().map(|scope| scope.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

fn parse_scopes(names: &[String]) -> Vec<Scope> {
    let mut scopes: Vec<Scope> = names.iter().filter_map(|name| Scope::parse(name)).collect();
    scopes.sort_unstable();
    scopes.dedup();
    scopes
}

/// A key to make.
pub struct KeyGrant<'a> {
    pub name: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
    pub scopes: &'a [Scope],
    /// The key making this one through the API; `None` for an operator's key.
    pub created_by: Option<ApiKeyId>,
}

/// Stores a new key for `merchant` with every scope, as an operator makes it, and returns its id
/// and the plaintext to show once.
pub async fn insert(
    tx: &mut Tx,
    merchant: MerchantId,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(ApiKeyId, String), sqlx::Error> {
    create(tx, merchant, &KeyGrant { name, expires_at, scopes: &Scope::ALL, created_by: None }).await
}

/// Stores a new key as `grant` says and returns its id and the plaintext to show once.
pub async fn create(
    tx: &mut Tx,
    merchant: MerchantId,
    grant: &KeyGrant<'_>,
) -> Result<(ApiKeyId, String), sqlx::Error> {
    let key = NewApiKey::generate();
    let id = ApiKeyId::generate();
    sqlx::query(
        "INSERT INTO api_keys (id, merchant_id, name, display_prefix, key_hash, expires_at, scopes, created_by_key_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(merchant)
    .bind(grant.name)
    .bind(&key.display_prefix)
    .bind(&key.hash[..])
    .bind(grant.expires_at)
    .bind(scope_names(grant.scopes))
    .bind(grant.created_by)
    .execute(&mut **tx)
    .await?;
    Ok((id, key.plaintext))
}

/// A key that authenticated a request.
#[derive(Debug, Clone)]
pub struct PresentedKey {
    pub id: ApiKeyId,
    pub merchant_id: MerchantId,
    /// The stored hash, for the caller's constant-time comparison.
    pub key_hash: Vec<u8>,
    pub scopes: ScopeSet,
}

/// Finds the live (neither revoked nor expired) key with this hash and records its use. Finding
/// the key is what tells whose it is, so this reads across merchants.
pub async fn authenticate(pool: &PgPool, hash: &[u8; 32]) -> Result<Option<PresentedKey>, sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    let found: Option<(ApiKeyId, MerchantId, Vec<u8>, Vec<String>)> = sqlx::query_as(
        "UPDATE api_keys SET last_used_at = now()
         WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
         RETURNING id, merchant_id, key_hash, scopes",
    )
    .bind(&hash[..])
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(found.map(|(id, merchant_id, key_hash, scopes)| PresentedKey {
        id,
        merchant_id,
        key_hash,
        scopes: ScopeSet::of(&parse_scopes(&scopes)),
    }))
}

/// An API key as the merchant sees it, without the key.
#[derive(Debug, Clone, FromRow)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub name: String,
    pub display_prefix: String,
    /// `active`, `revoked` or `expired`.
    pub state: String,
    scopes: Vec<String>,
    pub created_by_key_id: Option<ApiKeyId>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKeyRecord {
    pub fn scopes(&self) -> Vec<Scope> {
        parse_scopes(&self.scopes)
    }
}

const SELECT_KEY: &str = "
    SELECT id, name, display_prefix,
           CASE WHEN revoked_at IS NOT NULL THEN 'revoked'
                WHEN expires_at <= now() THEN 'expired'
                ELSE 'active' END AS state,
           scopes, created_by_key_id, created_at, last_used_at, expires_at, revoked_at
    FROM api_keys";

pub async fn find(tx: &mut Tx, id: ApiKeyId) -> Result<Option<ApiKeyRecord>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT_KEY} WHERE id = $1")).bind(id).fetch_optional(&mut **tx).await
}

/// Which keys a list shows.
#[derive(Debug, Clone, Default)]
pub struct ListFilter<'a> {
    /// `active`, `revoked` or `expired`.
    pub state: Option<&'a str>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Keys created before this (created_at, id), for the next page.
    pub before: Option<(DateTime<Utc>, ApiKeyId)>,
}

/// The merchant's keys, newest first.
pub async fn list(
    tx: &mut Tx,
    merchant: MerchantId,
    filter: &ListFilter<'_>,
    limit: i64,
) -> Result<Vec<ApiKeyRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT * FROM ({SELECT_KEY} WHERE merchant_id = $1) AS keys
         WHERE ($2::text IS NULL OR state = $2)
           AND ($3::timestamptz IS NULL OR created_at >= $3)
           AND ($4::timestamptz IS NULL OR created_at < $4)
           AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6))
         ORDER BY created_at DESC, id DESC
         LIMIT $7"
    ))
    .bind(merchant)
    .bind(filter.state)
    .bind(filter.from)
    .bind(filter.to)
    .bind(filter.before.map(|(at, _)| at))
    .bind(filter.before.map(|(_, id)| id))
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// Locks a live key so no key is made by it or revoked with it meanwhile; `None` when the key is
/// revoked (or unknown). A key made by it commits only if this key was still live.
pub async fn lock_live(tx: &mut Tx, id: ApiKeyId) -> Result<Option<Option<DateTime<Utc>>>, sqlx::Error> {
    sqlx::query_scalar("SELECT expires_at FROM api_keys WHERE id = $1 AND revoked_at IS NULL FOR SHARE")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// Revokes a key and every key it made, and theirs; returns the ids revoked now (keys revoked
/// earlier stay as they were).
pub async fn revoke_with_descendants(tx: &mut Tx, id: ApiKeyId) -> Result<Vec<ApiKeyId>, sqlx::Error> {
    // Locked first, in a statement of its own: a key being made by this one right now either
    // committed before the lock (and the next statement, with a fresh snapshot, sees it) or
    // waits and then finds its maker revoked.
    sqlx::query("SELECT 1 FROM api_keys WHERE id = $1 FOR UPDATE").bind(id).execute(&mut **tx).await?;
    sqlx::query_scalar(
        "WITH RECURSIVE tree AS (
             SELECT id FROM api_keys WHERE id = $1
             UNION
             SELECT k.id FROM api_keys k JOIN tree ON k.created_by_key_id = tree.id
         )
         UPDATE api_keys SET revoked_at = now(), updated_at = now()
         WHERE id IN (SELECT id FROM tree) AND revoked_at IS NULL
         RETURNING id",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await
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
    fn scopes_are_stored_sorted_once_and_read_back_ignoring_unknown_names() {
        assert_eq!(scope_names(&[Scope::Write, Scope::Read, Scope::Write]), vec!["read", "write"]);
        let read = parse_scopes(&["write".into(), "read".into(), "root".into()]);
        assert_eq!(read, vec![Scope::Read, Scope::Write]);
        let set = ScopeSet::of(&read);
        assert!(set.contains(Scope::Write) && !set.contains(Scope::Admin));
        assert!(set.is_subset_of(ScopeSet::of(&Scope::ALL)));
        assert!(!ScopeSet::of(&Scope::ALL).is_subset_of(set));
        assert_eq!(set.to_vec(), read);
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

//! Integrations: a merchant's connection to a store or to Meta, each with its signing secret.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretSlice};
use serde::Serialize;
use sqlx::{FromRow, PgPool};

use recete_platform::crypto::{Keyring, random_token, sha256};
use recete_platform::db::{self, Tx};
use recete_platform::ids::{IntegrationId, MerchantId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IntegrationKind {
    Shopify,
    WooCommerce,
    Generic,
    WhatsApp,
}

impl IntegrationKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Shopify => "shopify",
            Self::WooCommerce => "woocommerce",
            Self::Generic => "generic",
            Self::WhatsApp => "whatsapp",
        }
    }
}

impl fmt::Display for IntegrationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IntegrationKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "shopify" => Ok(Self::Shopify),
            "woocommerce" => Ok(Self::WooCommerce),
            "generic" => Ok(Self::Generic),
            "whatsapp" => Ok(Self::WhatsApp),
            other => Err(format!("unknown integration kind `{other}` (shopify, woocommerce, generic, whatsapp)")),
        }
    }
}

/// What `integration create` hands back: the only time the secret and token are shown.
#[derive(Debug, Serialize)]
pub struct CreatedIntegration {
    pub integration_id: IntegrationId,
    pub kind: IntegrationKind,
    pub secret: String,
    pub webhook_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_token: Option<String>,
}

pub struct NewIntegration<'a> {
    pub merchant_id: MerchantId,
    pub kind: IntegrationKind,
    pub secret: Option<&'a str>,
    pub phone_number_id: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateIntegrationError {
    #[error("merchant {0} does not exist")]
    UnknownMerchant(MerchantId),
    #[error("a whatsapp integration needs --phone-number-id (Meta's id of the business phone number)")]
    MissingPhoneNumberId,
    #[error("--phone-number-id applies to whatsapp integrations only")]
    UnexpectedPhoneNumberId,
    /// Says only that the id is taken: never whose it is.
    #[error("this phone_number_id is already in use")]
    DuplicatePhoneNumberId,
    #[error("the secret must be 16 to 256 printable characters")]
    WeakSecret,
    #[error("the verify token must be 16 to 256 printable characters")]
    WeakVerifyToken,
    #[error("a verify token applies to whatsapp integrations only")]
    UnexpectedVerifyToken,
    /// Says only that the token is taken: never whose it is.
    #[error("this verify_token is already in use; choose another")]
    DuplicateVerifyToken,
    #[error("the shop domain must be the store's myshopify.com domain, e.g. snowdevil.myshopify.com")]
    InvalidShopDomain,
    #[error("a shop domain applies to shopify integrations only")]
    UnexpectedShopDomain,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn secret_context(id: IntegrationId) -> Vec<u8> {
    format!("integrations.secret:{id}").into_bytes()
}

pub fn webhook_path(kind: IntegrationKind, id: IntegrationId) -> String {
    match kind {
        IntegrationKind::WhatsApp => "/webhooks/whatsapp".to_owned(),
        commerce => format!("/webhooks/commerce/{commerce}/{id}"),
    }
}

pub async fn create(
    pool: &PgPool,
    keyring: &Keyring,
    new: NewIntegration<'_>,
) -> Result<CreatedIntegration, CreateIntegrationError> {
    create_given(pool, keyring, new, &Given::default()).await
}

/// What an operator or a merchant may give when creating an integration besides
/// [`NewIntegration`]: Meta's verify token, and the Shopify shop the integration serves.
#[derive(Debug, Default)]
pub struct Given<'a> {
    /// WhatsApp only: the verify token entered in Meta's dashboard; generated when `None`.
    pub verify_token: Option<&'a str>,
    /// Shopify only: the store's myshopify.com domain; learnt from the first verified delivery
    /// when `None`.
    pub shop_domain: Option<&'a str>,
}

/// [`create`] with a verify token or a shop domain given.
pub async fn create_given(
    pool: &PgPool,
    keyring: &Keyring,
    new: NewIntegration<'_>,
    given: &Given<'_>,
) -> Result<CreatedIntegration, CreateIntegrationError> {
    let shop_domain = given_shop_domain(new.kind, given.shop_domain)?;
    let mut tx = db::tenant_tx(pool, new.merchant_id).await?;
    let created = insert(&mut tx, keyring, &new, given.verify_token).await?;
    if let Some(domain) = &shop_domain {
        bind_shop_domain(&mut tx, created.integration_id, domain).await?;
    }
    tx.commit().await?;
    Ok(created)
}

/// A given shop domain, checked: a Shopify integration's myshopify.com domain, lower-cased.
pub fn given_shop_domain(kind: IntegrationKind, given: Option<&str>) -> Result<Option<String>, CreateIntegrationError> {
    let Some(given) = given else {
        return Ok(None);
    };
    if kind != IntegrationKind::Shopify {
        return Err(CreateIntegrationError::UnexpectedShopDomain);
    }
    recete_events::shopify::shop_domain(given).map(Some).ok_or(CreateIntegrationError::InvalidShopDomain)
}

/// Records `domain` as Shopify integration `id`'s shop unless it already has one, inside the
/// caller's transaction; returns the shop the integration serves from now on (`None` when the
/// transaction cannot see it). A shop, once recorded, never changes: privacy webhooks from any
/// other shop are refused.
pub async fn bind_shop_domain(tx: &mut Tx, id: IntegrationId, domain: &str) -> Result<Option<String>, sqlx::Error> {
    // The subquery reads the row as it was before the update: the stored shop, if any.
    sqlx::query_scalar(
        "WITH bound AS (
             UPDATE integrations SET shop_domain = $2, updated_at = now()
             WHERE id = $1 AND kind = 'shopify' AND shop_domain IS NULL
             RETURNING shop_domain
         )
         SELECT coalesce((SELECT shop_domain FROM bound), (SELECT shop_domain FROM integrations WHERE id = $1))",
    )
    .bind(id)
    .bind(domain)
    .fetch_optional(&mut **tx)
    .await
    .map(Option::flatten)
}

/// [`bind_shop_domain`] in a transaction of its own, for the first verified delivery of an
/// integration created without its shop.
pub async fn learn_shop_domain(
    pool: &PgPool,
    merchant: MerchantId,
    id: IntegrationId,
    domain: &str,
) -> Result<Option<String>, sqlx::Error> {
    let mut tx = db::tenant_tx(pool, merchant).await?;
    let bound = bind_shop_domain(&mut tx, id, domain).await?;
    tx.commit().await?;
    Ok(bound)
}

/// Creates an integration inside the caller's transaction (scoped to `new.merchant_id`), so the
/// caller can record it in the same unit of work. A WhatsApp integration takes the verify token
/// configured in Meta's dashboard, or gets a new one when `verify_token` is `None`.
pub async fn insert(
    tx: &mut Tx,
    keyring: &Keyring,
    new: &NewIntegration<'_>,
    verify_token: Option<&str>,
) -> Result<CreatedIntegration, CreateIntegrationError> {
    let is_whatsapp = new.kind == IntegrationKind::WhatsApp;
    let phone_number_id = new.phone_number_id.map(str::trim).filter(|p| !p.is_empty());
    match (is_whatsapp, phone_number_id) {
        (true, None) => return Err(CreateIntegrationError::MissingPhoneNumberId),
        (false, Some(_)) => return Err(CreateIntegrationError::UnexpectedPhoneNumberId),
        _ => {}
    }
    if !is_whatsapp && verify_token.is_some() {
        return Err(CreateIntegrationError::UnexpectedVerifyToken);
    }
    let secret = match new.secret {
        Some(given) => checked_secret(given).ok_or(CreateIntegrationError::WeakSecret)?,
        None => random_token(48),
    };
    let verify_token = match verify_token {
        Some(given) => Some(checked_secret(given).ok_or(CreateIntegrationError::WeakVerifyToken)?),
        None => is_whatsapp.then(|| random_token(32)),
    };
    let id = IntegrationId::generate();
    let sealed = keyring.seal(secret.as_bytes(), &secret_context(id));

    let merchant_exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM merchants WHERE id = $1)")
        .bind(new.merchant_id)
        .fetch_one(&mut **tx)
        .await?;
    if !merchant_exists {
        return Err(CreateIntegrationError::UnknownMerchant(new.merchant_id));
    }
    let inserted = sqlx::query(
        "INSERT INTO integrations (id, merchant_id, kind, secret_key_id, secret_sealed, phone_number_id, verify_token_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(new.merchant_id)
    .bind(new.kind.as_str())
    .bind(&sealed.key_id)
    .bind(&sealed.bytes)
    .bind(phone_number_id)
    .bind(verify_token.as_deref().map(|token| sha256(token.as_bytes()).to_vec()))
    .execute(&mut **tx)
    .await;
    match inserted {
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("integrations_phone_number_id_key") => {
            return Err(CreateIntegrationError::DuplicatePhoneNumberId);
        }
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("integrations_verify_token_hash_key") => {
            return Err(CreateIntegrationError::DuplicateVerifyToken);
        }
        other => other?,
    };
    Ok(CreatedIntegration {
        integration_id: id,
        kind: new.kind,
        secret,
        webhook_path: webhook_path(new.kind, id),
        verify_token,
    })
}

/// A secret or token given by a person or a platform: 16 to 256 printable ASCII characters, so
/// a typo of a few characters or a pasted line break is refused rather than stored.
fn checked_secret(given: &str) -> Option<String> {
    ((16..=256).contains(&given.len()) && given.chars().all(|c| c.is_ascii_graphic())).then(|| given.to_owned())
}

/// An active integration with its secret opened, ready to verify signatures.
#[derive(Debug)]
pub struct ActiveIntegration {
    pub id: IntegrationId,
    pub merchant_id: MerchantId,
    pub kind: IntegrationKind,
    pub secret: SecretSlice<u8>,
    /// The secret replaced by the last rotation, while its overlap runs.
    pub previous_secret: Option<PreviousSecret>,
    /// Shopify only: the shop (myshopify.com domain) it serves, once known.
    pub shop_domain: Option<String>,
}

/// A rotated-out secret and the moment it stops verifying.
#[derive(Debug)]
pub struct PreviousSecret {
    pub secret: SecretSlice<u8>,
    pub valid_until: DateTime<Utc>,
}

impl ActiveIntegration {
    pub fn secret_bytes(&self) -> &[u8] {
        self.secret.expose_secret()
    }

    /// Whether `check` accepts the current secret, or the previous one while its overlap runs.
    /// The overlap's end is checked here, at each delivery, so it ends on time even for an
    /// integration held in the directory's cache.
    pub fn signed_with_any(&self, now: DateTime<Utc>, check: impl Fn(&[u8]) -> bool) -> bool {
        check(self.secret_bytes())
            || self
                .previous_secret
                .as_ref()
                .is_some_and(|previous| now < previous.valid_until && check(previous.secret.expose_secret()))
    }
}

#[derive(FromRow)]
struct IntegrationRow {
    id: IntegrationId,
    merchant_id: MerchantId,
    kind: String,
    secret_key_id: String,
    secret_sealed: Vec<u8>,
    previous_secret_key_id: Option<String>,
    previous_secret_sealed: Option<Vec<u8>>,
    previous_secret_expires_at: Option<DateTime<Utc>>,
    shop_domain: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("integration {0} has a secret that cannot be opened: {1}")]
    Secret(IntegrationId, recete_platform::crypto::KeyringError),
}

/// How an integration is looked up before any merchant is known.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IntegrationLookup {
    Id(IntegrationId),
    PhoneNumberId(String),
    VerifyToken([u8; 32]),
}

impl IntegrationLookup {
    pub fn verify_token(token: &str) -> Self {
        Self::VerifyToken(sha256(token.as_bytes()))
    }
}

/// Finds active integrations by id, phone number id or verify token, caching hits for a short
/// time: a store's burst of webhooks costs one lookup.
///
/// Misses are cached too, for [`UNKNOWN_TTL`] and at most [`UNKNOWN_CAPACITY`] of them, so a
/// flood of deliveries naming ids that do not exist (or no longer do) costs the database one
/// lookup per id and per few seconds, whatever its rate. An integration created in this process
/// is found at once ([`IntegrationDirectory::forget_unknown`]); one created elsewhere is found
/// by this process within [`UNKNOWN_TTL`] of a miss.
///
/// How changes reach the cache: the process that rotates or disables an integration forgets it
/// at once ([`IntegrationDirectory::forget`]); every other process notices a disable within the
/// TTL (`ingest.integration_cache_ttl_secs`). A new secret is honoured sooner: a signature that
/// fails against a cached entry looks the integration up again ([`IntegrationDirectory::refresh`]),
/// at most once a second per integration. A previous secret stops verifying exactly at the end
/// of its overlap, cached or not.
pub struct IntegrationDirectory {
    pool: PgPool,
    keyring: Arc<Keyring>,
    ttl: Duration,
    cache: RwLock<HashMap<IntegrationLookup, (Instant, Arc<ActiveIntegration>)>>,
    /// Lookups the database answered with nothing, and when.
    unknown: RwLock<HashMap<IntegrationLookup, Instant>>,
    /// Lookups sent to the database, found or not.
    database_lookups: AtomicU64,
}

/// Bounds the cache of integrations found.
const CACHE_CAPACITY: usize = 10_000;

/// How long a lookup the database answered with nothing is answered from memory.
pub const UNKNOWN_TTL: Duration = Duration::from_secs(10);

/// Bounds the cache of misses: a flood of random ids fills it and empties it again, and never
/// holds more than this many entries.
pub const UNKNOWN_CAPACITY: usize = 10_000;

/// How often a failing signature may send one integration's lookup to the database: forged
/// deliveries cannot turn the cache off.
const REFRESH_FLOOR: Duration = Duration::from_secs(1);

impl IntegrationDirectory {
    pub fn new(pool: PgPool, keyring: Arc<Keyring>, ttl: Duration) -> Self {
        Self {
            pool,
            keyring,
            ttl,
            cache: RwLock::new(HashMap::new()),
            unknown: RwLock::new(HashMap::new()),
            database_lookups: AtomicU64::new(0),
        }
    }

    pub async fn find(&self, lookup: &IntegrationLookup) -> Result<Option<Arc<ActiveIntegration>>, LookupError> {
        if let Some((_, hit)) = self.cached(lookup) {
            return Ok(Some(hit));
        }
        if self.known_unknown(lookup) {
            return Ok(None);
        }
        self.load(lookup).await
    }

    /// How many lookups this directory has sent to the database.
    pub fn database_lookups(&self) -> u64 {
        self.database_lookups.load(Ordering::Relaxed)
    }

    /// Forgets every cached miss, so an integration just created is found at once.
    pub fn forget_unknown(&self) {
        self.unknown.write().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
    }

    fn known_unknown(&self, lookup: &IntegrationLookup) -> bool {
        let unknown = self.unknown.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        unknown.get(lookup).is_some_and(|stored_at| stored_at.elapsed() < UNKNOWN_TTL)
    }

    fn remember_unknown(&self, lookup: &IntegrationLookup) {
        let mut unknown = self.unknown.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if unknown.len() >= UNKNOWN_CAPACITY {
            unknown.retain(|_, stored_at| stored_at.elapsed() < UNKNOWN_TTL);
            if unknown.len() >= UNKNOWN_CAPACITY {
                unknown.clear();
            }
        }
        unknown.insert(lookup.clone(), Instant::now());
    }

    /// The integration as the database has it now, unless the cached entry is younger than
    /// [`REFRESH_FLOOR`]. For a signature that failed: the secret may have been rotated since.
    pub async fn refresh(&self, lookup: &IntegrationLookup) -> Result<Option<Arc<ActiveIntegration>>, LookupError> {
        match self.cached(lookup) {
            Some((stored_at, hit)) if stored_at.elapsed() < REFRESH_FLOOR => Ok(Some(hit)),
            _ => self.load(lookup).await,
        }
    }

    /// Drops every cached entry of integration `id` (by id, phone number or verify token), so
    /// this process sees a rotation or a disable at once.
    pub fn forget(&self, id: IntegrationId) {
        let mut cache = self.cache.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.retain(|_, (_, found)| found.id != id);
    }

    async fn load(&self, lookup: &IntegrationLookup) -> Result<Option<Arc<ActiveIntegration>>, LookupError> {
        self.database_lookups.fetch_add(1, Ordering::Relaxed);
        let Some(row) = self.fetch(lookup).await? else {
            metrics::counter!("recete_integration_lookups_total", "result" => "unknown").increment(1);
            self.cache.write().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(lookup);
            self.remember_unknown(lookup);
            return Ok(None);
        };
        metrics::counter!("recete_integration_lookups_total", "result" => "found").increment(1);
        let Ok(kind) = row.kind.parse::<IntegrationKind>() else {
            self.remember_unknown(lookup);
            return Ok(None);
        };
        let context = secret_context(row.id);
        let secret = self
            .keyring
            .open(&row.secret_key_id, &row.secret_sealed, &context)
            .map_err(|e| LookupError::Secret(row.id, e))?;
        let previous_secret = match (
            row.previous_secret_key_id,
            row.previous_secret_sealed,
            row.previous_secret_expires_at,
        ) {
            (Some(key_id), Some(sealed), Some(valid_until)) => match self.keyring.open(&key_id, &sealed, &context) {
                Ok(previous) => Some(PreviousSecret { secret: SecretSlice::from(previous), valid_until }),
                // The current secret still verifies; losing the old one early is the lesser harm.
                Err(error) => {
                    tracing::warn!(integration_id = %row.id, %error, "previous secret cannot be opened; ignored");
                    None
                }
            },
            _ => None,
        };
        let found = Arc::new(ActiveIntegration {
            id: row.id,
            merchant_id: row.merchant_id,
            kind,
            secret: SecretSlice::from(secret),
            previous_secret,
            shop_domain: row.shop_domain,
        });
        self.remember(lookup.clone(), found.clone());
        Ok(Some(found))
    }

    fn cached(&self, lookup: &IntegrationLookup) -> Option<(Instant, Arc<ActiveIntegration>)> {
        let cache = self.cache.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache
            .get(lookup)
            .filter(|(stored_at, _)| stored_at.elapsed() < self.ttl)
            .map(|(at, found)| (*at, found.clone()))
    }

    fn remember(&self, lookup: IntegrationLookup, found: Arc<ActiveIntegration>) {
        let mut cache = self.cache.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.len() >= CACHE_CAPACITY {
            let ttl = self.ttl;
            cache.retain(|_, (stored_at, _)| stored_at.elapsed() < ttl);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(lookup, (Instant::now(), found));
    }

    async fn fetch(&self, lookup: &IntegrationLookup) -> Result<Option<IntegrationRow>, sqlx::Error> {
        const COLUMNS: &str = "SELECT id, merchant_id, kind, secret_key_id, secret_sealed,
                   CASE WHEN previous_secret_expires_at > now() THEN previous_secret_key_id END AS previous_secret_key_id,
                   CASE WHEN previous_secret_expires_at > now() THEN previous_secret_sealed END AS previous_secret_sealed,
                   CASE WHEN previous_secret_expires_at > now() THEN previous_secret_expires_at END
                       AS previous_secret_expires_at,
                   shop_domain
               FROM integrations WHERE status = 'active' AND ";
        // Routing happens before any merchant is known, hence the system scope.
        let mut tx = db::system_tx(&self.pool).await?;
        let row = match lookup {
            IntegrationLookup::Id(id) => {
                sqlx::query_as(&format!("{COLUMNS} id = $1")).bind(*id).fetch_optional(&mut *tx).await?
            }
            IntegrationLookup::PhoneNumberId(phone_number_id) => {
                sqlx::query_as(&format!("{COLUMNS} kind = 'whatsapp' AND phone_number_id = $1"))
                    .bind(phone_number_id)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            IntegrationLookup::VerifyToken(hash) => {
                sqlx::query_as(&format!("{COLUMNS} kind = 'whatsapp' AND verify_token_hash = $1"))
                    .bind(&hash[..])
                    .fetch_optional(&mut *tx)
                    .await?
            }
        };
        tx.commit().await?;
        Ok(row)
    }
}

/// The longest a previous secret may keep verifying after a rotation.
pub const MAX_ROTATION_OVERLAP: chrono::Duration = chrono::Duration::days(7);

pub struct Rotation<'a> {
    /// The secret the store or Meta gave; `None` to have one generated.
    pub new_secret: Option<&'a str>,
    /// How long the replaced secret keeps verifying; zero ends it at once.
    pub overlap: chrono::Duration,
}

#[derive(Debug)]
pub struct RotatedSecret {
    /// The new secret when it was generated here: the only time it is shown.
    pub generated_secret: Option<String>,
    pub rotated_at: DateTime<Utc>,
    /// When the replaced secret stops verifying; `None` when it already has.
    pub previous_valid_until: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("integration {0} is disabled; a disabled integration's secret is not rotated")]
    Disabled(IntegrationId),
    #[error("the secret must be 16 to 256 printable characters")]
    WeakSecret,
    #[error("the new secret is the current one")]
    SameSecret,
    #[error("the overlap must be between 0 seconds and 7 days")]
    OverlapOutOfRange,
    #[error("integration {0} has a secret that cannot be opened: {1}")]
    Secret(IntegrationId, recete_platform::crypto::KeyringError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Replaces integration `id`'s secret in the caller's transaction; the replaced one keeps
/// verifying for `rotation.overlap`. A previous secret still in its overlap is dropped: only the
/// one just replaced is kept. `None` when the transaction cannot see the integration.
pub async fn rotate_secret(
    tx: &mut Tx,
    keyring: &Keyring,
    id: IntegrationId,
    rotation: Rotation<'_>,
) -> Result<Option<RotatedSecret>, RotateError> {
    if rotation.overlap < chrono::Duration::zero() || rotation.overlap > MAX_ROTATION_OVERLAP {
        return Err(RotateError::OverlapOutOfRange);
    }
    let given = rotation.new_secret.map(|given| checked_secret(given).ok_or(RotateError::WeakSecret)).transpose()?;
    let current: Option<(String, String, Vec<u8>)> =
        sqlx::query_as("SELECT status, secret_key_id, secret_sealed FROM integrations WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    let Some((status, key_id, sealed)) = current else {
        return Ok(None);
    };
    if status != "active" {
        return Err(RotateError::Disabled(id));
    }
    let context = secret_context(id);
    if let Some(given) = &given {
        let current = keyring.open(&key_id, &sealed, &context).map_err(|e| RotateError::Secret(id, e))?;
        if bool::from(subtle::ConstantTimeEq::ct_eq(current.as_slice(), given.as_bytes())) {
            return Err(RotateError::SameSecret);
        }
    }
    let generated_secret = given.is_none().then(|| random_token(48));
    let secret = given.as_deref().or(generated_secret.as_deref()).unwrap_or_default();
    let new_sealed = keyring.seal(secret.as_bytes(), &context);
    let overlap_seconds = rotation.overlap.num_seconds();
    // Every right-hand side reads the row as it was, so the old secret moves to `previous_*`.
    let (rotated_at, previous_valid_until): (DateTime<Utc>, Option<DateTime<Utc>>) = sqlx::query_as(
        "UPDATE integrations SET
             previous_secret_key_id = CASE WHEN $4 > 0 THEN secret_key_id END,
             previous_secret_sealed = CASE WHEN $4 > 0 THEN secret_sealed END,
             previous_secret_expires_at = CASE WHEN $4 > 0 THEN now() + $4::float8 * interval '1 second' END,
             secret_key_id = $2, secret_sealed = $3, secret_rotated_at = now()
         WHERE id = $1
         RETURNING secret_rotated_at, previous_secret_expires_at",
    )
    .bind(id)
    .bind(&new_sealed.key_id)
    .bind(&new_sealed.bytes)
    .bind(overlap_seconds)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Some(RotatedSecret { generated_secret, rotated_at, previous_valid_until }))
}

/// Disables integration `id` in the caller's transaction: its webhooks are refused from now on
/// (from other processes, within the directory's TTL). Its rotated-out secret is dropped. `None`
/// when the transaction cannot see it; `Some(false)` when it was already disabled.
pub async fn disable(tx: &mut Tx, id: IntegrationId) -> Result<Option<bool>, sqlx::Error> {
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM integrations WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    match status.as_deref() {
        None => Ok(None),
        Some("disabled") => Ok(Some(false)),
        Some(_) => {
            sqlx::query(
                "UPDATE integrations SET status = 'disabled', disabled_at = now(),
                     previous_secret_key_id = NULL, previous_secret_sealed = NULL, previous_secret_expires_at = NULL
                 WHERE id = $1",
            )
            .bind(id)
            .execute(&mut **tx)
            .await?;
            Ok(Some(true))
        }
    }
}

/// An integration as the merchant sees it, without its secret.
#[derive(Debug, Clone, FromRow)]
pub struct IntegrationRecord {
    pub id: IntegrationId,
    /// `shopify`, `woocommerce`, `generic` or `whatsapp`.
    pub kind: String,
    /// `active` or `disabled`.
    pub status: String,
    pub phone_number_id: Option<String>,
    pub secret_rotated_at: Option<DateTime<Utc>>,
    /// Until when the secret replaced by the last rotation verifies, while it still does.
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl IntegrationRecord {
    /// Where its deliveries go, after the API's public URL; `None` for a kind this build does
    /// not know.
    pub fn webhook_path(&self) -> Option<String> {
        self.kind.parse::<IntegrationKind>().ok().map(|kind| webhook_path(kind, self.id))
    }
}

const SELECT_INTEGRATION: &str = "
    SELECT id, kind, status, phone_number_id, secret_rotated_at,
           CASE WHEN previous_secret_expires_at > now() THEN previous_secret_expires_at END
               AS previous_secret_valid_until,
           disabled_at, created_at, updated_at
    FROM integrations";

/// The phone number id of the merchant's first active WhatsApp integration, the number its
/// messages go out from.
pub async fn whatsapp_phone_number_id(tx: &mut Tx, merchant: MerchantId) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT phone_number_id FROM integrations WHERE merchant_id = $1 AND kind = 'whatsapp' AND status = 'active'
         ORDER BY created_at LIMIT 1",
    )
    .bind(merchant)
    .fetch_optional(&mut **tx)
    .await
}

/// Integration `id` as seen in `tx`.
pub async fn find(tx: &mut Tx, id: IntegrationId) -> Result<Option<IntegrationRecord>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT_INTEGRATION} WHERE id = $1")).bind(id).fetch_optional(&mut **tx).await
}

/// Which integrations a list shows.
#[derive(Debug, Clone, Default)]
pub struct ListFilter<'a> {
    pub kind: Option<&'a str>,
    /// `active` or `disabled`.
    pub status: Option<&'a str>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Integrations created before this (created_at, id), for the next page.
    pub before: Option<(DateTime<Utc>, IntegrationId)>,
}

/// The merchant's integrations, newest first.
pub async fn list(
    tx: &mut Tx,
    merchant: MerchantId,
    filter: &ListFilter<'_>,
    limit: i64,
) -> Result<Vec<IntegrationRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT_INTEGRATION}
         WHERE merchant_id = $1
           AND ($2::text IS NULL OR kind = $2)
           AND ($3::text IS NULL OR status = $3)
           AND ($4::timestamptz IS NULL OR created_at >= $4)
           AND ($5::timestamptz IS NULL OR created_at < $5)
           AND ($6::timestamptz IS NULL OR (created_at, id) < ($6, $7))
         ORDER BY created_at DESC, id DESC
         LIMIT $8"
    ))
    .bind(merchant)
    .bind(filter.kind)
    .bind(filter.status)
    .bind(filter.from)
    .bind(filter.to)
    .bind(filter.before.map(|(at, _)| at))
    .bind(filter.before.map(|(_, id)| id))
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn integration(previous: Option<(&str, DateTime<Utc>)>) -> ActiveIntegration {
        ActiveIntegration {
            id: IntegrationId::generate(),
            merchant_id: MerchantId::generate(),
            kind: IntegrationKind::Generic,
            secret: SecretSlice::from(b"new-secret".to_vec()),
            previous_secret: previous.map(|(secret, valid_until)| PreviousSecret {
                secret: SecretSlice::from(secret.as_bytes().to_vec()),
                valid_until,
            }),
            shop_domain: None,
        }
    }

    #[test]
    fn the_previous_secret_verifies_only_until_its_overlap_ends() {
        let now = Utc::now();
        let rotated = integration(Some(("old-secret", now + chrono::Duration::seconds(60))));
        let signed_with = |expected: &'static [u8]| move |secret: &[u8]| secret == expected;
        assert!(rotated.signed_with_any(now, signed_with(b"new-secret")));
        assert!(rotated.signed_with_any(now, signed_with(b"old-secret")));
        assert!(!rotated.signed_with_any(now + chrono::Duration::seconds(61), signed_with(b"old-secret")));
        assert!(rotated.signed_with_any(now + chrono::Duration::seconds(61), signed_with(b"new-secret")));
        assert!(!integration(None).signed_with_any(now, signed_with(b"old-secret")));
    }

    #[test]
    fn given_secrets_must_be_long_and_printable() {
        assert!(checked_secret("shpss_0123456789abcdef").is_some());
        assert!(checked_secret("short").is_none());
        assert!(checked_secret("has a space in the middle").is_none());
        assert!(checked_secret(&"x".repeat(257)).is_none());
    }
}

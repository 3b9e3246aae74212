//! Integrations: a merchant's connection to a store or to Meta, each with its signing secret.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretSlice};
use serde::Serialize;
use sqlx::{FromRow, PgPool};

use crate::crypto::{Keyring, random_token, sha256};
use crate::db;
use crate::ids::{IntegrationId, MerchantId};

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
    #[error("phone number id {0} already belongs to an integration")]
    DuplicatePhoneNumberId(String),
    #[error("the secret must be 16 to 256 printable characters")]
    WeakSecret,
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
    let is_whatsapp = new.kind == IntegrationKind::WhatsApp;
    let phone_number_id = new.phone_number_id.map(str::trim).filter(|p| !p.is_empty());
    match (is_whatsapp, phone_number_id) {
        (true, None) => return Err(CreateIntegrationError::MissingPhoneNumberId),
        (false, Some(_)) => return Err(CreateIntegrationError::UnexpectedPhoneNumberId),
        _ => {}
    }
    let secret = match new.secret {
        Some(given) if (16..=256).contains(&given.len()) && given.chars().all(|c| c.is_ascii_graphic()) => {
            given.to_owned()
        }
        Some(_) => return Err(CreateIntegrationError::WeakSecret),
        None => random_token(48),
    };
    let verify_token = is_whatsapp.then(|| random_token(32));
    let id = IntegrationId::generate();
    let sealed = keyring.seal(secret.as_bytes(), &secret_context(id));

    let mut tx = db::tenant_tx(pool, new.merchant_id).await?;
    let merchant_exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM merchants WHERE id = $1)")
        .bind(new.merchant_id)
        .fetch_one(&mut *tx)
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
    .execute(&mut *tx)
    .await;
    match inserted {
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("integrations_phone_number_id_key") => {
            return Err(CreateIntegrationError::DuplicatePhoneNumberId(phone_number_id.unwrap_or_default().to_owned()));
        }
        other => other?,
    };
    tx.commit().await?;
    Ok(CreatedIntegration {
        integration_id: id,
        kind: new.kind,
        secret,
        webhook_path: webhook_path(new.kind, id),
        verify_token,
    })
}

/// An active integration with its secret opened, ready to verify signatures.
#[derive(Debug)]
pub struct ActiveIntegration {
    pub id: IntegrationId,
    pub merchant_id: MerchantId,
    pub kind: IntegrationKind,
    pub secret: SecretSlice<u8>,
}

impl ActiveIntegration {
    pub fn secret_bytes(&self) -> &[u8] {
        self.secret.expose_secret()
    }
}

#[derive(FromRow)]
struct IntegrationRow {
    id: IntegrationId,
    merchant_id: MerchantId,
    kind: String,
    secret_key_id: String,
    secret_sealed: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("integration {0} has a secret that cannot be opened: {1}")]
    Secret(IntegrationId, crate::crypto::KeyringError),
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
/// time: a store's burst of webhooks costs one lookup, and a disabled integration or a rotated
/// secret takes effect within the TTL.
pub struct IntegrationDirectory {
    pool: PgPool,
    keyring: Arc<Keyring>,
    ttl: Duration,
    cache: RwLock<HashMap<IntegrationLookup, (Instant, Arc<ActiveIntegration>)>>,
}

/// Bounds the cache; random unknown ids are never cached, so only real integrations count.
const CACHE_CAPACITY: usize = 10_000;

impl IntegrationDirectory {
    pub fn new(pool: PgPool, keyring: Arc<Keyring>, ttl: Duration) -> Self {
        Self { pool, keyring, ttl, cache: RwLock::new(HashMap::new()) }
    }

    pub async fn find(&self, lookup: &IntegrationLookup) -> Result<Option<Arc<ActiveIntegration>>, LookupError> {
        if let Some(hit) = self.cached(lookup) {
            return Ok(Some(hit));
        }
        let Some(row) = self.fetch(lookup).await? else {
            return Ok(None);
        };
        let Ok(kind) = row.kind.parse::<IntegrationKind>() else {
            return Ok(None);
        };
        let secret = self
            .keyring
            .open(&row.secret_key_id, &row.secret_sealed, &secret_context(row.id))
            .map_err(|e| LookupError::Secret(row.id, e))?;
        let found = Arc::new(ActiveIntegration {
            id: row.id,
            merchant_id: row.merchant_id,
            kind,
            secret: SecretSlice::from(secret),
        });
        self.remember(lookup.clone(), found.clone());
        Ok(Some(found))
    }

    fn cached(&self, lookup: &IntegrationLookup) -> Option<Arc<ActiveIntegration>> {
        let cache = self.cache.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.get(lookup).filter(|(stored_at, _)| stored_at.elapsed() < self.ttl).map(|(_, found)| found.clone())
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
        const COLUMNS: &str =
            "SELECT id, merchant_id, kind, secret_key_id, secret_sealed FROM integrations WHERE status = 'active' AND ";
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

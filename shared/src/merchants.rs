//! Merchants: the tenants.

use serde::Serialize;
use sqlx::PgPool;

use crate::api_keys;
use crate::db;
use crate::ids::MerchantId;

#[derive(Debug, Serialize)]
pub struct CreatedMerchant {
    pub merchant_id: MerchantId,
    /// Shown once; only its hash is stored.
    pub api_key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateMerchantError {
    #[error("merchant name must be 1 to 200 characters")]
    InvalidName,
    #[error("`{0}` is not an IANA time zone (for example Europe/Istanbul)")]
    InvalidTimezone(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Creates a merchant and its first API key in one transaction.
pub async fn create(pool: &PgPool, name: &str, timezone: &str) -> Result<CreatedMerchant, CreateMerchantError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(CreateMerchantError::InvalidName);
    }
    let timezone: chrono_tz::Tz =
        timezone.parse().map_err(|_| CreateMerchantError::InvalidTimezone(timezone.to_owned()))?;
    let merchant_id = MerchantId::generate();
    let mut tx = db::tenant_tx(pool, merchant_id).await?;
    sqlx::query("INSERT INTO merchants (id, name, timezone) VALUES ($1, $2, $3)")
        .bind(merchant_id)
        .bind(name)
        .bind(timezone.name())
        .execute(&mut *tx)
        .await?;
    let (_, api_key) = api_keys::insert(&mut tx, merchant_id, "default", None).await?;
    tx.commit().await?;
    Ok(CreatedMerchant { merchant_id, api_key })
}

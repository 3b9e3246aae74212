//! Merchants: the tenants.

use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::api_keys;
use crate::db::{self, Tx};
use crate::followups::plan::{FollowUpStep, FrequencyCap, QuietHours, default_plan};
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

/// Per-merchant behaviour, stored as JSON in `merchants.settings`. Missing keys take their
/// defaults, so new settings never need a data migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MerchantSettings {
    /// Country (ISO 3166-1 alpha-2) for phone numbers written without a `+` prefix.
    pub default_phone_country: Option<String>,
    /// For stores that never report delivery: an order fulfilled this many days ago and still
    /// not delivered is taken as delivered.
    pub assume_delivered_after_days: u32,
    /// The follow-up messages planned after delivery.
    pub follow_up_plan: Vec<FollowUpStep>,
    pub quiet_hours: QuietHours,
    pub frequency_cap: FrequencyCap,
    /// A delivery reported longer ago than this plans nothing (an old order replayed by a store).
    pub stale_delivery_hours: u32,
}

impl Default for MerchantSettings {
    fn default() -> Self {
        Self {
            default_phone_country: None,
            assume_delivered_after_days: 5,
            follow_up_plan: default_plan(),
            quiet_hours: QuietHours::default(),
            frequency_cap: FrequencyCap::default(),
            stale_delivery_hours: 72,
        }
    }
}

/// The merchant's settings as seen in `tx`; defaults where a key is absent or malformed.
pub async fn settings(tx: &mut Tx, merchant: MerchantId) -> Result<MerchantSettings, sqlx::Error> {
    let raw: Option<serde_json::Value> = sqlx::query_scalar("SELECT settings FROM merchants WHERE id = $1")
        .bind(merchant)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(raw
        .and_then(|value| {
            serde_json::from_value(value)
                .inspect_err(|error| tracing::warn!(%merchant, %error, "merchant settings malformed; using defaults"))
                .ok()
        })
        .unwrap_or_default())
}

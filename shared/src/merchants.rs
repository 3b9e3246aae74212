//! Merchants: the tenants.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::api_keys;
use crate::followups::plan::{FollowUpStep, FrequencyCap, QuietHours, default_plan, validate_plan};
use crate::languages::Language;
use crate::phone_country::{self, PhoneCountry};
use recete_platform::db::{self, Tx};
use recete_platform::ids::MerchantId;

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
    /// Country (ISO 3166-1 alpha-2) for phone numbers written without a `+` prefix. Unset, the
    /// country of the merchant's time zone is used: see [`MerchantSettings::phone_country`].
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
    /// Attributed revenue counts an order placed at most this many days (× 24 hours) after a
    /// follow-up reached the customer: see `analytics::attribution`.
    pub attribution_window_days: u32,
    /// The language customers are answered in when their message does not say which it is
    /// (a "STOP", an "ok"): see `crate::languages`.
    pub language: Language,
}

/// Days an order may follow a delivered follow-up and still be attributed to it, unless the
/// merchant sets otherwise.
pub const DEFAULT_ATTRIBUTION_WINDOW_DAYS: u32 = 7;
/// The longest attribution window a merchant may set.
pub const MAX_ATTRIBUTION_WINDOW_DAYS: u32 = 90;

impl Default for MerchantSettings {
    fn default() -> Self {
        Self {
            default_phone_country: None,
            assume_delivered_after_days: 5,
            follow_up_plan: default_plan(),
            quiet_hours: QuietHours::default(),
            frequency_cap: FrequencyCap::default(),
            stale_delivery_hours: 72,
            attribution_window_days: DEFAULT_ATTRIBUTION_WINDOW_DAYS,
            language: Language::English,
        }
    }
}

/// A setting that cannot be saved, with the path of the field at fault
/// (`follow_up_plan[1].offset_hours`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {detail}")]
pub struct InvalidSetting {
    pub field: String,
    pub detail: String,
}

impl MerchantSettings {
    /// The country phone numbers without `+` are read in for a merchant in `timezone`: this
    /// setting, else the time zone's country. Read it through here, never the setting alone.
    pub fn phone_country(&self, timezone: Option<&str>) -> Option<PhoneCountry> {
        phone_country::effective(self.default_phone_country.as_deref(), timezone)
    }

    /// Checks every setting against what the planner, the sender and phone parsing accept, so a
    /// stored setting never has to fall back to its default.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let invalid = |field: &str, detail: String| Err(InvalidSetting { field: field.to_owned(), detail });
        if let Some(country) = &self.default_phone_country
            && !crate::phone_country::is_country_code(country)
        {
            return invalid("default_phone_country", format!("`{country}` is not an ISO 3166-1 alpha-2 country code"));
        }
        validate_plan(&self.follow_up_plan)
            .map_err(|step| InvalidSetting { field: format!("follow_up_plan{}", step.field), detail: step.detail })?;
        if self.frequency_cap.max_messages > 50 {
            return invalid("frequency_cap.max_messages", "must be between 0 (no cap) and 50".into());
        }
        if !(1..=720).contains(&self.frequency_cap.per_hours) {
            return invalid("frequency_cap.per_hours", "must be between 1 and 720 hours".into());
        }
        if !(1..=90).contains(&self.assume_delivered_after_days) {
            return invalid("assume_delivered_after_days", "must be between 1 and 90 days".into());
        }
        if !(1..=720).contains(&self.stale_delivery_hours) {
            return invalid("stale_delivery_hours", "must be between 1 and 720 hours".into());
        }
        if !(1..=MAX_ATTRIBUTION_WINDOW_DAYS).contains(&self.attribution_window_days) {
            return invalid(
                "attribution_window_days",
                format!(
                    "must be between 1 and {MAX_ATTRIBUTION_WINDOW_DAYS} days (an order placed within that many days \
                     after a follow-up was delivered counts as attributed); it is {}",
                    self.attribution_window_days
                ),
            );
        }
        Ok(())
    }
}

/// The IANA name of time zone `name` as the time-zone database spells it, when it knows it.
pub fn canonical_timezone(name: &str) -> Option<&'static str> {
    name.parse::<chrono_tz::Tz>().ok().map(|zone| zone.name())
}

/// Stores `settings` as the merchant's whole settings document, in the caller's transaction.
/// Returns false when the transaction cannot see the merchant.
pub async fn save_settings(
    tx: &mut Tx,
    merchant: MerchantId,
    settings: &MerchantSettings,
) -> Result<bool, sqlx::Error> {
    let document = serde_json::to_value(settings).map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    let updated = sqlx::query("UPDATE merchants SET settings = $2 WHERE id = $1")
        .bind(merchant)
        .bind(document)
        .execute(&mut **tx)
        .await?;
    Ok(updated.rows_affected() == 1)
}

/// What a merchant has set, as the settings pages show it.
#[derive(Debug, Clone)]
pub struct MerchantProfile {
    /// The shop's IANA time zone.
    pub timezone: String,
    pub settings: MerchantSettings,
    pub updated_at: DateTime<Utc>,
}

/// The merchant's time zone, settings and last change as seen in `tx`, the row locked for an
/// update when `lock`; `None` when the transaction cannot see the merchant.
pub async fn profile(tx: &mut Tx, merchant: MerchantId, lock: bool) -> Result<Option<MerchantProfile>, sqlx::Error> {
    let sql = if lock {
        "SELECT timezone, updated_at FROM merchants WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT timezone, updated_at FROM merchants WHERE id = $1"
    };
    let row: Option<(String, DateTime<Utc>)> = sqlx::query_as(sql).bind(merchant).fetch_optional(&mut **tx).await?;
    let Some((timezone, updated_at)) = row else {
        return Ok(None);
    };
    let settings = settings(tx, merchant).await?;
    Ok(Some(MerchantProfile { timezone, settings, updated_at }))
}

/// Sets the merchant's time zone (an IANA name the caller has checked with
/// [`canonical_timezone`]); false when the transaction cannot see the merchant.
pub async fn set_timezone(tx: &mut Tx, merchant: MerchantId, timezone: &str) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query("UPDATE merchants SET timezone = $2 WHERE id = $1")
        .bind(merchant)
        .bind(timezone)
        .execute(&mut **tx)
        .await?;
    Ok(updated.rows_affected() == 1)
}

/// How the store speaks to its customers: its name and the language it answers in when a
/// message does not say which. `None` when the transaction cannot see the merchant.
pub async fn voice(tx: &mut Tx, merchant: MerchantId) -> Result<Option<(String, Language)>, sqlx::Error> {
    let row: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT name, settings->>'language' FROM merchants WHERE id = $1")
            .bind(merchant)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.map(|(name, language)| (name, language.as_deref().and_then(Language::from_code).unwrap_or_default())))
}

/// The merchant's IANA time zone, as seen in `tx`.
pub async fn timezone(tx: &mut Tx, merchant: MerchantId) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT timezone FROM merchants WHERE id = $1").bind(merchant).fetch_optional(&mut **tx).await
}

/// The country the merchant's phone numbers without `+` are read in (the setting, else its time
/// zone's country), as seen in `tx`; `None` when neither gives one.
pub async fn phone_country(tx: &mut Tx, merchant: MerchantId) -> Result<Option<String>, sqlx::Error> {
    let settings = settings(tx, merchant).await?;
    let timezone = timezone(tx, merchant).await?;
    Ok(settings.phone_country(timezone.as_deref()).map(|country| country.code))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_errors_name_the_nested_field() {
        assert_eq!(MerchantSettings::default().validate(), Ok(()));
        let mut settings = MerchantSettings::default();
        settings.follow_up_plan[1].offset_hours = 0;
        assert_eq!(settings.validate().map_err(|e| e.field), Err("follow_up_plan[1].offset_hours".to_owned()));
        let settings = MerchantSettings { default_phone_country: Some("XX".into()), ..MerchantSettings::default() };
        assert_eq!(settings.validate().map_err(|e| e.field), Err("default_phone_country".to_owned()));
        for (days, valid) in [(0, false), (1, true), (7, true), (90, true), (91, false)] {
            let settings = MerchantSettings { attribution_window_days: days, ..MerchantSettings::default() };
            let field = settings.validate().err().map(|e| e.field);
            assert_eq!(field.is_none(), valid, "{days} days");
            assert!(field.is_none_or(|field| field == "attribution_window_days"), "{days} days");
        }
    }
}

//! `GET /api/settings` and `PATCH /api/settings`: the shop's time zone and how follow-ups go
//! out (the plan, quiet hours, the frequency cap), the attribution window of its analytics, and
//! the country phone numbers without a `+` are read in (as set, and in effect: the setting, else
//! the time zone's country). A change is validated as a whole, the way the planner and sender
//! will read it, and recorded in the audit trail with the values before and after.

use axum::Json;
use chrono::{DateTime, NaiveTime, Utc};
use recete_platform::db;
use recete_shared::audit::{self, AuditEntry};
use recete_shared::followups::plan::{
    self, FollowUpStep, FrequencyCap, QuietHours, TemplateCategory, TemplateParameter, TemplateSpec,
};
use recete_shared::languages::Language;
use recete_shared::merchants::{self, MerchantSettings};
use recete_shared::phone_country::PhoneCountrySource;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::json_body::JsonBody;
use super::patch::Patch;
use crate::auth::Merchant;
use crate::error::ApiError;
use crate::state::AppState;
use crate::tenant_tx::TenantTx;

/// The settings routes, with their part of the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show, update))
}

const TIME_FORMAT: &str = plan::TIME_OF_DAY_FORMAT;

/// Hours in which no proactive message goes out, in each customer's own time zone, as `HH:MM`.
/// `start` equal to `end` means none.
#[derive(Serialize, ToSchema)]
#[schema(as = QuietHoursSetting)]
pub struct QuietHoursView {
    #[schema(example = "21:00")]
    start: String,
    #[schema(example = "09:00")]
    end: String,
}

/// At most `max_messages` proactive messages per customer in any `per_hours` window; 0 messages
/// means no cap.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = FrequencyCapSetting)]
pub struct FrequencyCapView {
    #[schema(minimum = 0, maximum = 50)]
    max_messages: u32,
    #[schema(minimum = 1, maximum = 720)]
    per_hours: u32,
}

/// An approved WhatsApp template and how its body parameters are filled.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = FollowUpTemplate)]
pub struct TemplateView {
    /// The template's name in WhatsApp Manager.
    #[schema(pattern = r"^[a-z0-9_]{1,512}$")]
    name: String,
    /// Its language code (`en`, `tr`, `pt_BR`).
    #[schema(pattern = r"^[a-z]{2,3}(_[A-Z]{2})?$")]
    language: String,
    category: TemplateCategory,
    /// Body parameters in order, each filled from the order.
    #[serde(default)]
    #[schema(max_items = 10)]
    parameters: Vec<TemplateParameter>,
}

/// One follow-up message, `offset_hours` after delivery.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = FollowUpStep)]
pub struct StepView {
    /// A stable name for the step (`t3`), unique in the plan.
    #[schema(pattern = r"^[a-z0-9_-]{1,40}$")]
    key: String,
    /// Hours after delivery, 1 to 8760.
    #[schema(minimum = 1, maximum = 8760)]
    offset_hours: u32,
    template: TemplateView,
    /// Sent as plain text instead of the template while the customer's 24-hour window is open.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 4096, pattern = r"\S")]
    window_text: Option<String>,
}

impl From<FollowUpStep> for StepView {
    fn from(step: FollowUpStep) -> Self {
        Self {
            key: step.key,
            offset_hours: step.offset_hours,
            template: TemplateView {
                name: step.template.name,
                language: step.template.language,
                category: step.template.category,
                parameters: step.template.parameters,
            },
            window_text: step.window_text,
        }
    }
}

impl From<StepView> for FollowUpStep {
    fn from(step: StepView) -> Self {
        Self {
            key: step.key,
            offset_hours: step.offset_hours,
            template: TemplateSpec {
                name: step.template.name,
                language: step.template.language,
                category: step.template.category,
                parameters: step.template.parameters,
            },
            window_text: step.window_text,
        }
    }
}

/// The country in effect for phone numbers without `+`.
#[derive(Serialize, ToSchema)]
#[schema(as = EffectivePhoneCountry)]
pub struct PhoneCountryView {
    /// ISO 3166-1 alpha-2 (`ES`).
    #[schema(example = "ES")]
    country: String,
    source: PhoneCountrySource,
}

#[derive(Serialize, ToSchema)]
#[schema(as = MerchantSettings)]
pub struct SettingsView {
    /// The shop's IANA time zone (`Europe/Istanbul`).
    timezone: String,
    /// ISO 3166-1 alpha-2 country that phone numbers written without `+` belong to, as set;
    /// null leaves it to the time zone.
    default_phone_country: Option<String>,
    /// The country phone numbers written without `+` are read in, and where it comes from: the
    /// setting, else the country of the time zone; null when neither names one (UTC).
    phone_country: Option<PhoneCountryView>,
    quiet_hours: QuietHoursView,
    frequency_cap: FrequencyCapView,
    /// The messages planned after each delivery, in order.
    follow_up_plan: Vec<StepView>,
    /// For stores that never report delivery: a fulfilled order counts as delivered after
    /// this many days.
    assume_delivered_after_days: u32,
    /// A delivery reported longer ago than this plans nothing (an old order replayed).
    stale_delivery_hours: u32,
    /// An order placed within this many days (× 24 hours, end included) after a follow-up was
    /// delivered to its customer counts as attributed revenue (`GET /api/analytics/attribution`).
    #[schema(minimum = 1, maximum = 90, example = 7)]
    attribution_window_days: u32,
    /// The language customers are answered in when their message does not say which (ISO
    /// 639-1: `en`, `tr`, `de`, `es`); a message in one of those is answered in its own.
    #[schema(example = "en")]
    language: String,
    updated_at: DateTime<Utc>,
}

fn view(timezone: String, settings: MerchantSettings, updated_at: DateTime<Utc>) -> SettingsView {
    let phone_country = settings
        .phone_country(Some(&timezone))
        .map(|country| PhoneCountryView { country: country.code, source: country.source });
    SettingsView {
        timezone,
        default_phone_country: settings.default_phone_country,
        phone_country,
        quiet_hours: QuietHoursView {
            start: settings.quiet_hours.start.format(TIME_FORMAT).to_string(),
            end: settings.quiet_hours.end.format(TIME_FORMAT).to_string(),
        },
        frequency_cap: FrequencyCapView {
            max_messages: settings.frequency_cap.max_messages,
            per_hours: settings.frequency_cap.per_hours,
        },
        follow_up_plan: settings.follow_up_plan.into_iter().map(StepView::from).collect(),
        assume_delivered_after_days: settings.assume_delivered_after_days,
        stale_delivery_hours: settings.stale_delivery_hours,
        attribution_window_days: settings.attribution_window_days,
        language: settings.language.code().to_owned(),
        updated_at,
    }
}

/// The merchant's time zone, settings and last change, read in `tx` (locked when `lock`).
async fn current(
    tx: &mut db::Tx,
    merchant: &Merchant,
    lock: bool,
) -> Result<(String, MerchantSettings, DateTime<Utc>), ApiError> {
    let profile = merchants::profile(tx, merchant.merchant_id, lock)
        .await?
        .ok_or_else(|| ApiError::NotFound("the merchant no longer exists".into()))?;
    let (timezone, settings, updated_at) = (profile.timezone, profile.settings, profile.updated_at);
    Ok((timezone, settings, updated_at))
}

/// The merchant's settings, defaults included.
#[utoipa::path(
    get,
    path = "/api/settings",
    tag = "settings",
    responses((status = 200, description = "The settings.", body = SettingsView))
)]
pub async fn show(merchant: Merchant, mut tenant: TenantTx) -> Result<Json<SettingsView>, ApiError> {
    let tx = tenant.begin().await?;
    let (timezone, settings, updated_at) = current(tx, &merchant, false).await?;
    Ok(Json(view(timezone, settings, updated_at)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHoursChanges {
    /// `HH:MM`.
    #[schema(example = "21:00", pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    start: Option<String>,
    /// `HH:MM`.
    #[schema(example = "08:00", pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    end: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FrequencyCapChanges {
    #[schema(minimum = 0, maximum = 50)]
    max_messages: Option<u32>,
    #[schema(minimum = 1, maximum = 720)]
    per_hours: Option<u32>,
}

/// Changes to the settings; every field is optional, and a field left out is unchanged.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsChanges {
    /// An IANA time zone (`Europe/Istanbul`).
    #[serde(default)]
    #[schema(value_type = String, example = "Europe/Istanbul")]
    timezone: Patch<String>,
    /// ISO 3166-1 alpha-2 (`TR`); null clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = r"^\s*[A-Za-z]{2}\s*$")]
    default_phone_country: Patch<String>,
    #[serde(default)]
    #[schema(value_type = QuietHoursChanges)]
    quiet_hours: Patch<QuietHoursChanges>,
    #[serde(default)]
    #[schema(value_type = FrequencyCapChanges)]
    frequency_cap: Patch<FrequencyCapChanges>,
    /// Replaces the whole plan; `[]` plans no follow-ups.
    #[serde(default)]
    #[schema(value_type = Vec<StepView>, max_items = 10)]
    follow_up_plan: Patch<Vec<StepView>>,
    #[serde(default)]
    #[schema(value_type = u32, minimum = 1, maximum = 90)]
    assume_delivered_after_days: Patch<u32>,
    #[serde(default)]
    #[schema(value_type = u32, minimum = 1, maximum = 720)]
    stale_delivery_hours: Patch<u32>,
    /// Days after a delivered follow-up in which an order is attributed to it, 1 to 90.
    #[serde(default)]
    #[schema(value_type = u32, minimum = 1, maximum = 90)]
    attribution_window_days: Patch<u32>,
    /// The language customers are answered in when their message does not say which: `en`,
    /// `tr`, `de` or `es`.
    #[serde(default)]
    #[schema(value_type = String, pattern = r"^\s*(en|tr|de|es|EN|TR|DE|ES)\s*$", example = "tr")]
    language: Patch<String>,
}

/// Changes some settings; the others stay as they are.
#[utoipa::path(
    patch,
    path = "/api/settings",
    tag = "settings",
    request_body = SettingsChanges,
    responses((status = 200, description = "The settings as changed.", body = SettingsView))
)]
pub async fn update(
    merchant: Merchant,
    mut tenant: TenantTx,
    JsonBody(changes): JsonBody<SettingsChanges>,
) -> Result<Json<SettingsView>, ApiError> {
    let tx = tenant.begin().await?;
    let (timezone_before, settings_before, updated_at) = current(tx, &merchant, true).await?;
    let (timezone, settings) = apply(&timezone_before, &settings_before, changes)?;
    let before = serde_json::to_value(view(timezone_before.clone(), settings_before.clone(), updated_at))
        .map_err(|error| ApiError::Internal(error.into()))?;
    let after = serde_json::to_value(view(timezone.clone(), settings.clone(), updated_at))
        .map_err(|error| ApiError::Internal(error.into()))?;
    let (before, after) = differences(before, after);
    if !after.is_empty() {
        if timezone != timezone_before {
            merchants::set_timezone(tx, merchant.merchant_id, &timezone).await?;
        }
        if settings != settings_before {
            merchants::save_settings(tx, merchant.merchant_id, &settings).await?;
        }
        let actor = format!("api-key:{}", merchant.api_key_id);
        audit::record(
            tx,
            AuditEntry {
                merchant_id: Some(merchant.merchant_id),
                actor: &actor,
                action: "merchant.settings_changed",
                subject_type: "merchant",
                subject_id: merchant.merchant_id.to_string(),
                event_id: None,
                before: Some(Value::Object(before)),
                after: Some(Value::Object(after)),
            },
        )
        .await?;
    }
    let (timezone, settings, updated_at) = current(tx, &merchant, false).await?;
    Ok(Json(view(timezone, settings, updated_at)))
}

fn invalid(field: &str, detail: impl Into<String>) -> ApiError {
    ApiError::InvalidField { field: field.into(), detail: detail.into() }
}

/// The time zone and settings after `changes`, validated as a whole.
fn apply(
    timezone: &str,
    settings: &MerchantSettings,
    changes: SettingsChanges,
) -> Result<(String, MerchantSettings), ApiError> {
    let mut timezone = timezone.to_owned();
    let mut settings = settings.clone();
    if let Some(zone) = changes.timezone.non_null("timezone")? {
        let zone = zone.trim();
        timezone = merchants::canonical_timezone(zone)
            .ok_or_else(|| invalid("timezone", "is not an IANA time zone (for example Europe/Istanbul)"))?
            .to_owned();
    }
    settings.default_phone_country = match changes.default_phone_country {
        Patch::Value(country) => Some(country.trim().to_ascii_uppercase()),
        other => other.apply(settings.default_phone_country),
    };
    if let Some(quiet) = changes.quiet_hours.non_null("quiet_hours")? {
        settings.quiet_hours = QuietHours {
            start: quiet
                .start
                .map(|start| time("quiet_hours.start", &start))
                .transpose()?
                .unwrap_or(settings.quiet_hours.start),
            end: quiet.end.map(|end| time("quiet_hours.end", &end)).transpose()?.unwrap_or(settings.quiet_hours.end),
        };
    }
    if let Some(cap) = changes.frequency_cap.non_null("frequency_cap")? {
        settings.frequency_cap = FrequencyCap {
            max_messages: cap.max_messages.unwrap_or(settings.frequency_cap.max_messages),
            per_hours: cap.per_hours.unwrap_or(settings.frequency_cap.per_hours),
        };
    }
    if let Some(plan) = changes.follow_up_plan.non_null("follow_up_plan")? {
        settings.follow_up_plan = plan.into_iter().map(FollowUpStep::from).collect();
    }
    if let Some(days) = changes.assume_delivered_after_days.non_null("assume_delivered_after_days")? {
        settings.assume_delivered_after_days = days;
    }
    if let Some(hours) = changes.stale_delivery_hours.non_null("stale_delivery_hours")? {
        settings.stale_delivery_hours = hours;
    }
    if let Some(days) = changes.attribution_window_days.non_null("attribution_window_days")? {
        settings.attribution_window_days = days;
    }
    if let Some(code) = changes.language.non_null("language")? {
        settings.language = Language::from_code(&code)
            .ok_or_else(|| invalid("language", format!("is not one of {}", language_codes())))?;
    }
    settings.validate().map_err(|error| invalid(&error.field, error.detail))?;
    Ok((timezone, settings))
}

/// `en, tr, de, es, ar`: the languages the fixed phrases exist in.
fn language_codes() -> String {
    Language::ALL.iter().map(|language| language.code()).collect::<Vec<_>>().join(", ")
}

/// `HH:MM`, exactly.
fn time(field: &str, text: &str) -> Result<NaiveTime, ApiError> {
    plan::time_of_day(text).ok_or_else(|| invalid(field, plan::TIME_OF_DAY_RULE))
}

/// The top-level settings that differ, as they were and as they are.
fn differences(before: Value, after: Value) -> (Map<String, Value>, Map<String, Value>) {
    audit::changed_fields(before, after)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn times_are_hours_and_minutes_only() {
        assert_eq!(time("t", "21:00").ok(), NaiveTime::from_hms_opt(21, 0, 0));
        assert!(time("t", "24:00").is_err());
    }

    #[test]
    fn only_changed_settings_are_kept_for_the_audit() {
        let (before, after) = differences(json!({"a": 1, "b": 2}), json!({"a": 1, "b": 3}));
        assert_eq!(Value::Object(before), json!({"b": 2}));
        assert_eq!(Value::Object(after), json!({"b": 3}));
    }
}

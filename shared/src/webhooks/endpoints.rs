//! `webhook_endpoints`: where a merchant wants events, which types, and the secret that signs
//! them. Every function takes a transaction scoped to the merchant (row-level security keeps
//! other merchants' endpoints out of sight).
//!
//! The secret is sealed with the keyring (it must be read back to sign), bound to its merchant
//! and endpoint, and shown to the merchant only when it is made. Rotating keeps the previous
//! secret signing beside the new one until `previous_secret_expires_at`.

use chrono::{DateTime, Duration, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use super::secret::WebhookSecret;
use crate::merchant_events::event_type::EventType;
use recete_platform::crypto::{Keyring, KeyringError};
use recete_platform::db::Tx;
use recete_platform::ids::MerchantId;

/// Endpoints one merchant may have.
pub const MAX_PER_MERCHANT: i64 = 20;

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("an endpoint secret does not open: {0}")]
    Sealed(#[from] KeyringError),
    #[error("a stored endpoint secret is malformed: {0}")]
    Malformed(String),
}

/// An endpoint as the merchant sees it, without its secrets.
#[derive(Debug, Clone, FromRow)]
pub struct EndpointRecord {
    pub id: Uuid,
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EndpointRecord {
    pub fn event_types(&self) -> Vec<EventType> {
        self.event_types.iter().filter_map(|kind| kind.parse().ok()).collect()
    }
}

const COLUMNS: &str = "id, url, description, event_types, disabled_at, disabled_reason, failing_since,
    previous_secret_expires_at, created_at, updated_at";

/// The context an endpoint's secret is sealed with: it opens only in its own row.
pub fn secret_context(merchant: MerchantId, endpoint: Uuid) -> Vec<u8> {
    format!("webhook_endpoints.secret:{merchant}:{endpoint}").into_bytes()
}

fn type_names(types: &[EventType]) -> Vec<&'static str> {
    types.iter().map(EventType::as_str).collect()
}

/// The longest description an endpoint may have.
pub const MAX_DESCRIPTION: usize = 200;

/// An endpoint's description as stored: trimmed, `None` when empty; or what is wrong with it.
pub fn checked_description(description: Option<&str>) -> Result<Option<&str>, String> {
    let Some(text) = description.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_DESCRIPTION || text.contains(char::is_control) {
        return Err(format!("must be at most {MAX_DESCRIPTION} characters, without control characters"));
    }
    Ok(Some(text))
}

pub struct NewEndpoint<'a> {
    pub url: &'a str,
    pub description: Option<&'a str>,
    pub event_types: &'a [EventType],
}

pub async fn count(tx: &mut Tx) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM webhook_endpoints").fetch_one(&mut **tx).await
}

/// Registers an endpoint; returns it with its secret, which is never shown again.
pub async fn create(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    new: &NewEndpoint<'_>,
) -> sqlx::Result<(EndpointRecord, WebhookSecret)> {
    let id = Uuid::now_v7();
    let secret = WebhookSecret::generate();
    let sealed = keyring.seal(secret.expose().as_bytes(), &secret_context(merchant, id));
    let record = sqlx::query_as(&format!(
        "INSERT INTO webhook_endpoints (id, merchant_id, url, description, event_types, secret_key_id, secret_sealed)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(merchant)
    .bind(new.url)
    .bind(new.description)
    .bind(type_names(new.event_types))
    .bind(&sealed.key_id)
    .bind(&sealed.bytes)
    .fetch_one(&mut **tx)
    .await?;
    Ok((record, secret))
}

/// The merchant's endpoints, oldest first.
pub async fn list(tx: &mut Tx) -> sqlx::Result<Vec<EndpointRecord>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM webhook_endpoints ORDER BY created_at, id"))
        .fetch_all(&mut **tx)
        .await
}

pub async fn find(tx: &mut Tx, id: Uuid) -> sqlx::Result<Option<EndpointRecord>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// A change asked by the merchant; `None` fields stay as they are.
#[derive(Debug, Default)]
pub struct EndpointChange<'a> {
    pub url: Option<&'a str>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<&'a str>>,
    pub event_types: Option<&'a [EventType]>,
    /// `Some(true)` enables (clearing a disable and its reason, and the failure streak);
    /// `Some(false)` disables as the merchant's choice.
    pub enabled: Option<bool>,
}

pub async fn update(tx: &mut Tx, id: Uuid, change: &EndpointChange<'_>) -> sqlx::Result<Option<EndpointRecord>> {
    sqlx::query_as(&format!(
        "UPDATE webhook_endpoints SET
             url = coalesce($2, url),
             description = CASE WHEN $3 THEN $4 ELSE description END,
             event_types = coalesce($5, event_types),
             disabled_at = CASE WHEN $6 IS NULL THEN disabled_at
                                WHEN $6 THEN NULL
                                ELSE coalesce(disabled_at, now()) END,
             disabled_reason = CASE WHEN $6 IS NULL THEN disabled_reason
                                    WHEN $6 THEN NULL
                                    WHEN disabled_at IS NULL THEN 'disabled by the merchant'
                                    ELSE disabled_reason END,
             failing_since = CASE WHEN $6 THEN NULL ELSE failing_since END
         WHERE id = $1
         RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(change.url)
    .bind(change.description.is_some())
    .bind(change.description.flatten())
    .bind(change.event_types.map(type_names))
    .bind(change.enabled)
    .fetch_optional(&mut **tx)
    .await
}

/// Removes the endpoint with its deliveries; their tasks find nothing to do and end.
pub async fn delete(tx: &mut Tx, id: Uuid) -> sqlx::Result<bool> {
    let deleted = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1").bind(id).execute(&mut **tx).await?;
    Ok(deleted.rows_affected() == 1)
}

/// Gives the endpoint a new secret; the current one keeps signing beside it for `overlap`.
pub async fn rotate_secret(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    id: Uuid,
    overlap: Duration,
) -> sqlx::Result<Option<(EndpointRecord, WebhookSecret)>> {
    let secret = WebhookSecret::generate();
    let sealed = keyring.seal(secret.expose().as_bytes(), &secret_context(merchant, id));
    let record = sqlx::query_as(&format!(
        "UPDATE webhook_endpoints SET
             previous_secret_key_id = secret_key_id, previous_secret_sealed = secret_sealed,
             previous_secret_expires_at = now() + make_interval(secs => $4),
             secret_key_id = $2, secret_sealed = $3
         WHERE id = $1
         RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(&sealed.key_id)
    .bind(&sealed.bytes)
    .bind(overlap.num_seconds() as f64)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(record.map(|record| (record, secret)))
}

/// What an attempt needs of its endpoint.
#[derive(Debug, Clone)]
pub struct SigningEndpoint {
    pub url: String,
    pub disabled: bool,
    /// The current secret first, then the previous one while it overlaps.
    pub secrets: Vec<WebhookSecret>,
}

#[derive(FromRow)]
struct SecretRow {
    url: String,
    disabled: bool,
    secret_key_id: String,
    secret_sealed: Vec<u8>,
    previous_secret_key_id: Option<String>,
    previous_secret_sealed: Option<Vec<u8>>,
}

pub async fn for_signing(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    id: Uuid,
) -> Result<Option<SigningEndpoint>, EndpointError> {
    let row: Option<SecretRow> = sqlx::query_as(
        "SELECT url, disabled_at IS NOT NULL AS disabled, secret_key_id, secret_sealed,
                CASE WHEN previous_secret_expires_at > now() THEN previous_secret_key_id END AS previous_secret_key_id,
                CASE WHEN previous_secret_expires_at > now() THEN previous_secret_sealed END AS previous_secret_sealed
         FROM webhook_endpoints WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let context = secret_context(merchant, id);
    let open = |key_id: &str, sealed: &[u8]| -> Result<WebhookSecret, EndpointError> {
        let plain = keyring.open(key_id, sealed, &context)?;
        WebhookSecret::parse(&String::from_utf8_lossy(&plain)).map_err(EndpointError::Malformed)
    };
    let mut secrets = vec![open(&row.secret_key_id, &row.secret_sealed)?];
    if let (Some(key_id), Some(sealed)) = (row.previous_secret_key_id.as_deref(), row.previous_secret_sealed.as_deref())
    {
        secrets.push(open(key_id, sealed)?);
    }
    Ok(Some(SigningEndpoint { url: row.url, disabled: row.disabled, secrets }))
}

/// A delivered attempt ends the endpoint's failure streak.
pub async fn note_success(tx: &mut Tx, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A failed attempt starts or continues the endpoint's failure streak; a streak older than
/// `disable_after` disables the endpoint with the reason. Returns true when it did.
pub async fn note_failure(tx: &mut Tx, id: Uuid, disable_after: Duration, last_error: &str) -> sqlx::Result<bool> {
    let disabled: Option<bool> = sqlx::query_scalar(
        "UPDATE webhook_endpoints SET
             failing_since = coalesce(failing_since, now()),
             disabled_at = CASE WHEN disabled_at IS NULL AND coalesce(failing_since, now()) <= now() - make_interval(secs => $2)
                                THEN now() ELSE disabled_at END,
             disabled_reason = CASE WHEN disabled_at IS NULL AND coalesce(failing_since, now()) <= now() - make_interval(secs => $2)
                                    THEN format('every delivery failed since %s; the last: %s',
                                                to_char(coalesce(failing_since, now()) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), $3)
                                    ELSE disabled_reason END
         WHERE id = $1
         RETURNING disabled_at IS NOT NULL AND disabled_at >= now()",
    )
    .bind(id)
    .bind(disable_after.num_seconds() as f64)
    .bind(last_error)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(disabled.unwrap_or(false))
}

/// The enabled endpoints of `merchant` subscribed to `kind`.
pub async fn subscribed(tx: &mut Tx, merchant: MerchantId, kind: EventType) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT id FROM webhook_endpoints WHERE merchant_id = $1 AND disabled_at IS NULL AND $2 = ANY(event_types)
         ORDER BY id",
    )
    .bind(merchant)
    .bind(kind.as_str())
    .fetch_all(&mut **tx)
    .await
}

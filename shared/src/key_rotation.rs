//! `recete keys rotate`: re-seals every sealed value with the active key, in small committed
//! batches, so the old key can be removed from `crypto.keys` afterwards. Safe to interrupt and
//! to run again: each batch takes only rows still sealed with another key.

use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::crypto::{Keyring, KeyringError};
use crate::customers;
use crate::db;
use crate::events::store::payload_context;
use crate::ids::{IntegrationId, MerchantId};

const BATCH: i64 = 200;

#[derive(Debug, Default, Serialize)]
pub struct RotationReport {
    pub active_key_id: String,
    pub integrations: u64,
    pub customers: u64,
    pub external_events: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("{table} row {id}: {source}")]
    Crypto { table: &'static str, id: Uuid, source: KeyringError },
}

fn reseal(keyring: &Keyring, key_id: &str, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, KeyringError> {
    let plaintext = keyring.open(key_id, sealed, context)?;
    Ok(keyring.seal(&plaintext, context).bytes)
}

pub async fn rotate_all(pool: &PgPool, keyring: &Keyring) -> Result<RotationReport, RotationError> {
    let active = keyring.active_key_id().to_owned();
    let mut report = RotationReport { active_key_id: active.clone(), ..RotationReport::default() };
    loop {
        let mut tx = db::system_tx(pool).await?;
        let rows: Vec<(IntegrationId, String, Vec<u8>)> = sqlx::query_as(
            "SELECT id, secret_key_id, secret_sealed FROM integrations WHERE secret_key_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind(&active)
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            break;
        }
        for (id, key_id, sealed) in &rows {
            let context = format!("integrations.secret:{id}").into_bytes();
            let resealed = reseal(keyring, key_id, sealed, &context).map_err(|source| RotationError::Crypto {
                table: "integrations",
                id: id.as_uuid(),
                source,
            })?;
            sqlx::query("UPDATE integrations SET secret_key_id = $2, secret_sealed = $3 WHERE id = $1")
                .bind(id)
                .bind(&active)
                .bind(resealed)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        report.integrations += rows.len() as u64;
    }
    type EventRow = (Uuid, IntegrationId, String, String, Vec<u8>, Vec<u8>);
    type CustomerRow = (Uuid, MerchantId, String, Option<Vec<u8>>, Option<Vec<u8>>, Option<Vec<u8>>);
    loop {
        let mut tx = db::system_tx(pool).await?;
        let rows: Vec<CustomerRow> = sqlx::query_as(
            "SELECT id, merchant_id, pii_key_id, phone_sealed, email_sealed, name_sealed FROM customers
             WHERE pii_key_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind(&active)
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            break;
        }
        for (id, merchant, key_id, phone, email, name) in &rows {
            let mut resealed = Vec::with_capacity(3);
            for (field, value) in [("phone", phone), ("email", email), ("name", name)] {
                let value = value
                    .as_deref()
                    .map(|sealed| reseal(keyring, key_id, sealed, &customers::field_context(*merchant, field)))
                    .transpose()
                    .map_err(|source| RotationError::Crypto { table: "customers", id: *id, source })?;
                resealed.push(value);
            }
            sqlx::query("UPDATE customers SET pii_key_id = $2, phone_sealed = $3, email_sealed = $4, name_sealed = $5 WHERE id = $1")
                .bind(id)
                .bind(&active)
                .bind(&resealed[0])
                .bind(&resealed[1])
                .bind(&resealed[2])
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        report.customers += rows.len() as u64;
    }
    loop {
        let mut tx = db::system_tx(pool).await?;
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT id, integration_id, dedup_key, key_id, payload_sealed, normalized_sealed FROM external_events
             WHERE key_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind(&active)
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            break;
        }
        for (id, integration, dedup_key, key_id, payload, normalized) in &rows {
            let crypto = |source| RotationError::Crypto { table: "external_events", id: *id, source };
            let payload = reseal(keyring, key_id, payload, &payload_context(*integration, dedup_key, "payload"))
                .map_err(crypto)?;
            let normalized =
                reseal(keyring, key_id, normalized, &payload_context(*integration, dedup_key, "normalized"))
                    .map_err(crypto)?;
            sqlx::query(
                "UPDATE external_events SET key_id = $2, payload_sealed = $3, normalized_sealed = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(&active)
            .bind(payload)
            .bind(normalized)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        report.external_events += rows.len() as u64;
    }
    Ok(report)
}

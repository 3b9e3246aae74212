//! `recete keys rotate`: re-seals every sealed value with the active key, in small committed
//! batches, so the old key can be removed from `crypto.keys` afterwards. Safe to interrupt and
//! to run again: each batch takes only rows still sealed with another key.

use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::crypto::{Keyring, KeyringError};
use crate::db;
use crate::events::store::payload_context;
use crate::ids::{ImportId, IntegrationId, MerchantId};
use crate::{customers, imports, message_bodies, privacy};

const BATCH: i64 = 200;

#[derive(Debug, Default, Serialize)]
pub struct RotationReport {
    pub active_key_id: String,
    pub integrations: u64,
    pub customers: u64,
    pub external_events: u64,
    pub messages: u64,
    pub import_chunks: u64,
    pub import_errors: u64,
    pub privacy_requests: u64,
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
    // A secret rotated out of an integration still verifies during its overlap.
    loop {
        let mut tx = db::system_tx(pool).await?;
        let rows: Vec<(IntegrationId, String, Vec<u8>)> = sqlx::query_as(
            "SELECT id, previous_secret_key_id, previous_secret_sealed FROM integrations
             WHERE previous_secret_key_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
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
            sqlx::query(
                "UPDATE integrations SET previous_secret_key_id = $2, previous_secret_sealed = $3 WHERE id = $1",
            )
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
    report.messages =
        rotate_column(pool, keyring, &MESSAGE_BODIES, |row| message_bodies::context(row.merchant_id)).await?;
    report.import_chunks = rotate_column(pool, keyring, &IMPORT_CHUNKS, |row| {
        imports::chunk_context(row.merchant_id, ImportId::from_uuid(row.row_id), row.part as i32)
    })
    .await?;
    report.import_errors = rotate_column(pool, keyring, &IMPORT_ERRORS, |row| {
        imports::error_row_context(row.merchant_id, ImportId::from_uuid(row.row_id))
    })
    .await?;
    report.privacy_requests = rotate_column(pool, keyring, &PRIVACY_DOCUMENTS, |row| {
        privacy::requests::document_context(row.merchant_id, row.row_id)
    })
    .await?;
    Ok(report)
}

/// A table with one sealed column. `select` returns `row_id, part, merchant_id, key_id, sealed`
/// for up to `$2` rows sealed with another key than `$1`; `update` takes `row_id, part, key_id,
/// sealed` as `$1..$4`.
struct SealedColumn {
    table: &'static str,
    select: &'static str,
    update: &'static str,
}

#[derive(sqlx::FromRow)]
struct SealedRow {
    row_id: Uuid,
    part: i64,
    merchant_id: MerchantId,
    key_id: String,
    sealed: Vec<u8>,
}

const MESSAGE_BODIES: SealedColumn = SealedColumn {
    table: "messages",
    select: "SELECT id AS row_id, 0::bigint AS part, merchant_id, pii_key_id AS key_id, body_sealed AS sealed
             FROM messages WHERE body_sealed IS NOT NULL AND pii_key_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
    update: "UPDATE messages SET pii_key_id = $3, body_sealed = $4 WHERE id = $1",
};

const IMPORT_CHUNKS: SealedColumn = SealedColumn {
    table: "import_chunks",
    select: "SELECT import_id AS row_id, seq::bigint AS part, merchant_id, key_id, data_sealed AS sealed
             FROM import_chunks WHERE key_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
    update: "UPDATE import_chunks SET key_id = $3, data_sealed = $4 WHERE import_id = $1 AND seq = $2",
};

const IMPORT_ERRORS: SealedColumn = SealedColumn {
    table: "import_errors",
    select: "SELECT import_id AS row_id, line AS part, merchant_id, pii_key_id AS key_id, row_sealed AS sealed
             FROM import_errors WHERE row_sealed IS NOT NULL AND pii_key_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
    update: "UPDATE import_errors SET pii_key_id = $3, row_sealed = $4 WHERE import_id = $1 AND line = $2",
};

const PRIVACY_DOCUMENTS: SealedColumn = SealedColumn {
    table: "privacy_requests",
    select: "SELECT id AS row_id, 0::bigint AS part, merchant_id, document_key_id AS key_id, document_sealed AS sealed
             FROM privacy_requests
             WHERE document_sealed IS NOT NULL AND document_key_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
    update: "UPDATE privacy_requests SET document_key_id = $3, document_sealed = $4 WHERE id = $1",
};

async fn rotate_column(
    pool: &PgPool,
    keyring: &Keyring,
    column: &SealedColumn,
    context: impl Fn(&SealedRow) -> Vec<u8>,
) -> Result<u64, RotationError> {
    let active = keyring.active_key_id();
    let mut rotated = 0;
    loop {
        let mut tx = db::system_tx(pool).await?;
        let rows: Vec<SealedRow> = sqlx::query_as(column.select).bind(active).bind(BATCH).fetch_all(&mut *tx).await?;
        if rows.is_empty() {
            return Ok(rotated);
        }
        for row in &rows {
            let resealed = reseal(keyring, &row.key_id, &row.sealed, &context(row))
                .map_err(|source| RotationError::Crypto { table: column.table, id: row.row_id, source })?;
            sqlx::query(column.update)
                .bind(row.row_id)
                .bind(row.part)
                .bind(active)
                .bind(resealed)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        rotated += rows.len() as u64;
    }
}

//! Rows of failed CSV imports that named a customer, found through the lookup hashes of every
//! phone and email in them (the same hashes the customer row keeps): opened for an export,
//! deleted by an erasure.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use uuid::Uuid;

use super::PrivacyError;
use recete_platform::crypto::Keyring;
use recete_platform::db::Tx;
use recete_platform::ids::{CustomerId, ImportId, MerchantId};
use recete_shared::customers::{EMAIL_LOOKUP_DOMAIN, PHONE_LOOKUP_DOMAIN, field_context};
use recete_shared::imports::open_error_row;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportErrorRecord {
    pub import_id: Uuid,
    /// The line of the file the row starts on.
    pub line: i64,
    pub column_name: Option<String>,
    /// Why the row was not imported.
    pub message: String,
    /// The row's fields as the file had them.
    pub fields: Vec<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct ErrorRow {
    import_id: Uuid,
    line: i64,
    column_name: Option<String>,
    message: String,
    pii_key_id: Option<String>,
    row_sealed: Option<Vec<u8>>,
    created_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct CustomerLookups {
    merchant_id: MerchantId,
    pii_key_id: Option<String>,
    phone_sealed: Option<Vec<u8>>,
    email_sealed: Option<Vec<u8>>,
    phone_lookup: Option<Vec<u8>>,
    email_lookup: Option<Vec<u8>>,
}

/// The phone and email lookup hashes of `customers`: as their rows hold them, and of their
/// phones and emails under every configured lookup key, so failed rows hashed before a lookup
/// key rotation finished are found too.
pub async fn lookups_of(
    tx: &mut Tx,
    keyring: &Keyring,
    customers: &[CustomerId],
) -> Result<Vec<Vec<u8>>, PrivacyError> {
    let rows: Vec<CustomerLookups> = sqlx::query_as(
        "SELECT merchant_id, pii_key_id, phone_sealed, email_sealed, phone_lookup, email_lookup
         FROM customers WHERE id = ANY($1)",
    )
    .bind(customers)
    .fetch_all(&mut **tx)
    .await?;
    let mut lookups = Vec::new();
    for row in rows {
        lookups.extend(row.phone_lookup.into_iter().chain(row.email_lookup));
        let Some(key_id) = row.pii_key_id.as_deref() else { continue };
        for (field, domain, sealed) in
            [("phone", PHONE_LOOKUP_DOMAIN, &row.phone_sealed), ("email", EMAIL_LOOKUP_DOMAIN, &row.email_sealed)]
        {
            let Some(sealed) = sealed else { continue };
            let plain = keyring.open(key_id, sealed, &field_context(row.merchant_id, field))?;
            lookups.extend(keyring.lookup_hashes(domain, &String::from_utf8_lossy(&plain)));
        }
    }
    lookups.sort();
    lookups.dedup();
    Ok(lookups)
}

/// The failed rows that name any of `lookups`, opened, oldest first.
pub async fn naming(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    lookups: &[Vec<u8>],
) -> Result<Vec<ImportErrorRecord>, PrivacyError> {
    if lookups.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<ErrorRow> = sqlx::query_as(
        "SELECT import_id, line, column_name, message, pii_key_id, row_sealed, created_at FROM import_errors
         WHERE merchant_id = $1 AND subject_lookups && $2::bytea[] ORDER BY created_at, import_id, line",
    )
    .bind(merchant)
    .bind(lookups)
    .fetch_all(&mut **tx)
    .await?;
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        let fields = match (&row.pii_key_id, &row.row_sealed) {
            (Some(key_id), Some(sealed)) => {
                open_error_row(keyring, merchant, ImportId::from_uuid(row.import_id), key_id, sealed)?
            }
            _ => Vec::new(),
        };
        records.push(ImportErrorRecord {
            import_id: row.import_id,
            line: row.line,
            column_name: row.column_name,
            message: row.message,
            fields,
            created_at: row.created_at,
        });
    }
    Ok(records)
}

/// Deletes the failed rows that name any of `lookups`; returns how many.
pub async fn delete_naming(tx: &mut Tx, merchant: MerchantId, lookups: &[Vec<u8>]) -> Result<u64, sqlx::Error> {
    if lookups.is_empty() {
        return Ok(0);
    }
    let deleted = sqlx::query("DELETE FROM import_errors WHERE merchant_id = $1 AND subject_lookups && $2::bytea[]")
        .bind(merchant)
        .bind(lookups)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(deleted)
}

/// Deletes every failed row of the merchant's imports; returns how many.
pub async fn delete_all(tx: &mut Tx, merchant: MerchantId) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM import_errors WHERE merchant_id = $1")
        .bind(merchant)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(deleted)
}

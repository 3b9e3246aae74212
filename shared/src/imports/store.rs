//! Reading imports and their failed rows, and the job's bookkeeping on them. Every function runs
//! in the caller's transaction, scoped to the merchant by row-level security.

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use sqlx::types::Json;

use super::{ImportKind, ImportOptions, ImportStatus, chunk_context};
use crate::merchant_events::{self, ImportCompleted, MerchantEvent};
use recete_platform::crypto::{Keyring, KeyringError};
use recete_platform::db::Tx;
use recete_platform::ids::{ImportId, MerchantId};

/// An `imports` row.
#[derive(Debug, Clone, FromRow)]
pub struct ImportRecord {
    pub id: ImportId,
    pub merchant_id: MerchantId,
    pub kind: String,
    pub status: String,
    pub options: Json<ImportOptions>,
    pub file_name: Option<String>,
    pub byte_size: i64,
    pub sha256: Vec<u8>,
    pub chunk_count: i32,
    pub created_by: String,
    pub headers: Option<Vec<String>>,
    pub ignored_columns: Vec<String>,
    /// The origin the header was recognised as ([`recete_imports::Profile`]'s name).
    pub profile: Option<String>,
    pub total_rows: Option<i64>,
    pub records_done: i64,
    pub bytes_done: i64,
    pub imported: i64,
    pub skipped: i64,
    pub failed: i64,
    pub failure_reason: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ImportRecord {
    /// The origin the header was recognised as, once read.
    pub fn profile(&self) -> Option<recete_imports::Profile> {
        self.profile.as_deref().and_then(recete_imports::Profile::parse)
    }

    /// The kind; the column's check constraint admits only the kinds there are.
    pub fn kind(&self) -> ImportKind {
        self.kind.parse().unwrap_or(ImportKind::Orders)
    }

    /// The status; the column's check constraint admits only the four statuses there are.
    pub fn status(&self) -> ImportStatus {
        ImportStatus::parse(&self.status).unwrap_or(ImportStatus::Failed)
    }

    /// Share of the file read, 0 to 1 (1 once nothing more will happen).
    pub fn progress(&self) -> f64 {
        if self.status().is_final() {
            1.0
        } else {
            (self.bytes_done as f64 / self.byte_size.max(1) as f64).clamp(0.0, 1.0)
        }
    }
}

const COLUMNS: &str = "id, merchant_id, kind, status, options, file_name, byte_size, sha256, chunk_count, created_by,
    headers, ignored_columns, profile, total_rows, records_done, bytes_done, imported, skipped, failed, failure_reason,
    started_at, finished_at, created_at, updated_at";

pub async fn find(tx: &mut Tx, id: ImportId) -> sqlx::Result<Option<ImportRecord>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM imports WHERE id = $1")).bind(id).fetch_optional(&mut **tx).await
}

/// Which imports a list shows, newest first.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<ImportStatus>,
    pub kind: Option<ImportKind>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub to: Option<DateTime<Utc>>,
    /// The sort key of the last import already shown.
    pub before: Option<(DateTime<Utc>, ImportId)>,
}

pub async fn list(tx: &mut Tx, filter: &ListFilter, limit: i64) -> sqlx::Result<Vec<ImportRecord>> {
    let (before_at, before_id) = filter.before.map_or((None, None), |(at, id)| (Some(at), Some(id)));
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM imports
         WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR kind = $2)
           AND ($3::timestamptz IS NULL OR created_at >= $3) AND ($4::timestamptz IS NULL OR created_at < $4)
           AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6))
         ORDER BY created_at DESC, id DESC
         LIMIT $7"
    ))
    .bind(filter.status.map(ImportStatus::as_str))
    .bind(filter.kind.map(ImportKind::as_str))
    .bind(filter.from)
    .bind(filter.to)
    .bind(before_at)
    .bind(before_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// A failed row as stored: what a merchant is shown, and the sealed raw fields.
#[derive(Debug, Clone, FromRow)]
pub struct StoredRowError {
    pub line: i64,
    pub column_name: Option<String>,
    pub value: Option<String>,
    pub message: String,
    pub pii_key_id: Option<String>,
    pub row_sealed: Option<Vec<u8>>,
}

/// Failed rows in line order, after `after_line`.
pub async fn errors(
    tx: &mut Tx,
    import: ImportId,
    after_line: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<StoredRowError>> {
    sqlx::query_as(
        "SELECT line, column_name, value, message, pii_key_id, row_sealed FROM import_errors
         WHERE import_id = $1 AND ($2::bigint IS NULL OR line > $2)
         ORDER BY line LIMIT $3",
    )
    .bind(import)
    .bind(after_line)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// A failed row about to be stored.
pub struct NewRowError<'a> {
    pub line: i64,
    pub column: Option<&'a str>,
    pub value: Option<&'a str>,
    pub message: &'a str,
    /// The raw fields, sealed with [`super::seal_error_row`].
    pub row_sealed: Option<(String, Vec<u8>)>,
    /// Made with [`super::subject_lookups`] under the lookup key `lookup_key_id`.
    pub subject_lookups: Vec<Vec<u8>>,
    pub lookup_key_id: &'a str,
}

/// Stores a failed row; storing the same line again (a repeated batch) changes nothing.
pub async fn insert_error(
    tx: &mut Tx,
    merchant: MerchantId,
    import: ImportId,
    error: &NewRowError<'_>,
) -> sqlx::Result<()> {
    let (key_id, sealed) =
        error.row_sealed.as_ref().map(|(k, s)| (Some(k.as_str()), Some(s.as_slice()))).unwrap_or_default();
    sqlx::query(
        "INSERT INTO import_errors (import_id, merchant_id, line, column_name, value, message, pii_key_id, row_sealed,
             subject_lookups, lookup_key_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT ON CONSTRAINT import_errors_pkey DO NOTHING",
    )
    .bind(import)
    .bind(merchant)
    .bind(error.line)
    .bind(error.column)
    .bind(error.value)
    .bind(error.message)
    .bind(key_id)
    .bind(sealed)
    .bind(&error.subject_lookups)
    .bind(error.lookup_key_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    #[error("piece {seq} of the file is missing")]
    Missing { seq: i32 },
    #[error("piece {seq} of the file does not open: {source}")]
    Sealed { seq: i32, source: KeyringError },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Piece `seq` of an uploaded file, opened.
pub async fn read_chunk(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    import: ImportId,
    seq: i32,
) -> Result<Vec<u8>, ChunkError> {
    let row: Option<(String, Vec<u8>)> =
        sqlx::query_as("SELECT key_id, data_sealed FROM import_chunks WHERE import_id = $1 AND seq = $2")
            .bind(import)
            .bind(seq)
            .fetch_optional(&mut **tx)
            .await?;
    let (key_id, sealed) = row.ok_or(ChunkError::Missing { seq })?;
    keyring
        .open(&key_id, &sealed, &chunk_context(merchant, import, seq))
        .map_err(|source| ChunkError::Sealed { seq, source })
}

/// Marks the import running (again, after a retry); false when it has already ended.
pub async fn start(tx: &mut Tx, import: ImportId) -> sqlx::Result<bool> {
    let started = sqlx::query(
        "UPDATE imports SET status = 'running', started_at = coalesce(started_at, now())
         WHERE id = $1 AND status IN ('queued', 'running')",
    )
    .bind(import)
    .execute(&mut **tx)
    .await?;
    Ok(started.rows_affected() == 1)
}

/// Records the file's header line and the columns it has that are not read.
pub async fn record_columns(
    tx: &mut Tx,
    import: ImportId,
    headers: &[String],
    ignored: &[String],
    profile: recete_imports::Profile,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE imports SET headers = $2, ignored_columns = $3, profile = $4
         WHERE id = $1
           AND (headers IS DISTINCT FROM $2 OR ignored_columns IS DISTINCT FROM $3 OR profile IS DISTINCT FROM $4)",
    )
    .bind(import)
    .bind(headers)
    .bind(ignored)
    .bind(profile.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What one committed batch adds to the import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchTally {
    pub records: i64,
    pub imported: i64,
    pub skipped: i64,
    pub failed: i64,
    /// Bytes of the file read by the end of the batch.
    pub bytes_done: i64,
}

/// Moves the checkpoint from `records_done` past the batch and adds its counts. False when the
/// checkpoint is no longer where the batch started (another run got there first): the caller
/// must roll back.
pub async fn advance(tx: &mut Tx, import: ImportId, records_done: i64, tally: &BatchTally) -> sqlx::Result<bool> {
    let advanced = sqlx::query(
        "UPDATE imports SET records_done = records_done + $3, bytes_done = greatest(bytes_done, $4),
             imported = imported + $5, skipped = skipped + $6, failed = failed + $7
         WHERE id = $1 AND records_done = $2 AND status = 'running'",
    )
    .bind(import)
    .bind(records_done)
    .bind(tally.records)
    .bind(tally.bytes_done)
    .bind(tally.imported)
    .bind(tally.skipped)
    .bind(tally.failed)
    .execute(&mut **tx)
    .await?;
    Ok(advanced.rows_affected() == 1)
}

/// Every row was read: the import is complete and its file is deleted.
pub async fn complete(tx: &mut Tx, import: ImportId, total_rows: i64) -> sqlx::Result<()> {
    let ended: Option<EndedImport> = sqlx::query_as(&format!(
        "UPDATE imports SET status = 'completed', total_rows = $2, finished_at = now(), bytes_done = byte_size
         WHERE id = $1 RETURNING {ENDED_COLUMNS}"
    ))
    .bind(import)
    .bind(total_rows)
    .fetch_optional(&mut **tx)
    .await?;
    announce(tx, import, ended).await?;
    delete_file(tx, import).await
}

/// The file cannot be imported: the import fails with the reason and its file is deleted.
pub async fn fail(tx: &mut Tx, import: ImportId, reason: &str) -> sqlx::Result<()> {
    let ended: Option<EndedImport> = sqlx::query_as(&format!(
        "UPDATE imports SET status = 'failed', failure_reason = $2, finished_at = now()
         WHERE id = $1 AND status IN ('queued', 'running') RETURNING {ENDED_COLUMNS}"
    ))
    .bind(import)
    .bind(reason)
    .fetch_optional(&mut **tx)
    .await?;
    announce(tx, import, ended).await?;
    delete_file(tx, import).await
}

const ENDED_COLUMNS: &str = "merchant_id, kind, status, total_rows, imported, skipped, failed, failure_reason";

#[derive(sqlx::FromRow)]
struct EndedImport {
    merchant_id: MerchantId,
    kind: String,
    status: String,
    total_rows: Option<i64>,
    imported: i64,
    skipped: i64,
    failed: i64,
    failure_reason: Option<String>,
}

/// Tells the merchant's systems the import ended (`import.completed`, completed or failed).
async fn announce(tx: &mut Tx, import: ImportId, ended: Option<EndedImport>) -> sqlx::Result<()> {
    let Some(ended) = ended else {
        return Ok(());
    };
    let event = MerchantEvent::ImportCompleted(ImportCompleted {
        import_id: import.as_uuid(),
        kind: ended.kind,
        status: ended.status,
        total_rows: ended.total_rows,
        imported: ended.imported,
        skipped: ended.skipped,
        failed: ended.failed,
        failure_reason: ended.failure_reason,
    });
    merchant_events::raise(tx, ended.merchant_id, &event).await?;
    Ok(())
}

async fn delete_file(tx: &mut Tx, import: ImportId) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM import_chunks WHERE import_id = $1").bind(import).execute(&mut **tx).await?;
    Ok(())
}

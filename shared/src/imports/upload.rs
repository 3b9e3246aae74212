//! Storing an uploaded file: streamed in, sealed piece by piece, committed whole or not at all.
//!
//! [`Upload`] holds one tenant transaction for the length of the upload and at most one piece
//! of the file in memory. The pieces are written first and the `imports` row last, when the size
//! and digest are known (the foreign key from a piece to its import is checked at commit), with
//! the task that hands the import to a worker in the same commit.

use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::{ImportKind, ImportOptions, chunk_context};
use crate::crypto::Keyring;
use crate::db::{self, Tx};
use crate::ids::{ImportId, MerchantId, TaskId};
use crate::tasks;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What describes an import besides its bytes.
pub struct NewImport<'a> {
    pub kind: ImportKind,
    pub options: &'a ImportOptions,
    pub file_name: Option<&'a str>,
    /// `api-key:<id>` or `cli`.
    pub created_by: &'a str,
}

/// A stored upload, queued for a worker.
#[derive(Debug, Clone)]
pub struct StoredImport {
    pub id: ImportId,
    pub task_id: TaskId,
    pub byte_size: u64,
    pub sha256: [u8; 32],
}

pub struct Upload<'k> {
    tx: Tx,
    keyring: &'k Keyring,
    merchant: MerchantId,
    id: ImportId,
    limit: usize,
    chunk_bytes: usize,
    buffer: Vec<u8>,
    next_seq: i32,
    size: u64,
    digest: Sha256,
}

impl<'k> Upload<'k> {
    /// Starts an upload of at most `limit` bytes, stored in pieces of `chunk_bytes`.
    pub async fn begin(
        pool: &PgPool,
        keyring: &'k Keyring,
        merchant: MerchantId,
        limit: usize,
        chunk_bytes: usize,
    ) -> Result<Self, sqlx::Error> {
        let mut tx = db::tenant_tx(pool, merchant).await?;
        // The piece-to-import key is checked when the import row exists, at commit.
        sqlx::query("SET CONSTRAINTS import_chunks_import_id_fkey DEFERRED").execute(&mut *tx).await?;
        Ok(Self {
            tx,
            keyring,
            merchant,
            id: ImportId::generate(),
            limit,
            chunk_bytes: chunk_bytes.max(1),
            buffer: Vec::with_capacity(chunk_bytes.max(1)),
            next_seq: 0,
            size: 0,
            digest: Sha256::new(),
        })
    }

    pub fn id(&self) -> ImportId {
        self.id
    }

    /// How many bytes have been written so far.
    pub fn byte_size(&self) -> u64 {
        self.size
    }

    /// Appends bytes; a full piece is sealed and written at once.
    pub async fn write(&mut self, mut bytes: &[u8]) -> Result<(), UploadError> {
        if self.size + bytes.len() as u64 > self.limit as u64 {
            return Err(UploadError::TooLarge { limit: self.limit });
        }
        self.size += bytes.len() as u64;
        self.digest.update(bytes);
        while !bytes.is_empty() {
            let room = self.chunk_bytes - self.buffer.len();
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.buffer.extend_from_slice(now);
            bytes = later;
            if self.buffer.len() == self.chunk_bytes {
                self.flush().await?;
            }
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), sqlx::Error> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let seq = self.next_seq;
        let sealed = self.keyring.seal(&self.buffer, &chunk_context(self.merchant, self.id, seq));
        sqlx::query(
            "INSERT INTO import_chunks (import_id, merchant_id, seq, key_id, data_sealed) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(self.id)
        .bind(self.merchant)
        .bind(seq)
        .bind(&sealed.key_id)
        .bind(&sealed.bytes)
        .execute(&mut *self.tx)
        .await?;
        self.buffer.clear();
        self.next_seq += 1;
        Ok(())
    }

    /// Writes the last piece, the import row and its task, and commits them together.
    pub async fn finish(mut self, import: NewImport<'_>) -> Result<StoredImport, UploadError> {
        self.flush().await?;
        let sha256: [u8; 32] = self.digest.finalize().into();
        let options = serde_json::to_value(import.options).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        sqlx::query(
            "INSERT INTO imports (id, merchant_id, kind, options, file_name, byte_size, sha256, chunk_count, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(self.id)
        .bind(self.merchant)
        .bind(import.kind.as_str())
        .bind(options)
        .bind(import.file_name)
        .bind(self.size as i64)
        .bind(&sha256[..])
        .bind(self.next_seq)
        .bind(import.created_by)
        .execute(&mut *self.tx)
        .await?;
        let task_id = tasks::schedule_import(&mut self.tx, self.merchant, self.id).await?;
        self.tx.commit().await?;
        Ok(StoredImport { id: self.id, task_id, byte_size: self.size, sha256 })
    }
}

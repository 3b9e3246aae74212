//! Storing an uploaded file: streamed in, sealed piece by piece, committed whole or not at all.
//!
//! While the file arrives, no database connection is held: a client trickling its body for
//! minutes must not keep a pooled connection (and an open transaction) for that long. Each full
//! piece is sealed at once and appended to an unnamed temporary file (removed by the operating
//! system when the upload ends, however it ends); only sealed bytes ever touch the disk, and at
//! most one piece is held in memory. When the whole file is in, [`Upload::finish`] writes the
//! pieces, the `imports` row and the task that hands the import to a worker in one short
//! transaction whose length depends on the database, not on the client.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::slots::UploadSlots;
use super::{ImportKind, ImportOptions, chunk_context};
use crate::tasks;
use recete_platform::config::ImportSettings;
use recete_platform::crypto::Keyring;
use recete_platform::db;
use recete_platform::ids::{ImportId, MerchantId, TaskId};

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("cannot hold the upload in temporary storage: {0}")]
    Spool(#[from] std::io::Error),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// How large an upload may be, how it is stored, and how many may arrive at once: one per
/// process, shared by every route that takes uploads (the API's and the console's).
#[derive(Debug, Clone)]
pub struct UploadLimits {
    pub max_upload_bytes: usize,
    pub chunk_bytes: usize,
    pub slots: Arc<UploadSlots>,
}

impl UploadLimits {
    pub fn from_settings(settings: &ImportSettings) -> Self {
        Self {
            max_upload_bytes: settings.max_upload_bytes,
            chunk_bytes: settings.chunk_bytes,
            slots: Arc::new(UploadSlots::new(
                settings.max_concurrent_uploads_per_merchant,
                settings.max_concurrent_uploads,
            )),
        }
    }
}

/// What describes an import besides its bytes.
pub struct NewImport<'a> {
    pub kind: ImportKind,
    pub options: &'a ImportOptions,
    pub file_name: Option<&'a str>,
    /// `api-key:<id>`, `user:<email>` (the console) or `cli`.
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

/// A sealed piece waiting in the spool file: its key and its length there.
struct SpooledPiece {
    key_id: String,
    len: usize,
}

pub struct Upload<'k> {
    pool: PgPool,
    keyring: &'k Keyring,
    merchant: MerchantId,
    id: ImportId,
    limit: usize,
    chunk_bytes: usize,
    buffer: Vec<u8>,
    /// Sealed pieces in order; `None` only while a write is under way on a blocking thread.
    spool: Option<File>,
    pieces: Vec<SpooledPiece>,
    size: u64,
    digest: Sha256,
}

impl<'k> Upload<'k> {
    /// Starts an upload of at most `limit` bytes, stored in pieces of `chunk_bytes`. Takes no
    /// connection from `pool` until [`Upload::finish`].
    pub async fn begin(
        pool: &PgPool,
        keyring: &'k Keyring,
        merchant: MerchantId,
        limit: usize,
        chunk_bytes: usize,
    ) -> Result<Self, UploadError> {
        let spool = tokio::task::spawn_blocking(tempfile::tempfile).await.map_err(std::io::Error::other)??;
        Ok(Self {
            pool: pool.clone(),
            keyring,
            merchant,
            id: ImportId::generate(),
            limit,
            chunk_bytes: chunk_bytes.max(1),
            buffer: Vec::with_capacity(chunk_bytes.max(1)),
            spool: Some(spool),
            pieces: Vec::new(),
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

    /// Appends bytes; a full piece is sealed and spooled at once.
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
                self.seal_piece().await?;
            }
        }
        Ok(())
    }

    async fn seal_piece(&mut self) -> Result<(), UploadError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let seq = self.pieces.len() as i32;
        let sealed = self.keyring.seal(&self.buffer, &chunk_context(self.merchant, self.id, seq));
        self.buffer.clear();
        let mut spool = self.spool.take().ok_or_else(spool_lost)?;
        let len = sealed.bytes.len();
        let spool = tokio::task::spawn_blocking(move || spool.write_all(&sealed.bytes).map(|()| spool))
            .await
            .map_err(std::io::Error::other)??;
        self.spool = Some(spool);
        self.pieces.push(SpooledPiece { key_id: sealed.key_id, len });
        Ok(())
    }

    /// Seals the last piece, then writes every piece, the import row and its task in one
    /// transaction.
    pub async fn finish(mut self, import: NewImport<'_>) -> Result<StoredImport, UploadError> {
        self.seal_piece().await?;
        let sha256: [u8; 32] = self.digest.finalize().into();
        let options = serde_json::to_value(import.options).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        let mut spool = self.spool.take().ok_or_else(spool_lost)?;
        spool = tokio::task::spawn_blocking(move || spool.seek(SeekFrom::Start(0)).map(|_| spool))
            .await
            .map_err(std::io::Error::other)??;
        let mut tx = db::tenant_tx(&self.pool, self.merchant).await?;
        // The piece-to-import key is checked when the import row exists, at commit.
        sqlx::query("SET CONSTRAINTS import_chunks_import_id_fkey DEFERRED").execute(&mut *tx).await?;
        for (seq, piece) in self.pieces.iter().enumerate() {
            let len = piece.len;
            let (bytes, back) = tokio::task::spawn_blocking(move || {
                let mut bytes = vec![0; len];
                spool.read_exact(&mut bytes).map(|()| (bytes, spool))
            })
            .await
            .map_err(std::io::Error::other)??;
            spool = back;
            sqlx::query(
                "INSERT INTO import_chunks (import_id, merchant_id, seq, key_id, data_sealed)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(self.id)
            .bind(self.merchant)
            .bind(seq as i32)
            .bind(&piece.key_id)
            .bind(&bytes)
            .execute(&mut *tx)
            .await?;
        }
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
        .bind(self.pieces.len() as i32)
        .bind(import.created_by)
        .execute(&mut *tx)
        .await?;
        let task_id = tasks::schedule_import(&mut tx, self.merchant, self.id).await?;
        tx.commit().await?;
        Ok(StoredImport { id: self.id, task_id, byte_size: self.size, sha256 })
    }
}

fn spool_lost() -> std::io::Error {
    std::io::Error::other("an earlier write to the upload's temporary file failed")
}

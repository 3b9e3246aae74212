//! An import's failed rows as a CSV file: the file's own header and fields, and the reason in a
//! last `error` column, ready to fix and upload again. Written a page of failed rows at a time,
//! each page in a short tenant transaction of its own, so a file of any size streams out without
//! being held whole.

use std::io::Write;
use std::sync::{Arc, Mutex};

use recete_imports::ErrorsCsvWriter;
use sqlx::PgPool;

use super::store::{self, ImportRecord, StoredRowError};
use recete_platform::crypto::Keyring;
use recete_platform::db;
use recete_platform::ids::{ImportId, MerchantId};

/// Failed rows read per query while writing the file.
const PAGE: i64 = 500;

/// The errors file of one import, produced piece by piece with [`ErrorsFile::next_bytes`].
pub struct ErrorsFile {
    pool: PgPool,
    keyring: Arc<Keyring>,
    merchant: MerchantId,
    import: ImportId,
    after: Option<i64>,
    /// `None` once the file is complete.
    writer: Option<ErrorsCsvWriter<SharedBuffer>>,
    buffer: SharedBuffer,
}

impl ErrorsFile {
    /// Starts the file of `record` (found by the caller in the merchant's tenant transaction).
    pub fn new(
        pool: PgPool,
        keyring: Arc<Keyring>,
        merchant: MerchantId,
        record: &ImportRecord,
    ) -> std::io::Result<Self> {
        let buffer = SharedBuffer::default();
        let headers = record.headers.clone().unwrap_or_default();
        let writer = ErrorsCsvWriter::new(buffer.clone(), &headers)?;
        Ok(Self { pool, keyring, merchant, import: record.id, after: None, writer: Some(writer), buffer })
    }

    pub fn import(&self) -> ImportId {
        self.import
    }

    /// The next piece of the file; `None` at its end.
    pub async fn next_bytes(&mut self) -> anyhow::Result<Option<Vec<u8>>> {
        loop {
            let Some(writer) = self.writer.as_mut() else {
                return Ok(None);
            };
            let mut tx = db::tenant_tx(&self.pool, self.merchant).await?;
            let page = store::errors(&mut tx, self.import, self.after, PAGE).await?;
            tx.commit().await?;
            if page.is_empty() {
                if let Some(writer) = self.writer.take() {
                    writer.finish()?;
                }
            } else {
                self.after = page.last().map(|last| last.line);
                for error in &page {
                    let fields = match (&error.pii_key_id, &error.row_sealed) {
                        (Some(key_id), Some(sealed)) => {
                            super::open_error_row(&self.keyring, self.merchant, self.import, key_id, sealed)?
                        }
                        _ => Vec::new(),
                    };
                    writer.write_row(&fields, &reason(error))?;
                }
            }
            let bytes = self.buffer.take();
            if !bytes.is_empty() {
                return Ok(Some(bytes));
            }
        }
    }

    /// Ends the file early (after a failure): nothing more comes out.
    pub fn abandon(&mut self) {
        self.writer = None;
    }

    /// The file's name for a download.
    pub fn file_name(&self) -> String {
        format!("import-{}-errors.csv", self.import)
    }
}

/// Bytes the CSV writer has flushed, taken out page by page.
#[derive(Clone, Default)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    fn take(&self) -> Vec<u8> {
        self.0.lock().map(|mut bytes| std::mem::take(&mut *bytes)).unwrap_or_default()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("buffer poisoned"))?.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The errors file's reason column: where, and what is wrong.
pub fn reason(error: &StoredRowError) -> String {
    match &error.column_name {
        Some(column) => format!("line {}, column {column}: {}", error.line, error.message),
        None => format!("line {}: {}", error.line, error.message),
    }
}

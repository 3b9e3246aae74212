//! `recete import orders|products`: a CSV file imported from the command line, the same way an
//! upload through the API is: stored, then read by the import job, here run in this process with
//! a progress bar on stderr and the import's summary as JSON on stdout.
//!
//! If a worker of the fleet takes the import first, this command follows its progress instead.
//! If this command is interrupted, the import stays queued and a worker resumes it.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use recete_config::Settings;
use recete_platform::crypto::Keyring;
use recete_platform::db;
use recete_platform::ids::{ImportId, MerchantId};
use recete_shared::imports::store::{self, ImportRecord};
use recete_shared::imports::upload::{NewImport, Upload, UploadError};
use recete_shared::imports::{DateOrder, ImportKind, ImportOptions};
use recete_workers::imports::{self, ImportDeps};
use serde_json::json;
use sqlx::PgPool;

use super::admin::connect;

/// Bytes read from the file per write into storage.
const READ_BYTES: usize = 256 * 1024;
/// Failed rows printed in the summary; the rest are in the API's errors file.
const ERRORS_SHOWN: i64 = 20;

pub struct ImportRequest<'a> {
    pub merchant: MerchantId,
    pub kind: ImportKind,
    pub file: &'a Path,
    pub plan_followups: bool,
    pub default_country: Option<String>,
    pub month_first: bool,
}

pub async fn import(settings: &Settings, request: ImportRequest<'_>) -> anyhow::Result<()> {
    let options = ImportOptions {
        plan_followups: request.plan_followups,
        default_country: match request.default_country {
            Some(code) => Some(recete_shared::imports::country_code(&code).with_context(|| {
                format!("--default-country must be an ISO 3166-1 alpha-2 code such as DE, not `{code}`")
            })?),
            None => None,
        },
        date_order: if request.month_first { DateOrder::MonthFirst } else { DateOrder::DayFirst },
    };
    anyhow::ensure!(
        !(request.plan_followups && request.kind != ImportKind::Orders),
        "--plan-followups applies to orders only"
    );
    let pool = connect(settings).await?;
    let keyring = Arc::new(Keyring::from_settings(&settings.crypto)?);
    ensure_merchant(&pool, request.merchant).await?;

    let mut file =
        std::fs::File::open(request.file).with_context(|| format!("cannot open {}", request.file.display()))?;
    let size = file.metadata().map(|meta| meta.len()).unwrap_or(0);
    let bar = ProgressBar::new(size.max(1));
    bar.set_style(
        ProgressStyle::with_template("{msg:>9} [{bar:40}] {bytes}/{total_bytes} ({eta})")
            .context("progress bar template")?
            .progress_chars("=> "),
    );
    bar.set_message("storing");
    let limits = &settings.imports;
    let mut upload =
        Upload::begin(&pool, &keyring, request.merchant, limits.max_upload_bytes, limits.chunk_bytes).await?;
    let mut buffer = vec![0; READ_BYTES];
    loop {
        let read = file.read(&mut buffer).with_context(|| format!("cannot read {}", request.file.display()))?;
        if read == 0 {
            break;
        }
        upload.write(&buffer[..read]).await.map_err(|error| upload_error(error, request.file))?;
        bar.inc(read as u64);
    }
    let file_name = request.file.file_name().map(|name| name.to_string_lossy().into_owned());
    let stored = upload
        .finish(NewImport { kind: request.kind, options: &options, file_name: file_name.as_deref(), created_by: "cli" })
        .await
        .map_err(|error| upload_error(error, request.file))?;

    bar.set_position(0);
    bar.set_message("importing");
    let deps = ImportDeps {
        pool: pool.clone(),
        keyring: keyring.clone(),
        settings: settings.pools.imports.clone(),
        batch_rows: settings.imports.batch_rows,
    };
    let job = imports::handle_task(stored.task_id, &deps);
    tokio::pin!(job);
    let mut ticks = tokio::time::interval(Duration::from_millis(200));
    let mut job_done = false;
    let record = loop {
        tokio::select! {
            outcome = &mut job, if !job_done => {
                job_done = true;
                outcome.with_context(|| format!("import {} stopped; a worker will resume it", stored.id))?;
            }
            _ = ticks.tick() => {}
        }
        let record = load(&pool, request.merchant, stored.id).await?;
        bar.set_position(record.bytes_done.max(0) as u64);
        if record.status().is_final() {
            break record;
        }
    };
    bar.finish_and_clear();
    let errors = first_errors(&pool, request.merchant, stored.id).await?;
    let summary = json!({
        "import_id": record.id,
        "kind": record.kind,
        "profile": record.profile,
        "status": record.status,
        "file_name": record.file_name,
        "byte_size": record.byte_size,
        "total_rows": record.total_rows,
        "imported": record.imported,
        "skipped": record.skipped,
        "failed": record.failed,
        "failure_reason": record.failure_reason,
        "ignored_columns": record.ignored_columns,
        "errors": errors,
    });
    println!("{summary}");
    if let Some(reason) = &record.failure_reason {
        anyhow::bail!("import {} failed: {reason}", record.id);
    }
    Ok(())
}

fn upload_error(error: UploadError, file: &Path) -> anyhow::Error {
    match error {
        UploadError::TooLarge { limit } => {
            anyhow::anyhow!("{} is larger than imports.max_upload_bytes ({limit} bytes)", file.display())
        }
        UploadError::Spool(error) => anyhow::Error::new(error).context("Failed to spool the file"),
        UploadError::Database(error) => anyhow::Error::new(error).context("Failed to store the file"),
    }
}

async fn ensure_merchant(pool: &PgPool, merchant: MerchantId) -> anyhow::Result<()> {
    let mut tx = db::tenant_tx(pool, merchant).await?;
    let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM merchants WHERE id = $1)")
        .bind(merchant)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    anyhow::ensure!(known, "no merchant {merchant}");
    Ok(())
}

async fn load(pool: &PgPool, merchant: MerchantId, import: ImportId) -> anyhow::Result<ImportRecord> {
    let mut tx = db::tenant_tx(pool, merchant).await?;
    let record = store::find(&mut tx, import).await?.with_context(|| format!("import {import} vanished"))?;
    tx.commit().await?;
    Ok(record)
}

async fn first_errors(pool: &PgPool, merchant: MerchantId, import: ImportId) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut tx = db::tenant_tx(pool, merchant).await?;
    let errors = store::errors(&mut tx, import, None, ERRORS_SHOWN).await?;
    tx.commit().await?;
    Ok(errors
        .into_iter()
        .map(|error| json!({ "line": error.line, "column": error.column_name, "value": error.value, "message": error.message }))
        .collect())
}

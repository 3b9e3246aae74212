//! The imports pool: an uploaded CSV file read into the merchant's orders or products.
//!
//! A run holds its `import` task's row lock for its whole length (a second copy of the job finds
//! it locked and does nothing) and commits the file in batches of `imports.batch_rows` records.
//! Each batch commits its effects, its failed rows, the import's counters and its checkpoint
//! together, so a run that dies between batches resumes after the last committed batch, and one
//! that dies inside a batch repeats only that batch, whose upserts change nothing the second
//! time. The rows of one order stay in one batch.
//!
//! A file that cannot be imported at all (no header, a required column missing) fails the
//! import with the reason; a bad row never does. A run that fails for another reason (the
//! database away) is retried with backoff like any task, and an import whose task is
//! dead-lettered fails with the last error.

mod apply;
mod reading;

use std::sync::Arc;

use anyhow::Context;
use apalis::prelude::{BoxDynError, Data};
use recete_imports::{ParseOptions, Profile};
use recete_jobs::TaskJob;
use recete_jobs::claims::{self, DeadTask};
use recete_jobs::execution::{self as jobs, JobContext, JobRow, Outcome};
use recete_platform::config::PoolSettings;
use recete_platform::crypto::Keyring;
use recete_platform::db::{self, Tx};
use recete_platform::ids::{ImportId, MerchantId, TaskId};
use recete_shared::imports::store::{self, ImportRecord};
use recete_shared::imports::{DateOrder, ImportKind};
use recete_shared::merchants;
use recete_shared::tasks::{self, finish};
use sqlx::PgPool;

use self::apply::{BatchContext, BatchError, Mode};
use self::reading::{Item, Parsed, Reading, Record};
use crate::WorkerDeps;

/// A batch also closes past this many bytes of fields, so files of long rows (product
/// descriptions) hold as little in memory as files of short ones.
const BATCH_BYTES: usize = 4 * 1024 * 1024;

#[derive(Clone)]
pub struct ImportDeps {
    pub pool: PgPool,
    pub keyring: Arc<Keyring>,
    pub settings: PoolSettings,
    /// Records per committed batch.
    pub batch_rows: usize,
}

impl ImportDeps {
    pub fn new(deps: &WorkerDeps, settings: PoolSettings) -> Self {
        Self {
            pool: deps.pool.clone(),
            keyring: deps.keyring.clone(),
            settings,
            batch_rows: deps.settings.imports.batch_rows,
        }
    }
}

/// The apalis handler.
pub async fn process(job: TaskJob, deps: Data<ImportDeps>, context: Data<JobContext>) -> Result<(), BoxDynError> {
    let task_id = job.task_id();
    jobs::run(&context, JobRow::Task(task_id), handle_task(task_id, &deps)).await;
    if let Err(error) = fail_if_dead(&deps.pool, task_id).await {
        tracing::error!(%task_id, error = %format!("{error:#}"), "could not check a failed import task");
    }
    Ok(())
}

/// Runs the import behind `task_id` to its end, unless another worker holds it.
pub async fn handle_task(task_id: TaskId, deps: &ImportDeps) -> anyhow::Result<Outcome> {
    let mut claim = db::system_tx(&deps.pool).await.context("Failed to begin the task transaction")?;
    let Some(task) = jobs::claim_task(&mut claim, task_id).await? else {
        return Ok(Outcome::Skipped);
    };
    anyhow::ensure!(task.kind == tasks::IMPORT, "a `{}` task reached the imports queue", task.kind);
    let import = ImportId::from_uuid(jobs::payload_uuid(&task.payload, "import_id")?);
    let reason = match run(deps, &mut claim, task.merchant_id, import).await? {
        RunEnd::Completed { total } => format!("{total} rows read"),
        RunEnd::Failed { reason } => format!("import failed: {reason}"),
        RunEnd::AlreadyOver => "the import had already ended".to_owned(),
    };
    finish(&mut claim, task_id, "done", &reason).await?;
    claim.commit().await.context("Failed to commit the end of the import")?;
    Ok(Outcome::Done)
}

enum RunEnd {
    Completed { total: u64 },
    Failed { reason: String },
    AlreadyOver,
}

/// Reads the file from the checkpoint on; the import's end is written in `claim`, committed with
/// the task's end.
async fn run(deps: &ImportDeps, claim: &mut Tx, merchant: MerchantId, import: ImportId) -> anyhow::Result<RunEnd> {
    let record = {
        let mut tx = db::tenant_tx(&deps.pool, merchant).await?;
        let Some(record) = store::find(&mut tx, import).await? else {
            return Ok(RunEnd::AlreadyOver);
        };
        if !store::start(&mut tx, import).await? {
            return Ok(RunEnd::AlreadyOver);
        }
        let options = parse_options(&mut tx, merchant, &record).await?;
        tx.commit().await.context("Failed to mark the import running")?;
        (record, options)
    };
    let (record, (parse_options, default_country)) = record;
    let kind: ImportKind = record.kind();
    let actor = format!("import:{import}");
    let consent_source = format!("csv:{import}");
    let mut ctx = BatchContext {
        keyring: &deps.keyring,
        merchant,
        import,
        actor: &actor,
        consent_source: &consent_source,
        options: &record.options.0,
        uploaded_at: record.created_at,
        default_country: default_country.as_deref(),
        profile: record.profile().unwrap_or(Profile::Generic),
    };
    let batch_rows = deps.batch_rows.max(1);
    let mut reading = reading::start(reading::Source {
        pool: deps.pool.clone(),
        keyring: deps.keyring.clone(),
        merchant,
        import,
        chunk_count: record.chunk_count,
        kind,
        options: parse_options,
        skip: record.records_done as u64,
        // Enough to keep the parser busy while a batch commits, little enough to stay small.
        queue: (batch_rows / 4).max(16),
    });
    let mut done = record.records_done;
    let mut batch: Vec<Record> = Vec::with_capacity(batch_rows);
    let mut batch_bytes = 0;
    loop {
        let Some(item) = reading.items.recv().await else {
            anyhow::bail!("reading the file stopped unexpectedly");
        };
        match item {
            Item::Opened { headers, ignored, profile } => {
                let mut tx = db::tenant_tx(&deps.pool, merchant).await?;
                store::record_columns(&mut tx, import, &headers, &ignored, profile).await?;
                tx.commit().await?;
                ctx.profile = profile;
            }
            Item::Record(next) => {
                if closes_batch(&batch, batch_bytes, &next, batch_rows) {
                    done += commit(deps, &ctx, &reading, done, &batch).await?;
                    batch.clear();
                    batch_bytes = 0;
                }
                batch_bytes += next.fields.iter().map(String::len).sum::<usize>();
                batch.push(next);
            }
            Item::End { total } => {
                done += commit(deps, &ctx, &reading, done, &batch).await?;
                anyhow::ensure!(done as u64 == total, "read {total} records but committed {done}");
                store::complete(claim, import, total as i64).await?;
                return Ok(RunEnd::Completed { total });
            }
            Item::Interrupted { error, reason, bytes_read } => {
                check_not_aborted(&reading)?;
                batch.push(Record { line: error.line, fields: Vec::new(), parsed: Parsed::Failed(error), bytes_read });
                commit(deps, &ctx, &reading, done, &batch).await?;
                store::fail(claim, import, &reason).await?;
                return Ok(RunEnd::Failed { reason });
            }
            Item::Refused { reason } => {
                check_not_aborted(&reading)?;
                store::fail(claim, import, &reason).await?;
                return Ok(RunEnd::Failed { reason });
            }
        }
    }
}

/// A batch closes once it is full (in rows or bytes), but not between two rows of one order (up
/// to four times its size, so a huge order cannot hold a batch open without end).
fn closes_batch(batch: &[Record], batch_bytes: usize, next: &Record, batch_rows: usize) -> bool {
    if batch.len() < batch_rows && batch_bytes < BATCH_BYTES {
        return false;
    }
    let continues_order =
        next.order_group().is_some() && next.order_group() == batch.last().and_then(Record::order_group);
    !continues_order || batch.len() >= batch_rows * 4 || batch_bytes >= BATCH_BYTES * 4
}

fn check_not_aborted(reading: &Reading) -> anyhow::Result<()> {
    if reading.is_aborted() {
        anyhow::bail!("{}", reading.abort_reason());
    }
    Ok(())
}

/// Commits one batch with the checkpoint moved past it; returns how many records it held.
async fn commit(
    deps: &ImportDeps,
    ctx: &BatchContext<'_>,
    reading: &Reading,
    done: i64,
    batch: &[Record],
) -> anyhow::Result<i64> {
    if batch.is_empty() {
        return Ok(0);
    }
    let mut tx = db::tenant_tx(&deps.pool, ctx.merchant).await?;
    let tally = match apply::apply_batch(&mut tx, ctx, batch, Mode::Straight).await {
        Ok(tally) => tally,
        Err(BatchError::RowFailed { line, reason }) => {
            tracing::info!(import = %ctx.import, line, %reason, "a row failed; applying the batch row by row");
            tx.rollback().await?;
            tx = db::tenant_tx(&deps.pool, ctx.merchant).await?;
            apply::apply_batch(&mut tx, ctx, batch, Mode::Guarded).await?
        }
        Err(BatchError::Database(error)) => return Err(error).context("Failed to apply a batch"),
    };
    // Records read after a failed fetch may be cut short: nothing of them is committed.
    check_not_aborted(reading)?;
    if !store::advance(&mut tx, ctx.import, done, &tally).await? {
        anyhow::bail!("the import's checkpoint moved during the batch; another run is at work");
    }
    tx.commit().await.context("Failed to commit a batch")?;
    metrics::counter!("recete_import_rows_total", "outcome" => "imported").increment(tally.imported as u64);
    metrics::counter!("recete_import_rows_total", "outcome" => "skipped").increment(tally.skipped as u64);
    metrics::counter!("recete_import_rows_total", "outcome" => "failed").increment(tally.failed as u64);
    Ok(tally.records)
}

/// How the file's values are read: the import's own choices, else the merchant's. Also returns
/// the phone country as a code.
async fn parse_options(
    tx: &mut Tx,
    merchant: MerchantId,
    record: &ImportRecord,
) -> anyhow::Result<(ParseOptions, Option<String>)> {
    let options = &record.options.0;
    let settings = merchants::settings(tx, merchant).await?;
    let timezone = merchants::timezone(tx, merchant).await?;
    let country = options
        .default_country
        .clone()
        .or(settings.phone_country(timezone.as_deref()).map(|c| c.code))
        .map(|c| c.trim().to_ascii_uppercase());
    let parse = ParseOptions {
        default_country: country.as_deref().and_then(|code| code.parse().ok()),
        timezone: timezone.and_then(|zone| zone.parse().ok()).unwrap_or(chrono_tz::UTC),
        day_first: options.date_order == DateOrder::DayFirst,
    };
    Ok((parse, country))
}

/// A dead-lettered import task fails its import with the last error, so the merchant sees why.
async fn fail_if_dead(pool: &PgPool, task_id: TaskId) -> anyhow::Result<()> {
    let mut tx = db::system_tx(pool).await?;
    let Some(DeadTask { merchant_id: merchant, payload, last_error }) =
        claims::dead_task(&mut tx, task_id, tasks::IMPORT).await?
    else {
        return Ok(());
    };
    let import = ImportId::from_uuid(jobs::payload_uuid(&payload, "import_id")?);
    db::set_tenant(&mut tx, merchant).await?;
    let reason = format!("gave up after repeated failures: {}", last_error.as_deref().unwrap_or("unknown error"));
    store::fail(&mut tx, import, &reason).await?;
    tx.commit().await?;
    Ok(())
}

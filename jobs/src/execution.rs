//! What every job handler shares, whatever its work: claiming its row, bounding its run in time, handing it back
//! at shutdown, recording each attempt (failures in the row, never in apalis; every attempt in
//! `job_attempts`), and the job metrics. An order-events job may also claim a batch of due
//! events beside its own ([`claim_event_batch`]) and settle them in its transaction
//! ([`settle_event_batch`]): each batched event's attempt is recorded as its own job's would be.

use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::QueueName;
use crate::attempts::{self, Attempt, AttemptOutcome, AttemptRow, ClaimingTransaction, DueRow, FailureOutcome};
use crate::claims::{self, TaskClaim};
use anyhow::Context;
use chrono::{DateTime, Utc};
use recete_platform::config::PoolSettings;
use recete_platform::crypto::Keyring;
use recete_platform::db::{self, Tx};
use recete_platform::ids::{EventId, IntegrationId, MerchantId, TaskId};
use recete_shared::events::store::{open_payload, payload_context};
use recete_shared::events::{EventKind, NormalizedEvent};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::heartbeat::{PoolSlots, Process};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Finished already, claimed by another worker, or not due: nothing to do.
    Skipped,
}

/// The row a job works on.
pub type JobRow = AttemptRow;

tokio::task_local! {
    /// The PostgreSQL transaction that claimed the running job's row (none until claimed).
    /// A job released at shutdown may be stuck in a statement of that transaction, holding the
    /// row: the hand-back ends it so the row is free at once, not when the lock clears.
    static CLAIMING_TRANSACTION: Arc<Mutex<Option<ClaimingTransaction>>>;
    /// The events that transaction claimed beside the job's own row (a batch): their own jobs
    /// found them claimed and did nothing, so a job abandoned before it commits hands them back
    /// with its own row.
    static BATCHED_EVENTS: Arc<Mutex<Vec<EventId>>>;
}

fn note_batched_events(events: &[EventId]) {
    let _ = BATCHED_EVENTS.try_with(|slot| {
        if let Ok(mut slot) = slot.lock() {
            slot.extend_from_slice(events);
        }
    });
}

fn note_claiming_transaction(claiming: ClaimingTransaction) {
    let _ = CLAIMING_TRANSACTION.try_with(|slot| {
        if let Ok(mut slot) = slot.lock() {
            *slot = Some(claiming);
        }
    });
}

/// Each of the two writes after a release (the hand-back, the attempt) gets this long, so both
/// fit in the two seconds left of the grace period.
const RELEASE_BOOKKEEPING: Duration = Duration::from_millis(800);

/// What every job of one pool shares with [`run`]; given to each apalis worker as data.
#[derive(Clone)]
pub struct JobContext {
    pub queue: QueueName,
    pub pool: PgPool,
    pub settings: PoolSettings,
    /// `<pool>@<process id>`, recorded with every attempt.
    pub worker: Arc<str>,
    /// Fires when shutdown begins: a job the worker fetched before but had not started yet is
    /// handed back instead of started.
    pub draining: CancellationToken,
    /// Fires shortly before the shutdown grace ends: running jobs stop and hand their rows back.
    pub release: CancellationToken,
    pub slots: Arc<PoolSlots>,
}

impl JobContext {
    /// The context of the pool that serves `queue` in `process`, with that pool's settings.
    pub fn new(
        queue: QueueName,
        pool: PgPool,
        settings: PoolSettings,
        process: &Process,
        draining: CancellationToken,
        release: CancellationToken,
    ) -> Self {
        Self {
            queue,
            pool,
            settings,
            worker: process.worker_name(queue).into(),
            draining,
            release,
            slots: process.slots(queue),
        }
    }
}

/// How the handler's run ended.
enum Ended {
    Finished(anyhow::Result<Outcome>),
    TimedOut(Duration),
    Released,
}

/// Runs `work` for `row` within the pool's timeout, unless the row is finished already; records
/// the attempt (in the row when it failed, in `job_attempts` whenever it did something) and the
/// job metrics. At release the work is dropped (its transaction rolls back) and the row handed
/// back for the next relay pass.
pub async fn run<Fut>(context: &JobContext, row: JobRow, work: Fut)
where
    Fut: Future<Output = anyhow::Result<Outcome>>,
{
    let queue = context.queue.as_str();
    let due = match attempts::due_row(&context.pool, row).await {
        Ok(Some(due)) => Some(due),
        Ok(None) => {
            count_execution(queue, "skipped");
            return;
        }
        Err(error) => {
            // The handler's own claim decides; only the attempt's timing is unknown.
            tracing::warn!(queue, ?row, %error, "job timing unavailable; running it without an attempt record");
            None
        }
    };
    if context.draining.is_cancelled() {
        // Fetched before shutdown began but not started: no work starts once draining. The row
        // goes back to the relay so the next process hands it over at once; no attempt is made.
        hand_back(context, row, None, &[]).await;
        count_execution(queue, "handed_back");
        return;
    }
    let started_at = Utc::now();
    if let Some(due) = &due {
        record_start_timing(queue, due, started_at);
    }
    let started = Instant::now();
    let claiming_transaction = Arc::new(Mutex::new(None));
    let batched_events = Arc::new(Mutex::new(Vec::new()));
    let ended = {
        let _busy = context.slots.occupy();
        let timeout = Duration::from_secs(context.settings.timeout_secs);
        let work = CLAIMING_TRANSACTION
            .scope(claiming_transaction.clone(), BATCHED_EVENTS.scope(batched_events.clone(), work));
        tokio::select! {
            // A job picked up after release never starts.
            biased;
            () = context.release.cancelled() => Ended::Released,
            result = tokio::time::timeout(timeout, work) => result.map_or(Ended::TimedOut(timeout), Ended::Finished),
        }
    };
    metrics::histogram!("recete_job_run_seconds", "queue" => queue).record(started.elapsed().as_secs_f64());
    let claimed_by = claiming_transaction.lock().ok().and_then(|slot| *slot);
    let batched = batched_events.lock().map(|mut slot| std::mem::take(&mut *slot)).unwrap_or_default();
    let (label, attempt) = settle(context, row, ended, claimed_by, &batched).await;
    count_execution(queue, label);
    let (Some(due), Some((outcome, error))) = (due, attempt) else {
        return;
    };
    let attempt = Attempt {
        row,
        queue,
        number: due.attempt,
        worker: &context.worker,
        due_at: due.due_at,
        started_at,
        finished_at: Utc::now(),
        outcome,
        error: error.as_deref(),
    };
    let bound = if outcome == AttemptOutcome::Released { RELEASE_BOOKKEEPING } else { context_timeout(context) };
    match tokio::time::timeout(bound, attempts::record_attempt(&context.pool, &attempt)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(queue, ?row, %error, "attempt not recorded in the history"),
        Err(_) => tracing::warn!(queue, ?row, "attempt not recorded in the history in time"),
    }
}

/// Bookkeeping after a normal end is bounded like the job itself.
fn context_timeout(context: &JobContext) -> Duration {
    Duration::from_secs(context.settings.timeout_secs.max(1))
}

fn count_execution(queue: &'static str, outcome: &'static str) {
    metrics::counter!("recete_job_executions_total", "queue" => queue, "outcome" => outcome).increment(1);
}

fn record_start_timing(queue: &'static str, due: &DueRow, started_at: chrono::DateTime<Utc>) {
    let seconds_since = |instant: chrono::DateTime<Utc>| (started_at - instant).as_seconds_f64().max(0.0);
    metrics::histogram!("recete_job_wait_seconds", "queue" => queue).record(seconds_since(due.ready_at()));
    if due.was_delayed() {
        metrics::histogram!("recete_job_start_lateness_seconds", "queue" => queue).record(seconds_since(due.due_at));
    }
}

/// The execution label, and the attempt to record with its error (none for a skip). `batched`
/// are the events the job's transaction claimed beside its row: a job that did not finish hands
/// them back.
async fn settle(
    context: &JobContext,
    row: JobRow,
    ended: Ended,
    claimed_by: Option<ClaimingTransaction>,
    batched: &[EventId],
) -> (&'static str, Option<(AttemptOutcome, Option<String>)>) {
    let queue = context.queue.as_str();
    let (message, timed_out) = match ended {
        Ended::Finished(Ok(Outcome::Done)) => return ("succeeded", Some((AttemptOutcome::Succeeded, None))),
        Ended::Finished(Ok(Outcome::Skipped)) => return ("skipped", None),
        Ended::Released => {
            hand_back(context, row, claimed_by, batched).await;
            let error = "released at shutdown before it finished".to_owned();
            return ("released", Some((AttemptOutcome::Released, Some(error))));
        }
        Ended::Finished(Err(error)) => (format!("{error:#}"), false),
        Ended::TimedOut(after) => (format!("timed out after {} s", after.as_secs()), true),
    };
    if !batched.is_empty() {
        hand_back_batched(context, batched).await;
    }
    let outcome = match attempts::record_failure(&context.pool, row, &message, &context.settings).await {
        Ok(FailureOutcome::RetryAt(at)) => {
            tracing::warn!(queue, ?row, error = %message, retry_at = %at, "job failed; will retry");
            if timed_out { AttemptOutcome::TimedOut } else { AttemptOutcome::Failed }
        }
        Ok(FailureOutcome::DeadLettered) => {
            tracing::error!(queue, ?row, error = %message, "job dead-lettered");
            AttemptOutcome::Dead
        }
        Err(record_error) => {
            // The row stays due; the reconciler hands it over again.
            tracing::error!(queue, ?row, error = %message, %record_error, "job failed and the failure could not be recorded");
            if timed_out { AttemptOutcome::TimedOut } else { AttemptOutcome::Failed }
        }
    };
    (outcome.as_str(), Some((outcome, Some(message))))
}

/// Clears the row's hand-over (and that of the events its transaction batched with it) so the
/// next relay pass hands it over again at once.
async fn hand_back(context: &JobContext, row: JobRow, claimed_by: Option<ClaimingTransaction>, batched: &[EventId]) {
    let queue = context.queue.as_str();
    let release = attempts::release(&context.pool, row, claimed_by, batched);
    match tokio::time::timeout(RELEASE_BOOKKEEPING, release).await {
        Ok(Ok(true)) => tracing::info!(queue, ?row, "job released at shutdown; handed over again on the next pass"),
        Ok(Ok(false)) => tracing::info!(queue, ?row, "job released at shutdown; its row was already finished"),
        Ok(Err(error)) => {
            tracing::warn!(queue, ?row, %error, "job released but its row not handed back; the reconciler recovers it")
        }
        Err(_) => {
            tracing::warn!(queue, ?row, "job released but its row not handed back in time; the reconciler recovers it")
        }
    }
}

/// Gives the events a failed or timed-out batch claimed back to the relay (its transaction
/// rolled back): their own jobs found them claimed and did nothing.
async fn hand_back_batched(context: &JobContext, events: &[EventId]) {
    let queue = context.queue.as_str();
    match tokio::time::timeout(RELEASE_BOOKKEEPING, attempts::release_batched(&context.pool, events)).await {
        Ok(Ok(released)) => tracing::info!(queue, released, "batched events of an unfinished job handed back"),
        Ok(Err(error)) => {
            tracing::warn!(queue, %error, "batched events not handed back; the reconciler recovers them")
        }
        Err(_) => tracing::warn!(queue, "batched events not handed back in time; the reconciler recovers them"),
    }
}

/// An event row claimed for this transaction, opened, with the transaction scoped to its merchant.
pub struct ClaimedEvent {
    pub merchant_id: MerchantId,
    pub integration_id: IntegrationId,
    pub event: NormalizedEvent,
}

/// Claims a due event row with `FOR UPDATE SKIP LOCKED`; `None` when it is finished, claimed by
/// another worker or not due. From then on `tx` sees only the event's merchant.
pub async fn claim_event(tx: &mut Tx, event_id: EventId, keyring: &Keyring) -> anyhow::Result<Option<ClaimedEvent>> {
    let row = claims::claim_event(tx, event_id).await.context("Failed to claim the event row")?;
    let Some(row) = row else {
        return Ok(None);
    };
    note_claiming_transaction(row.claimed_by);
    let event = open_event(keyring, row.integration_id, &row.dedup_key, &row.key_id, &row.normalized_sealed)?;
    db::set_tenant(tx, row.merchant_id).await.context("Failed to scope the transaction to the merchant")?;
    Ok(Some(ClaimedEvent { merchant_id: row.merchant_id, integration_id: row.integration_id, event }))
}

fn open_event(
    keyring: &Keyring,
    integration_id: IntegrationId,
    dedup_key: &str,
    key_id: &str,
    sealed: &[u8],
) -> anyhow::Result<NormalizedEvent> {
    let context = payload_context(integration_id, dedup_key, "normalized");
    let normalized = open_payload(keyring, key_id, sealed, &context).context("Failed to open the normalized event")?;
    serde_json::from_slice(&normalized).context("Failed to read the normalized event")
}

pub async fn mark_event_processed(tx: &mut Tx, event_id: EventId) -> anyhow::Result<()> {
    claims::mark_event_processed(tx, event_id).await.context("Failed to mark the event processed")
}

/// How long an event batched beside a job's own may wait on a row lock another transaction
/// holds before it is given back untried: shorter than PostgreSQL's `deadlock_timeout` (1 s), so
/// batches working on the same orders or customers never wait on each other long enough to
/// deadlock. Only the job's own event, applied first while the batch holds nothing else, waits
/// as long as its statements may.
const BATCHED_LOCK_TIMEOUT_MS: u64 = 100;

/// An event claimed beside a job's own for one batch: opened, or why it could not be.
pub struct BatchedEvent {
    pub row: BatchedRow,
    pub merchant_id: MerchantId,
    pub integration_id: IntegrationId,
    pub event: anyhow::Result<NormalizedEvent>,
}

/// What the batch's bookkeeping keeps of a batched event.
#[derive(Debug, Clone, Copy)]
pub struct BatchedRow {
    pub event_id: EventId,
    attempt: i32,
    due_at: DateTime<Utc>,
}

/// How a batched event ended in the batch's transaction.
#[derive(Debug)]
pub enum BatchedOutcome {
    /// Applied: marked processed with the batch.
    Applied,
    /// Failed and rolled back to its savepoint: its failure is recorded as its own job would
    /// record it (attempts, backoff, last error, dead letter).
    Failed(anyhow::Error),
    /// Would have waited on another transaction's row lock: rolled back to its savepoint and given
    /// back to the relay untried.
    Contended,
}

/// The kinds never batched: a store's privacy requests, carried out one at a time by their own
/// jobs.
fn single_kinds() -> [&'static str; 3] {
    [EventKind::PrivacyDataRequest, EventKind::PrivacyCustomerRedact, EventKind::PrivacyShopRedact]
        .map(|kind| kind.as_str())
}

/// Claims up to `limit` more due, handed-over events of the job's queue beside `first` (claimed and
/// applied by this transaction already) and opens them. From then on `tx` acts for every
/// merchant until the caller scopes it to each event's, and any lock wait fails after
/// [`BATCHED_LOCK_TIMEOUT_MS`]. Nothing is claimed once shutdown is draining.
pub async fn claim_event_batch(
    tx: &mut Tx,
    context: &JobContext,
    first: EventId,
    limit: usize,
    keyring: &Keyring,
) -> anyhow::Result<Vec<BatchedEvent>> {
    if limit == 0 || context.draining.is_cancelled() {
        return Ok(Vec::new());
    }
    db::set_system(tx).await.context("Failed to widen the transaction to the batch")?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = claims::claim_event_batch(tx, first, context.queue.feeds_on(), &single_kinds(), limit)
        .await
        .context("Failed to claim a batch of events")?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    note_batched_events(&rows.iter().map(|row| row.id).collect::<Vec<_>>());
    claims::bound_lock_waits(tx, BATCHED_LOCK_TIMEOUT_MS).await.context("Failed to bound the batch's lock waits")?;
    Ok(rows
        .into_iter()
        .map(|row| BatchedEvent {
            row: BatchedRow { event_id: row.id, attempt: row.attempt, due_at: row.due_at },
            merchant_id: row.merchant_id,
            integration_id: row.integration_id,
            event: open_event(keyring, row.integration_id, &row.dedup_key, &row.key_id, &row.normalized_sealed),
        })
        .collect())
}

/// Leaves the batch's rows in their new state, in the batch's transaction: the job's own event
/// (`first`) and every applied one processed in one statement, each failed one's failure
/// recorded as its own job would record it, the contended ones given back to the relay. The
/// returned record is written once the transaction commits.
pub async fn settle_event_batch(
    tx: &mut Tx,
    context: &JobContext,
    first: EventId,
    started_at: DateTime<Utc>,
    batch: Vec<(BatchedRow, BatchedOutcome)>,
) -> anyhow::Result<SettledBatch> {
    db::set_system(tx).await.context("Failed to widen the transaction to the batch")?;
    claims::unbound_lock_waits(tx).await.context("Failed to unbound the batch's lock waits")?;
    let mut processed = vec![first];
    let mut contended = Vec::new();
    let mut settled = Vec::new();
    for (row, outcome) in batch {
        match outcome {
            BatchedOutcome::Applied => {
                processed.push(row.event_id);
                settled.push((row, AttemptOutcome::Succeeded, None));
            }
            BatchedOutcome::Contended => contended.push(row.event_id),
            BatchedOutcome::Failed(error) => {
                let message = format!("{error:#}");
                let failure = attempts::record_failure_in(tx, JobRow::Event(row.event_id), &message, &context.settings)
                    .await
                    .context("Failed to record a batched event's failure")?;
                let outcome = match failure {
                    FailureOutcome::RetryAt(_) => AttemptOutcome::Failed,
                    FailureOutcome::DeadLettered => AttemptOutcome::Dead,
                };
                settled.push((row, outcome, Some(message)));
            }
        }
    }
    claims::mark_events_processed(tx, &processed).await.context("Failed to mark the batch processed")?;
    if !contended.is_empty() {
        claims::hand_back_events(tx, &contended).await.context("Failed to hand back the contended events")?;
    }
    Ok(SettledBatch { started_at, finished_at: Utc::now(), settled, contended: contended.len() })
}

/// A committed batch's events beside the job's own, for the attempt history and the metrics.
#[must_use]
pub struct SettledBatch {
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
    settled: Vec<(BatchedRow, AttemptOutcome, Option<String>)>,
    contended: usize,
}

impl SettledBatch {
    /// Records each batched event's attempt (one statement) and counts it as an execution. A
    /// contended event counts as handed back and records no attempt.
    pub async fn record(self, context: &JobContext) {
        let queue = context.queue.as_str();
        for (row, outcome, error) in &self.settled {
            count_execution(queue, outcome.as_str());
            match outcome {
                AttemptOutcome::Failed => {
                    tracing::warn!(queue, event_id = %row.event_id, error = error.as_deref(), "batched event failed; will retry")
                }
                AttemptOutcome::Dead => {
                    tracing::error!(queue, event_id = %row.event_id, error = error.as_deref(), "batched event dead-lettered")
                }
                _ => {}
            }
        }
        for _ in 0..self.contended {
            count_execution(queue, "handed_back");
        }
        let history: Vec<Attempt<'_>> = self
            .settled
            .iter()
            .map(|(row, outcome, error)| Attempt {
                row: JobRow::Event(row.event_id),
                queue,
                number: row.attempt,
                worker: &context.worker,
                due_at: row.due_at,
                started_at: self.started_at,
                finished_at: self.finished_at,
                outcome: *outcome,
                error: error.as_deref(),
            })
            .collect();
        match tokio::time::timeout(RELEASE_BOOKKEEPING, attempts::record_attempts(&context.pool, &history)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(queue, %error, "batched attempts not recorded in the history"),
            Err(_) => tracing::warn!(queue, "batched attempts not recorded in the history in time"),
        }
    }
}

/// Claims a due task with `FOR UPDATE SKIP LOCKED`; `None` when it is finished, claimed by
/// another worker or not due. From then on `tx` sees only the task's merchant.
pub async fn claim_task(tx: &mut Tx, task_id: TaskId) -> anyhow::Result<Option<TaskClaim>> {
    let Some(task) = claims::claim_task(tx, task_id).await.context("Failed to claim the task")? else {
        return Ok(None);
    };
    note_claiming_transaction(task.claimed_by);
    db::set_tenant(tx, task.merchant_id).await.context("Failed to scope the transaction to the merchant")?;
    Ok(Some(task))
}

/// The merchant and payload of a task of `kind` still waiting to be claimed, read without
/// locking it, with the transaction then scoped to that merchant: what a job reads to run the
/// model before its claim, so no transaction is open while the model runs. `None` when the
/// task has ended or is of another kind.
pub async fn peek_task(
    tx: &mut Tx,
    task_id: TaskId,
    kind: &str,
) -> anyhow::Result<Option<(MerchantId, serde_json::Value)>> {
    let row = claims::peek_task(tx, task_id, kind).await.context("Failed to read the task")?;
    if let Some((merchant_id, _)) = &row {
        db::set_tenant(tx, *merchant_id).await.context("Failed to scope the transaction to the merchant")?;
    }
    Ok(row)
}

/// A uuid field of a task's payload, named in the error when it is missing.
pub fn payload_uuid(payload: &serde_json::Value, field: &str) -> anyhow::Result<uuid::Uuid> {
    payload
        .get(field)
        .and_then(serde_json::Value::as_str)
        .and_then(|id| uuid::Uuid::parse_str(id).ok())
        .with_context(|| format!("the task payload has no valid `{field}`"))
}

//! Durable, exactly-once storage of normalized events, with group commit.
//!
//! A webhook may be answered 2xx only after its row is committed, and a durable commit (an
//! fsync) is the dominant cost of ingestion. Requests therefore hand their prepared row to a
//! small set of committers; each committer takes whatever has queued up (up to
//! `ingest.max_batch` rows), writes it with one multi-row `INSERT … ON CONFLICT DO NOTHING` and
//! one commit, and only then answers every request in the batch. Under load many webhooks share
//! one fsync; when idle a batch is a single row and nothing waits.
//!
//! Duplicates (the unique `(integration_id, dedup_key)`) are detected by the database, so twenty
//! copies racing through twenty API replicas still leave one row. A batch that fails for a reason
//! other than an unreachable database is retried row by row, so one bad row never fails others.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::NormalizedEvent;
use recete_platform::crypto::Keyring;
use recete_platform::db;
use recete_platform::ids::{EventId, IntegrationId, MerchantId};

/// A verified, normalized event with the raw body it came from.
pub struct IncomingEvent<'a> {
    pub merchant_id: MerchantId,
    pub integration_id: IntegrationId,
    pub request_id: Option<&'a str>,
    pub raw_body: &'a [u8],
    pub event: &'a NormalizedEvent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOutcome {
    Stored(EventId),
    /// Already stored by an earlier delivery; the id is that row's.
    Duplicate(EventId),
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database is unreachable or the write queue is full: the sender should retry later.
    #[error("event store unavailable: {0}")]
    Unavailable(String),
    /// The row was refused for a reason a retry will not fix.
    #[error("event could not be stored: {0}")]
    Rejected(String),
}

/// The context a sealed payload is bound to: it opens only in its own row.
pub fn payload_context(integration_id: IntegrationId, dedup_key: &str, column: &str) -> Vec<u8> {
    format!("external_events.{column}:{integration_id}:{dedup_key}").into_bytes()
}

/// Sealed payloads hold `[format byte][body]`; format 1 is an LZ4 block with its size prepended.
/// Compressing first shrinks the commit (and the WAL) to about a quarter for store JSON.
const FORMAT_LZ4: u8 = 1;
/// A payload never legitimately opens larger than this (bodies are capped far lower).
const MAX_OPENED_BYTES: usize = 64 * 1024 * 1024;

pub fn pack(bytes: &[u8]) -> Vec<u8> {
    let compressed = lz4_flex::compress_prepend_size(bytes);
    let mut packed = Vec::with_capacity(compressed.len() + 1);
    packed.push(FORMAT_LZ4);
    packed.extend_from_slice(&compressed);
    packed
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Crypto(#[from] recete_platform::crypto::KeyringError),
    #[error("sealed payload has an unknown format or is corrupt")]
    Format,
}

/// Opens one sealed column of an `external_events` row back to the exact bytes stored.
pub fn open_payload(keyring: &Keyring, key_id: &str, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, OpenError> {
    let packed = keyring.open(key_id, sealed, context)?;
    match packed.split_first() {
        Some((&FORMAT_LZ4, body)) => {
            let declared = body.get(..4).map(|size| u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize);
            if declared.is_none_or(|size| size > MAX_OPENED_BYTES) {
                return Err(OpenError::Format);
            }
            lz4_flex::decompress_size_prepended(body).map_err(|_| OpenError::Format)
        }
        _ => Err(OpenError::Format),
    }
}

struct PreparedRow {
    id: Uuid,
    merchant_id: MerchantId,
    integration_id: Uuid,
    source: &'static str,
    kind: &'static str,
    topic: String,
    dedup_key: String,
    platform_event_id: Option<String>,
    subject_id: Option<String>,
    occurred_at: DateTime<Utc>,
    request_id: Option<String>,
    key_id: String,
    payload_sealed: Vec<u8>,
    normalized_sealed: Vec<u8>,
}

type Reply = oneshot::Sender<Result<StoreOutcome, StoreError>>;

struct Pending {
    row: PreparedRow,
    reply: Reply,
}

pub struct WriterSettings {
    pub max_batch: usize,
    pub writers: usize,
    pub queue_capacity: usize,
}

/// The handle requests use; cheap to clone. Committers stop once every handle is dropped and the
/// queue is drained.
#[derive(Clone)]
pub struct EventWriter {
    keyring: Arc<Keyring>,
    sender: mpsc::Sender<Pending>,
}

impl EventWriter {
    pub fn start(pool: PgPool, keyring: Arc<Keyring>, settings: WriterSettings) -> (Self, Vec<JoinHandle<()>>) {
        let (sender, receiver) = mpsc::channel(settings.queue_capacity);
        let receiver = Arc::new(Mutex::new(receiver));
        let handles = (0..settings.writers)
            .map(|_| tokio::spawn(commit_loop(pool.clone(), receiver.clone(), settings.max_batch)))
            .collect();
        (Self { keyring, sender }, handles)
    }

    /// Seals and stores one event; returns once its row is committed (or found to be a duplicate).
    pub async fn store(&self, incoming: IncomingEvent<'_>) -> Result<StoreOutcome, StoreError> {
        let row = self.prepare(incoming)?;
        let (reply, answer) = oneshot::channel();
        self.sender.try_send(Pending { row, reply }).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => StoreError::Unavailable("ingestion queue is full".into()),
            mpsc::error::TrySendError::Closed(_) => StoreError::Unavailable("ingestion is shutting down".into()),
        })?;
        answer.await.unwrap_or_else(|_| Err(StoreError::Unavailable("event committer stopped".into())))
    }

    fn prepare(&self, incoming: IncomingEvent<'_>) -> Result<PreparedRow, StoreError> {
        let event = incoming.event;
        let normalized = serde_json::to_vec(event).map_err(|e| StoreError::Rejected(e.to_string()))?;
        let payload = self
            .keyring
            .seal(&pack(incoming.raw_body), &payload_context(incoming.integration_id, &event.dedup_key, "payload"));
        let normalized = self
            .keyring
            .seal_with(
                &payload.key_id,
                &pack(&normalized),
                &payload_context(incoming.integration_id, &event.dedup_key, "normalized"),
            )
            .map_err(|e| StoreError::Rejected(e.to_string()))?;
        Ok(PreparedRow {
            id: EventId::generate().as_uuid(),
            merchant_id: incoming.merchant_id,
            integration_id: incoming.integration_id.as_uuid(),
            source: event.source.as_str(),
            kind: event.kind.as_str(),
            topic: event.topic.clone(),
            dedup_key: event.dedup_key.clone(),
            platform_event_id: event.platform_event_id.clone(),
            subject_id: event.subject_id().map(str::to_owned),
            occurred_at: event.occurred_at,
            request_id: incoming.request_id.map(str::to_owned),
            key_id: payload.key_id,
            payload_sealed: payload.bytes,
            normalized_sealed: normalized.bytes,
        })
    }
}

async fn commit_loop(pool: PgPool, receiver: Arc<Mutex<mpsc::Receiver<Pending>>>, max_batch: usize) {
    loop {
        let mut batch = Vec::with_capacity(max_batch);
        {
            let mut receiver = receiver.lock().await;
            if receiver.recv_many(&mut batch, max_batch).await == 0 {
                return;
            }
        }
        commit_batch(&pool, batch).await;
    }
}

async fn commit_batch(pool: &PgPool, batch: Vec<Pending>) {
    let started = Instant::now();
    metrics::histogram!("recete_ingest_batch_rows").record(batch.len() as f64);
    // Copies of one delivery inside a batch: the first is written, the rest answer as duplicates.
    let mut first_by_key: HashMap<(Uuid, String), usize> = HashMap::new();
    let mut unique = Vec::with_capacity(batch.len());
    let mut copies: Vec<(usize, Reply)> = Vec::new();
    for pending in batch {
        let key = (pending.row.integration_id, pending.row.dedup_key.clone());
        match first_by_key.get(&key) {
            Some(&index) => copies.push((index, pending.reply)),
            None => {
                first_by_key.insert(key, unique.len());
                unique.push(pending);
            }
        }
    }
    let rows: Vec<&PreparedRow> = unique.iter().map(|p| &p.row).collect();
    let outcomes = match write_rows(pool, &rows).await {
        Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
        Err(error) if db::is_unavailable(&error) => {
            tracing::warn!(error = %error, rows = rows.len(), "event batch not stored: database unavailable");
            vec![Err(StoreError::Unavailable("database unavailable".into())); rows.len()]
        }
        Err(error) if rows.len() > 1 => {
            tracing::warn!(error = %error, rows = rows.len(), "event batch failed; retrying row by row");
            let mut outcomes = Vec::with_capacity(rows.len());
            for row in &rows {
                outcomes
                    .push(write_rows(pool, std::slice::from_ref(row)).await.map(|mut o| o.remove(0)).map_err(classify));
            }
            outcomes
        }
        Err(error) => vec![Err(classify(error))],
    };
    metrics::histogram!("recete_ingest_commit_duration_seconds").record(started.elapsed().as_secs_f64());
    for (index, reply) in copies {
        let outcome = outcomes[index].clone().map(|o| match o {
            StoreOutcome::Stored(id) | StoreOutcome::Duplicate(id) => StoreOutcome::Duplicate(id),
        });
        let _ = reply.send(outcome);
    }
    for (pending, outcome) in unique.into_iter().zip(outcomes) {
        // A requester that gave up (timeout, disconnect) no longer listens; its row is stored anyway
        // and its retry will be answered as a duplicate.
        let _ = pending.reply.send(outcome);
    }
}

fn classify(error: sqlx::Error) -> StoreError {
    if db::is_unavailable(&error) {
        StoreError::Unavailable("database unavailable".into())
    } else {
        tracing::error!(error = %error, "event row refused by the database");
        StoreError::Rejected("the event could not be stored".into())
    }
}

/// Writes rows in one transaction, one statement per merchant (row-level security checks each
/// row against the transaction's merchant), and reports which were new.
async fn write_rows(pool: &PgPool, rows: &[&PreparedRow]) -> Result<Vec<StoreOutcome>, sqlx::Error> {
    let mut by_merchant: BTreeMap<MerchantId, Vec<usize>> = BTreeMap::new();
    for (index, row) in rows.iter().enumerate() {
        by_merchant.entry(row.merchant_id).or_default().push(index);
    }
    let mut outcomes = vec![None; rows.len()];
    let mut tx = db::begin(pool).await?;
    for (merchant_id, indexes) in by_merchant {
        db::set_tenant(&mut tx, merchant_id).await?;
        let group: Vec<&PreparedRow> = indexes.iter().map(|&i| rows[i]).collect();
        let inserted: Vec<Uuid> = sqlx::query_scalar(
            "INSERT INTO external_events (id, merchant_id, integration_id, source, kind, topic, dedup_key,
                 platform_event_id, subject_id, occurred_at, request_id, key_id, payload_sealed, normalized_sealed)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[],
                 $8::text[], $9::text[], $10::timestamptz[], $11::text[], $12::text[], $13::bytea[], $14::bytea[])
             ON CONFLICT ON CONSTRAINT external_events_integration_id_dedup_key_key DO NOTHING
             RETURNING id",
        )
        .bind(group.iter().map(|r| r.id).collect::<Vec<_>>())
        .bind(group.iter().map(|r| r.merchant_id.as_uuid()).collect::<Vec<_>>())
        .bind(group.iter().map(|r| r.integration_id).collect::<Vec<_>>())
        .bind(group.iter().map(|r| r.source).collect::<Vec<_>>())
        .bind(group.iter().map(|r| r.kind).collect::<Vec<_>>())
        .bind(group.iter().map(|r| r.topic.as_str()).collect::<Vec<_>>())
        .bind(group.iter().map(|r| r.dedup_key.as_str()).collect::<Vec<_>>())
        .bind(group.iter().map(|r| r.platform_event_id.as_deref()).collect::<Vec<_>>())
        .bind(group.iter().map(|r| r.subject_id.as_deref()).collect::<Vec<_>>())
        .bind(group.iter().map(|r| r.occurred_at).collect::<Vec<_>>())
        .bind(group.iter().map(|r| r.request_id.as_deref()).collect::<Vec<_>>())
        .bind(group.iter().map(|r| r.key_id.as_str()).collect::<Vec<_>>())
        .bind(group.iter().map(|r| r.payload_sealed.as_slice()).collect::<Vec<_>>())
        .bind(group.iter().map(|r| r.normalized_sealed.as_slice()).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await?;
        let mut missing = Vec::new();
        for &index in &indexes {
            if inserted.contains(&rows[index].id) {
                outcomes[index] = Some(StoreOutcome::Stored(EventId::from_uuid(rows[index].id)));
            } else {
                missing.push(index);
            }
        }
        if !missing.is_empty() {
            let existing: Vec<(Uuid, Uuid, String)> = sqlx::query_as(
                "SELECT e.id, e.integration_id, e.dedup_key FROM external_events e
                 JOIN UNNEST($1::uuid[], $2::text[]) AS k(integration_id, dedup_key)
                   ON e.integration_id = k.integration_id AND e.dedup_key = k.dedup_key",
            )
            .bind(missing.iter().map(|&i| rows[i].integration_id).collect::<Vec<_>>())
            .bind(missing.iter().map(|&i| rows[i].dedup_key.as_str()).collect::<Vec<_>>())
            .fetch_all(&mut *tx)
            .await?;
            for index in missing {
                let row = rows[index];
                let found = existing
                    .iter()
                    .find(|(_, integration, key)| *integration == row.integration_id && *key == row.dedup_key)
                    .map(|(id, _, _)| EventId::from_uuid(*id))
                    .ok_or_else(|| sqlx::Error::Protocol(format!("conflicting event {} vanished", row.dedup_key)))?;
                outcomes[index] = Some(StoreOutcome::Duplicate(found));
            }
        }
    }
    tx.commit().await?;
    Ok(outcomes.into_iter().map(|o| o.expect("every row has an outcome")).collect())
}

//! `recete keys rotate`: re-seals every sealed value with the active key (columns of sealed
//! bytes and the sealed texts inside task payloads) and re-hashes every lookup hash with the
//! active lookup key, in small committed batches, so old keys can be removed from `crypto.keys`
//! and `crypto.lookup_keys` afterwards. Safe to interrupt and to run again: each batch takes only
//! rows still under another key.
//!
//! Every table is a [`Pass`]: a query for rows not yet under the active key, a rewrite of one
//! row, and an update. One loop runs them all.

use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::crypto::Keyring;
use crate::db;
use crate::events::store::payload_context;
use crate::ids::{ImportId, IntegrationId, MerchantId};
use crate::{customers, imports, message_bodies, privacy, webhooks};

const BATCH: i64 = 200;

#[derive(Debug, Default, Serialize)]
pub struct RotationReport {
    pub active_key_id: String,
    pub active_lookup_key_id: String,
    pub integrations: u64,
    pub customers: u64,
    pub external_events: u64,
    pub messages: u64,
    pub import_chunks: u64,
    pub import_errors: u64,
    pub privacy_requests: u64,
    /// Scheduled tasks whose payload held a text sealed with another key.
    pub scheduled_tasks: u64,
    /// Customers whose phone and email lookup hashes were re-hashed.
    pub customer_lookups: u64,
    /// Failed import rows whose lookup hashes were re-hashed.
    pub import_error_lookups: u64,
    /// Webhook endpoints' signing secrets (the current and, during an overlap, the previous).
    pub webhook_endpoints: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("{table} row {id}: {source}")]
    Row { table: &'static str, id: Uuid, source: Box<dyn std::error::Error + Send + Sync> },
}

/// Which active key a pass brings its rows under.
#[derive(Clone, Copy)]
enum Target {
    Sealing,
    Lookup,
}

/// A row a pass rewrites. Every pass's query returns these columns: the row's id (and `part`,
/// the second half of a two-column key, else 0), its merchant, what its sealing context needs
/// beyond that (`scope`, `label`), the id of the key its values are under, the values, and a
/// JSON payload for passes over payloads.
#[derive(sqlx::FromRow)]
struct Row {
    row_id: Uuid,
    part: i64,
    merchant_id: Uuid,
    scope: Option<Uuid>,
    label: Option<String>,
    key_id: Option<String>,
    sealed: Vec<Option<Vec<u8>>>,
    payload: Option<serde_json::Value>,
}

impl Row {
    fn merchant(&self) -> MerchantId {
        MerchantId::from_uuid(self.merchant_id)
    }
}

/// What a row's update writes: the values (`new.sealed`) and payload (`new.payload`), stored
/// under the pass's active key id (`new.key_id`).
struct Rewritten {
    values: Vec<Option<Vec<u8>>>,
    payload: Option<serde_json::Value>,
}

type RowError = Box<dyn std::error::Error + Send + Sync>;

struct Pass {
    table: &'static str,
    target: Target,
    /// Up to `$2` [`Row`]s not under key `$1`, locked, skipping rows locked by others.
    select: &'static str,
    /// Writes one rewritten row, read from the relation `new` ([`new_values`]).
    update: &'static str,
    rewrite: fn(&Keyring, &Row) -> Result<Rewritten, RowError>,
    counter: fn(&mut RotationReport) -> &mut u64,
}

/// The parameters of every update as one relation `new`.
macro_rules! new_values {
    () => {
        "(SELECT $1::uuid AS row_id, $2::bigint AS part, $3::text AS key_id, $4::bytea[] AS sealed,
                 $5::jsonb AS payload) AS new"
    };
}

/// Each value of the row, re-sealed with the active key under the context for its position.
fn reseal_values(keyring: &Keyring, row: &Row, context: impl Fn(usize) -> Vec<u8>) -> Result<Rewritten, RowError> {
    let key_id = row.key_id.as_deref().ok_or("the row names no key")?;
    let mut values = Vec::with_capacity(row.sealed.len());
    for (index, sealed) in row.sealed.iter().enumerate() {
        let value = match sealed {
            Some(sealed) => {
                let context = context(index);
                let plaintext = keyring.open(key_id, sealed, &context)?;
                Some(keyring.seal(&plaintext, &context).bytes)
            }
            None => None,
        };
        values.push(value);
    }
    Ok(Rewritten { values, payload: None })
}

fn integration_secret(keyring: &Keyring, row: &Row) -> Result<Rewritten, RowError> {
    let context = format!("integrations.secret:{}", IntegrationId::from_uuid(row.row_id)).into_bytes();
    reseal_values(keyring, row, |_| context.clone())
}

fn webhook_secret(keyring: &Keyring, row: &Row) -> Result<Rewritten, RowError> {
    let context = webhooks::endpoints::secret_context(row.merchant(), row.row_id);
    reseal_values(keyring, row, |_| context.clone())
}

const CUSTOMER_FIELDS: [&str; 3] = ["phone", "email", "name"];

fn customer_fields(keyring: &Keyring, row: &Row) -> Result<Rewritten, RowError> {
    reseal_values(keyring, row, |index| customers::field_context(row.merchant(), CUSTOMER_FIELDS[index]))
}

fn external_event(keyring: &Keyring, row: &Row) -> Result<Rewritten, RowError> {
    let integration = IntegrationId::from_uuid(row.scope.ok_or("the event names no integration")?);
    let dedup_key = row.label.as_deref().ok_or("the event has no delivery key")?;
    let columns = ["payload", "normalized"];
    reseal_values(keyring, row, |index| payload_context(integration, dedup_key, columns[index]))
}

fn message_body(keyring: &Keyring, row: &Row) -> Result<Rewritten, RowError> {
    reseal_values(keyring, row, |_| message_bodies::context(row.merchant()))
}

fn import_chunk(keyring: &Keyring, row: &Row) -> Result<Rewritten, RowError> {
    let seq = i32::try_from(row.part)?;
    reseal_values(keyring, row, |_| imports::chunk_context(row.merchant(), ImportId::from_uuid(row.row_id), seq))
}

fn import_error_row(keyring: &Keyring, row: &Row) -> Result<Rewritten, RowError> {
    reseal_values(keyring, row, |_| imports::error_row_context(row.merchant(), ImportId::from_uuid(row.row_id)))
}

fn privacy_document(keyring: &Keyring, row: &Row) -> Result<Rewritten, RowError> {
    reseal_values(keyring, row, |_| privacy::requests::document_context(row.merchant(), row.row_id))
}

fn task_payload(keyring: &Keyring, row: &Row) -> Result<Rewritten, RowError> {
    let mut payload = row.payload.clone().ok_or("the task has no payload")?;
    message_bodies::reseal_in_payload(keyring, row.merchant(), &mut payload)?;
    Ok(Rewritten { values: Vec::new(), payload: Some(payload) })
}

/// A customer's phone and email lookup hashes made again, with the active lookup key, from the
/// sealed phone and email (`sealed` = phone, email, stored phone hash, stored email hash). A
/// hash with no sealed value beside it is kept as it is.
fn customer_lookups(keyring: &Keyring, row: &Row) -> Result<Rewritten, RowError> {
    let mut values = Vec::with_capacity(2);
    for (index, (field, domain)) in
        [("phone", customers::PHONE_LOOKUP_DOMAIN), ("email", customers::EMAIL_LOOKUP_DOMAIN)].into_iter().enumerate()
    {
        let stored = row.sealed.get(index + 2).cloned().flatten();
        let value = match (row.sealed.get(index).and_then(Option::as_deref), row.key_id.as_deref()) {
            (Some(sealed), Some(key_id)) => {
                let plaintext = keyring.open(key_id, sealed, &customers::field_context(row.merchant(), field))?;
                let plaintext = String::from_utf8(plaintext)?;
                Some(keyring.lookup_hash(domain, &plaintext).to_vec())
            }
            _ => stored,
        };
        values.push(value);
    }
    Ok(Rewritten { values, payload: None })
}

/// A failed import row's lookup hashes made again with the active lookup key from its sealed
/// fields, read in the import's phone country (`label`).
fn import_error_lookups(keyring: &Keyring, row: &Row) -> Result<Rewritten, RowError> {
    let fields = match (row.sealed.first().and_then(Option::as_deref), row.key_id.as_deref()) {
        (Some(sealed), Some(key_id)) => {
            imports::open_error_row(keyring, row.merchant(), ImportId::from_uuid(row.row_id), key_id, sealed)?
        }
        _ => Vec::new(),
    };
    // The label is the country the import read phones in, or the shop's time zone when none was set.
    let country = row.label.as_deref().and_then(crate::phone_country::from_code_or_zone);
    let lookups = imports::subject_lookups(keyring, &fields, country.as_deref());
    Ok(Rewritten { values: lookups.into_iter().map(Some).collect(), payload: None })
}

const PASSES: [Pass; 13] = [
    Pass {
        table: "integrations",
        target: Target::Sealing,
        select: "SELECT id AS row_id, 0::bigint AS part, merchant_id, NULL::uuid AS scope, NULL::text AS label,
                        secret_key_id AS key_id, ARRAY[secret_sealed] AS sealed, NULL::jsonb AS payload
                 FROM integrations WHERE secret_key_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
        update: concat!(
            "UPDATE integrations SET secret_key_id = new.key_id, secret_sealed = new.sealed[1] FROM ",
            new_values!(),
            " WHERE id = new.row_id"
        ),
        rewrite: integration_secret,
        counter: |report| &mut report.integrations,
    },
    // A secret rotated out of an integration still verifies during its overlap.
    Pass {
        table: "integrations",
        target: Target::Sealing,
        select: "SELECT id AS row_id, 0::bigint AS part, merchant_id, NULL::uuid AS scope, NULL::text AS label,
                        previous_secret_key_id AS key_id, ARRAY[previous_secret_sealed] AS sealed,
                        NULL::jsonb AS payload
                 FROM integrations WHERE previous_secret_key_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
        update: concat!(
            "UPDATE integrations SET previous_secret_key_id = new.key_id, previous_secret_sealed = new.sealed[1] FROM ",
            new_values!(),
            " WHERE id = new.row_id"
        ),
        rewrite: integration_secret,
        counter: |report| &mut report.integrations,
    },
    Pass {
        table: "webhook_endpoints",
        target: Target::Sealing,
        select: "SELECT id AS row_id, 0::bigint AS part, merchant_id, NULL::uuid AS scope, NULL::text AS label,
                        secret_key_id AS key_id, ARRAY[secret_sealed] AS sealed, NULL::jsonb AS payload
                 FROM webhook_endpoints WHERE secret_key_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
        update: concat!(
            "UPDATE webhook_endpoints SET secret_key_id = new.key_id, secret_sealed = new.sealed[1] FROM ",
            new_values!(),
            " WHERE id = new.row_id"
        ),
        rewrite: webhook_secret,
        counter: |report| &mut report.webhook_endpoints,
    },
    // A secret rotated out of an endpoint still signs during its overlap.
    Pass {
        table: "webhook_endpoints",
        target: Target::Sealing,
        select: "SELECT id AS row_id, 0::bigint AS part, merchant_id, NULL::uuid AS scope, NULL::text AS label,
                        previous_secret_key_id AS key_id, ARRAY[previous_secret_sealed] AS sealed,
                        NULL::jsonb AS payload
                 FROM webhook_endpoints WHERE previous_secret_key_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
        update: concat!(
            "UPDATE webhook_endpoints SET previous_secret_key_id = new.key_id, previous_secret_sealed = new.sealed[1] FROM ",
            new_values!(),
            " WHERE id = new.row_id"
        ),
        rewrite: webhook_secret,
        counter: |report| &mut report.webhook_endpoints,
    },
    Pass {
        table: "customers",
        target: Target::Sealing,
        select: "SELECT id AS row_id, 0::bigint AS part, merchant_id, NULL::uuid AS scope, NULL::text AS label,
                        pii_key_id AS key_id, ARRAY[phone_sealed, email_sealed, name_sealed] AS sealed,
                        NULL::jsonb AS payload
                 FROM customers WHERE pii_key_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
        update: concat!(
            "UPDATE customers SET pii_key_id = new.key_id, phone_sealed = new.sealed[1], email_sealed = new.sealed[2],
                    name_sealed = new.sealed[3] FROM ",
            new_values!(),
            " WHERE id = new.row_id"
        ),
        rewrite: customer_fields,
        counter: |report| &mut report.customers,
    },
    Pass {
        table: "external_events",
        target: Target::Sealing,
        select: "SELECT id AS row_id, 0::bigint AS part, merchant_id, integration_id AS scope, dedup_key AS label,
                        key_id, ARRAY[payload_sealed, normalized_sealed] AS sealed, NULL::jsonb AS payload
                 FROM external_events WHERE key_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
        update: concat!(
            "UPDATE external_events SET key_id = new.key_id, payload_sealed = new.sealed[1],
                    normalized_sealed = new.sealed[2] FROM ",
            new_values!(),
            " WHERE id = new.row_id"
        ),
        rewrite: external_event,
        counter: |report| &mut report.external_events,
    },
    Pass {
        table: "messages",
        target: Target::Sealing,
        select: "SELECT id AS row_id, 0::bigint AS part, merchant_id, NULL::uuid AS scope, NULL::text AS label,
                        pii_key_id AS key_id, ARRAY[body_sealed] AS sealed, NULL::jsonb AS payload
                 FROM messages WHERE body_sealed IS NOT NULL AND pii_key_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
        update: concat!(
            "UPDATE messages SET pii_key_id = new.key_id, body_sealed = new.sealed[1] FROM ",
            new_values!(),
            " WHERE id = new.row_id"
        ),
        rewrite: message_body,
        counter: |report| &mut report.messages,
    },
    Pass {
        table: "import_chunks",
        target: Target::Sealing,
        select: "SELECT import_id AS row_id, seq::bigint AS part, merchant_id, NULL::uuid AS scope, NULL::text AS label,
                        key_id, ARRAY[data_sealed] AS sealed, NULL::jsonb AS payload
                 FROM import_chunks WHERE key_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
        update: concat!(
            "UPDATE import_chunks SET key_id = new.key_id, data_sealed = new.sealed[1] FROM ",
            new_values!(),
            " WHERE import_id = new.row_id AND seq = new.part"
        ),
        rewrite: import_chunk,
        counter: |report| &mut report.import_chunks,
    },
    Pass {
        table: "import_errors",
        target: Target::Sealing,
        select: "SELECT import_id AS row_id, line AS part, merchant_id, NULL::uuid AS scope, NULL::text AS label,
                        pii_key_id AS key_id, ARRAY[row_sealed] AS sealed, NULL::jsonb AS payload
                 FROM import_errors
                 WHERE row_sealed IS NOT NULL AND pii_key_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
        update: concat!(
            "UPDATE import_errors SET pii_key_id = new.key_id, row_sealed = new.sealed[1] FROM ",
            new_values!(),
            " WHERE import_id = new.row_id AND line = new.part"
        ),
        rewrite: import_error_row,
        counter: |report| &mut report.import_errors,
    },
    Pass {
        table: "privacy_requests",
        target: Target::Sealing,
        select: "SELECT id AS row_id, 0::bigint AS part, merchant_id, NULL::uuid AS scope, NULL::text AS label,
                        document_key_id AS key_id, ARRAY[document_sealed] AS sealed, NULL::jsonb AS payload
                 FROM privacy_requests
                 WHERE document_sealed IS NOT NULL AND document_key_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
        update: concat!(
            "UPDATE privacy_requests SET document_key_id = new.key_id, document_sealed = new.sealed[1] FROM ",
            new_values!(),
            " WHERE id = new.row_id"
        ),
        rewrite: privacy_document,
        counter: |report| &mut report.privacy_requests,
    },
    // Texts sealed into task payloads (replies waiting to go out), wherever in the payload.
    Pass {
        table: "scheduled_tasks",
        target: Target::Sealing,
        select: "SELECT id AS row_id, 0::bigint AS part, merchant_id, NULL::uuid AS scope, NULL::text AS label,
                        NULL::text AS key_id, '{}'::bytea[] AS sealed, payload
                 FROM scheduled_tasks
                 WHERE jsonb_path_exists(payload, '$.** ? (exists(@.sealed) && @.key_id.type() == \"string\" && @.key_id != $active)',
                                         jsonb_build_object('active', $1::text))
                 LIMIT $2 FOR UPDATE SKIP LOCKED",
        update: concat!("UPDATE scheduled_tasks SET payload = new.payload FROM ", new_values!(), " WHERE id = new.row_id"),
        rewrite: task_payload,
        counter: |report| &mut report.scheduled_tasks,
    },
    Pass {
        table: "customers",
        target: Target::Lookup,
        select: "SELECT id AS row_id, 0::bigint AS part, merchant_id, NULL::uuid AS scope, NULL::text AS label,
                        pii_key_id AS key_id, ARRAY[phone_sealed, email_sealed, phone_lookup, email_lookup] AS sealed,
                        NULL::jsonb AS payload
                 FROM customers WHERE lookup_key_id IS DISTINCT FROM $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
        update: concat!(
            "UPDATE customers SET lookup_key_id = new.key_id, phone_lookup = new.sealed[1],
                    email_lookup = new.sealed[2] FROM ",
            new_values!(),
            " WHERE id = new.row_id"
        ),
        rewrite: customer_lookups,
        counter: |report| &mut report.customer_lookups,
    },
    Pass {
        table: "import_errors",
        target: Target::Lookup,
        select: "SELECT e.import_id AS row_id, e.line AS part, e.merchant_id, NULL::uuid AS scope,
                        coalesce(nullif(btrim(coalesce(i.options->>'default_country',
                                                       m.settings->>'default_phone_country')), ''),
                                 m.timezone) AS label,
                        e.pii_key_id AS key_id, ARRAY[e.row_sealed] AS sealed, NULL::jsonb AS payload
                 FROM import_errors e
                 JOIN imports i ON i.id = e.import_id
                 JOIN merchants m ON m.id = e.merchant_id
                 WHERE e.lookup_key_id IS DISTINCT FROM $1 LIMIT $2 FOR UPDATE OF e SKIP LOCKED",
        update: concat!(
            "UPDATE import_errors SET lookup_key_id = new.key_id, subject_lookups = new.sealed FROM ",
            new_values!(),
            " WHERE import_id = new.row_id AND line = new.part"
        ),
        rewrite: import_error_lookups,
        counter: |report| &mut report.import_error_lookups,
    },
];

pub async fn rotate_all(pool: &PgPool, keyring: &Keyring) -> Result<RotationReport, RotationError> {
    let mut report = RotationReport {
        active_key_id: keyring.active_key_id().to_owned(),
        active_lookup_key_id: keyring.active_lookup_key_id().to_owned(),
        ..RotationReport::default()
    };
    for pass in &PASSES {
        let rotated = run_pass(pool, keyring, pass).await?;
        *(pass.counter)(&mut report) += rotated;
    }
    Ok(report)
}

/// Rewrites the pass's rows batch by batch, each batch in its own transaction, until none is
/// left under another key.
async fn run_pass(pool: &PgPool, keyring: &Keyring, pass: &Pass) -> Result<u64, RotationError> {
    let active = match pass.target {
        Target::Sealing => keyring.active_key_id(),
        Target::Lookup => keyring.active_lookup_key_id(),
    };
    let mut rotated = 0;
    loop {
        let mut tx = db::system_tx(pool).await?;
        let rows: Vec<Row> = sqlx::query_as(pass.select).bind(active).bind(BATCH).fetch_all(&mut *tx).await?;
        if rows.is_empty() {
            return Ok(rotated);
        }
        for row in &rows {
            let rewritten = (pass.rewrite)(keyring, row).map_err(|source| RotationError::Row {
                table: pass.table,
                id: row.row_id,
                source,
            })?;
            sqlx::query(pass.update)
                .bind(row.row_id)
                .bind(row.part)
                .bind(active)
                .bind(rewritten.values)
                .bind(rewritten.payload)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        rotated += rows.len() as u64;
    }
}

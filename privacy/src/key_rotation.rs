//! `recete keys rotate`: re-seals every sealed value with the active key (columns of sealed
//! bytes and the sealed texts inside task payloads) and re-hashes every lookup hash with the
//! active lookup key, in small committed batches, so old keys can be removed from `crypto.keys`
//! and `crypto.lookup_keys` afterwards. Safe to interrupt and to run again: each batch takes only
//! rows still under another key.
//!
//! It reaches the sealed columns of `recete-shared`'s tables and of this crate's
//! `privacy_requests`, so it lives here, above both; the command line only calls [`rotate_all`].
//!
//! Every table's sealed columns are one entry of [`sealed_columns`], from which its [`Pass`] is
//! made: a query for rows not yet under the active key, a rewrite of one row, and an update. The
//! few passes of another shape (texts inside task payloads, lookup hashes) are written out in
//! [`other_passes`]. One loop runs them all.

use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::requests;
use recete_platform::crypto::Keyring;
use recete_platform::db;
use recete_platform::ids::{ImportId, IntegrationId, MerchantId};
use recete_shared::events::store::payload_context;
use recete_shared::{customers, imports, message_bodies, webhooks};

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

/// The parameters of every update as one relation `new`.
macro_rules! new_values {
    () => {
        "(SELECT $1::uuid AS row_id, $2::bigint AS part, $3::text AS key_id, $4::bytea[] AS sealed,
                 $5::jsonb AS payload) AS new"
    };
}

/// One run over a table: which rows, how each is rewritten, and where the count goes.
struct Pass {
    table: &'static str,
    target: Target,
    /// Up to `$2` [`Row`]s not under key `$1`, locked, skipping rows locked by others.
    select: String,
    /// Writes one rewritten row, read from the relation `new` ([`new_values`]).
    update: String,
    rewrite: Rewrite,
    counter: Counter,
}

/// Columns of one table sealed under one key id column: their pass re-seals the rows whose key
/// id is not the active key's.
struct SealedColumns {
    table: &'static str,
    /// The column naming the key the values are sealed with.
    key_id: &'static str,
    /// The sealed columns, in the order the rewrite sees them as [`Row::sealed`].
    sealed: &'static [&'static str],
    /// The row's id, and the second column of a two-column key.
    id: &'static str,
    part: Option<&'static str>,
    /// What the sealing context needs beyond the merchant ([`Row::scope`], [`Row::label`]).
    scope: Option<&'static str>,
    label: Option<&'static str>,
    /// Only rows holding a value: the column may be empty, and an empty row has nothing to move.
    only_filled: bool,
    rewrite: Rewrite,
    counter: Counter,
}

type Counter = fn(&mut RotationReport) -> &mut u64;
type Rewrite = fn(&Keyring, &Row) -> Result<Rewritten, RowError>;

impl SealedColumns {
    /// Columns of a table keyed by `id`, sealed with no context beyond the merchant and the row.
    fn new(
        table: &'static str,
        key_id: &'static str,
        sealed: &'static [&'static str],
        rewrite: Rewrite,
        counter: Counter,
    ) -> Self {
        Self {
            table,
            key_id,
            sealed,
            id: "id",
            part: None,
            scope: None,
            label: None,
            only_filled: false,
            rewrite,
            counter,
        }
    }

    /// A table keyed by two columns.
    fn keyed_by(self, id: &'static str, part: &'static str) -> Self {
        Self { id, part: Some(part), ..self }
    }

    /// Columns whose sealing context names a uuid (`scope`) and a text (`label`) of the row.
    fn context(self, scope: &'static str, label: &'static str) -> Self {
        Self { scope: Some(scope), label: Some(label), ..self }
    }

    /// Only rows whose (first) sealed column holds a value.
    fn only_filled(self) -> Self {
        Self { only_filled: true, ..self }
    }

    fn pass(&self) -> Pass {
        let Self { table, key_id, sealed, id, part, .. } = self;
        let filled = if self.only_filled { format!("{} IS NOT NULL AND ", sealed[0]) } else { String::new() };
        let select = format!(
            "SELECT {id} AS row_id, {}::bigint AS part, merchant_id, {}::uuid AS scope, {}::text AS label,
                    {key_id} AS key_id, ARRAY[{}] AS sealed, NULL::jsonb AS payload
             FROM {table} WHERE {filled}{key_id} <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
            part.unwrap_or("0"),
            self.scope.unwrap_or("NULL"),
            self.label.unwrap_or("NULL"),
            sealed.join(", "),
        );
        let values: Vec<String> =
            sealed.iter().enumerate().map(|(index, column)| format!("{column} = new.sealed[{}]", index + 1)).collect();
        let same_part = part.map(|part| format!(" AND {part} = new.part")).unwrap_or_default();
        let update = format!(
            "UPDATE {table} SET {key_id} = new.key_id, {} FROM {} WHERE {id} = new.row_id{same_part}",
            values.join(", "),
            new_values!(),
        );
        Pass { table, target: Target::Sealing, select, update, rewrite: self.rewrite, counter: self.counter }
    }
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
    reseal_values(keyring, row, |_| requests::document_context(row.merchant(), row.row_id))
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
    let country = row.label.as_deref().and_then(recete_shared::phone_country::from_code_or_zone);
    let lookups = imports::subject_lookups(keyring, &fields, country.as_deref());
    Ok(Rewritten { values: lookups.into_iter().map(Some).collect(), payload: None })
}

/// Every table's sealed columns under one key id column.
fn sealed_columns() -> [SealedColumns; 10] {
    use SealedColumns as Columns;
    [
        Columns::new("integrations", "secret_key_id", &["secret_sealed"], integration_secret, |r| &mut r.integrations),
        // A secret rotated out of an integration still verifies during its overlap.
        Columns::new("integrations", "previous_secret_key_id", &["previous_secret_sealed"], integration_secret, |r| {
            &mut r.integrations
        }),
        Columns::new("webhook_endpoints", "secret_key_id", &["secret_sealed"], webhook_secret, |r| {
            &mut r.webhook_endpoints
        }),
        // A secret rotated out of an endpoint still signs during its overlap.
        Columns::new("webhook_endpoints", "previous_secret_key_id", &["previous_secret_sealed"], webhook_secret, |r| {
            &mut r.webhook_endpoints
        }),
        Columns::new(
            "customers",
            "pii_key_id",
            &["phone_sealed", "email_sealed", "name_sealed"],
            customer_fields,
            |r| &mut r.customers,
        ),
        Columns::new("external_events", "key_id", &["payload_sealed", "normalized_sealed"], external_event, |r| {
            &mut r.external_events
        })
        .context("integration_id", "dedup_key"),
        Columns::new("messages", "pii_key_id", &["body_sealed"], message_body, |r| &mut r.messages).only_filled(),
        Columns::new("import_chunks", "key_id", &["data_sealed"], import_chunk, |r| &mut r.import_chunks)
            .keyed_by("import_id", "seq"),
        Columns::new("import_errors", "pii_key_id", &["row_sealed"], import_error_row, |r| &mut r.import_errors)
            .keyed_by("import_id", "line")
            .only_filled(),
        Columns::new("privacy_requests", "document_key_id", &["document_sealed"], privacy_document, |r| {
            &mut r.privacy_requests
        })
        .only_filled(),
    ]
}

/// The passes that are not a table's sealed columns: sealed texts inside task payloads, and the
/// lookup hashes made again from the sealed values beside them.
fn other_passes() -> [Pass; 3] {
    [
        // Texts sealed into task payloads (replies waiting to go out), wherever in the payload.
        Pass {
            table: "scheduled_tasks",
            target: Target::Sealing,
            select: "SELECT id AS row_id, 0::bigint AS part, merchant_id, NULL::uuid AS scope, NULL::text AS label,
                            NULL::text AS key_id, '{}'::bytea[] AS sealed, payload
                     FROM scheduled_tasks
                     WHERE jsonb_path_exists(payload, '$.** ? (exists(@.sealed) && @.key_id.type() == \"string\" && @.key_id != $active)',
                                             jsonb_build_object('active', $1::text))
                     LIMIT $2 FOR UPDATE SKIP LOCKED"
                .to_owned(),
            update: concat!("UPDATE scheduled_tasks SET payload = new.payload FROM ", new_values!(), " WHERE id = new.row_id")
                .to_owned(),
            rewrite: task_payload,
            counter: |report| &mut report.scheduled_tasks,
        },
        Pass {
            table: "customers",
            target: Target::Lookup,
            select: "SELECT id AS row_id, 0::bigint AS part, merchant_id, NULL::uuid AS scope, NULL::text AS label,
                            pii_key_id AS key_id, ARRAY[phone_sealed, email_sealed, phone_lookup, email_lookup] AS sealed,
                            NULL::jsonb AS payload
                     FROM customers WHERE lookup_key_id IS DISTINCT FROM $1 LIMIT $2 FOR UPDATE SKIP LOCKED"
                .to_owned(),
            update: concat!(
                "UPDATE customers SET lookup_key_id = new.key_id, phone_lookup = new.sealed[1],
                        email_lookup = new.sealed[2] FROM ",
                new_values!(),
                " WHERE id = new.row_id"
            )
            .to_owned(),
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
                     WHERE e.lookup_key_id IS DISTINCT FROM $1 LIMIT $2 FOR UPDATE OF e SKIP LOCKED"
                .to_owned(),
            update: concat!(
                "UPDATE import_errors SET lookup_key_id = new.key_id, subject_lookups = new.sealed FROM ",
                new_values!(),
                " WHERE import_id = new.row_id AND line = new.part"
            )
            .to_owned(),
            rewrite: import_error_lookups,
            counter: |report| &mut report.import_error_lookups,
        },
    ]
}

pub async fn rotate_all(pool: &PgPool, keyring: &Keyring) -> Result<RotationReport, RotationError> {
    let mut report = RotationReport {
        active_key_id: keyring.active_key_id().to_owned(),
        active_lookup_key_id: keyring.active_lookup_key_id().to_owned(),
        ..RotationReport::default()
    };
    let columns = sealed_columns();
    let passes = columns.iter().map(SealedColumns::pass).chain(other_passes());
    for pass in passes {
        let rotated = run_pass(pool, keyring, &pass).await?;
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
        let rows: Vec<Row> = sqlx::query_as(&pass.select).bind(active).bind(BATCH).fetch_all(&mut *tx).await?;
        if rows.is_empty() {
            return Ok(rotated);
        }
        for row in &rows {
            let rewritten = (pass.rewrite)(keyring, row).map_err(|source| RotationError::Row {
                table: pass.table,
                id: row.row_id,
                source,
            })?;
            sqlx::query(&pass.update)
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

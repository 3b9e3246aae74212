//! Applying one batch of records in the caller's tenant transaction, through the same order,
//! customer and catalogue code the webhooks and the merchant API use.
//!
//! Order rows are grouped by order id (the rows of one order are its line items) and each order
//! is applied once. A row counts as imported when its order, customer, lines or product changed,
//! and as skipped when applying it changed nothing, so uploading the same file again imports
//! nothing and touches no row.
//!
//! A batch is first applied straight through. If an order or product fails for a reason of its
//! own (a constraint, a stored customer that no longer opens), the batch is rolled back and
//! applied again with a savepoint around each order or product, so the failing ones become row
//! errors and the others go in. A failure of the database itself fails the batch, to be retried.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use recete_imports::{Consent, OrderRow, OrderStatusValue, ProductRow};
use recete_knowledge::products::{self, ProductInput, Source};
use recete_knowledge::{Section, SectionKind};
use recete_shared::crypto::Keyring;
use recete_shared::customers::{EMAIL_LOOKUP_DOMAIN, PHONE_LOOKUP_DOMAIN, UpsertError};
use recete_shared::db::{self, Tx};
use recete_shared::events::{
    ConsentSnapshot, CustomerSnapshot, EventBody, EventKind, EventSource, FulfillmentSnapshot, LineItem,
    NormalizedEvent, OrderSnapshot,
};
use recete_shared::ids::{ImportId, MerchantId};
use recete_shared::imports::store::{self, BatchTally, NewRowError};
use recete_shared::imports::{ImportOptions, seal_error_row};
use recete_shared::orders::apply::{ApplyError, DeliveryFollowUps, EventContext, apply_order_with};
use recete_shared::tasks;

use super::reading::{Parsed, Record};

/// Everything a batch needs besides its records.
pub struct BatchContext<'a> {
    pub keyring: &'a Keyring,
    pub merchant: MerchantId,
    pub import: ImportId,
    /// `import:<id>`, for the audit trail.
    pub actor: &'a str,
    /// `csv:<id>`, the source of consent the file records.
    pub consent_source: &'a str,
    pub options: &'a ImportOptions,
    /// When the file was uploaded: the time of a consent the file gives no date for.
    pub uploaded_at: DateTime<Utc>,
    /// The country the file's phone numbers were read against, for matching failed rows.
    pub default_country: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// One order or product failed for a reason of its own; apply again with savepoints.
    #[error("line {line}: {reason}")]
    RowFailed { line: u64, reason: String },
    /// The database failed; the batch is retried as a whole.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// How a batch is applied: straight through, or each unit behind a savepoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Straight,
    Guarded,
}

/// Applies `records` and stores their failures; returns what they add to the import.
pub async fn apply_batch(
    tx: &mut Tx,
    ctx: &BatchContext<'_>,
    records: &[Record],
    mode: Mode,
) -> Result<BatchTally, BatchError> {
    let mut tally = BatchTally { records: records.len() as i64, ..BatchTally::default() };
    tally.bytes_done = records.iter().map(|record| record.bytes_read).max().unwrap_or(0) as i64;
    let mut failures: Vec<(u64, RowFailure<'_>)> = Vec::new();
    for unit in units(records) {
        let lines = unit.lines();
        if mode == Mode::Guarded {
            sqlx::query("SAVEPOINT import_unit").execute(&mut **tx).await?;
        }
        let outcome = match &unit {
            Unit::Order { rows, .. } => apply_order(tx, ctx, rows).await,
            Unit::Product(row) => apply_product(tx, ctx, row).await,
        };
        match outcome {
            Ok(changed) => {
                if mode == Mode::Guarded {
                    sqlx::query("RELEASE SAVEPOINT import_unit").execute(&mut **tx).await?;
                }
                let count = lines.len() as i64;
                if changed { tally.imported += count } else { tally.skipped += count }
            }
            Err(UnitError::Database(error)) if db::is_unavailable(&error) => return Err(error.into()),
            Err(error) => {
                let reason = error.reason();
                let line = lines.first().copied().unwrap_or_default();
                if mode == Mode::Straight {
                    return Err(BatchError::RowFailed { line, reason });
                }
                tracing::warn!(import = %ctx.import, line, %reason, "an imported row could not be stored");
                sqlx::query("ROLLBACK TO SAVEPOINT import_unit").execute(&mut **tx).await?;
                for line in lines {
                    failures.push((line, RowFailure::Stored(reason.clone())));
                }
            }
        }
    }
    for record in records {
        if let Parsed::Failed(error) = &record.parsed {
            failures.push((record.line, RowFailure::Parsed(error)));
        }
    }
    let fields_by_line: HashMap<u64, &[String]> =
        records.iter().map(|record| (record.line, record.fields.as_slice())).collect();
    for (line, failure) in &failures {
        let fields = fields_by_line.get(line).copied().unwrap_or_default();
        store_failure(tx, ctx, *line, failure, fields).await?;
    }
    tally.failed = failures.len() as i64;
    Ok(tally)
}

/// A record that did not go in: it did not parse, or storing it failed.
enum RowFailure<'a> {
    Parsed(&'a recete_imports::RowError),
    Stored(String),
}

/// Stores a failed row: its error as shown to the merchant, its raw fields sealed, and the
/// lookup hashes of every phone and email in it.
async fn store_failure(
    tx: &mut Tx,
    ctx: &BatchContext<'_>,
    line: u64,
    failure: &RowFailure<'_>,
    fields: &[String],
) -> Result<(), sqlx::Error> {
    let (column, value, message) = match failure {
        RowFailure::Parsed(error) => (error.column.as_deref(), error.value.as_deref(), error.message.clone()),
        RowFailure::Stored(reason) => (None, None, format!("could not be stored: {reason}")),
    };
    let subject_lookups = recete_shared::imports::subject_lookups(ctx.keyring, fields, ctx.default_country);
    let row_sealed = (!fields.is_empty()).then(|| seal_error_row(ctx.keyring, ctx.merchant, ctx.import, fields));
    store::insert_error(
        tx,
        ctx.merchant,
        ctx.import,
        &NewRowError {
            line: line as i64,
            column,
            value,
            message: &message,
            row_sealed,
            subject_lookups,
            lookup_key_id: ctx.keyring.active_lookup_key_id(),
        },
    )
    .await
}

/// What is applied as one: an order with all its rows in the batch, or one product.
enum Unit<'a> {
    Order { rows: Vec<&'a OrderRow> },
    Product(&'a ProductRow),
}

impl Unit<'_> {
    fn lines(&self) -> Vec<u64> {
        match self {
            Self::Order { rows } => rows.iter().map(|row| row.line).collect(),
            Self::Product(row) => vec![row.line],
        }
    }
}

/// The batch's orders in order of first appearance, each with all its rows, and its products.
fn units(records: &[Record]) -> Vec<Unit<'_>> {
    let mut units: Vec<Unit<'_>> = Vec::new();
    let mut order_positions: HashMap<&str, usize> = HashMap::new();
    for record in records {
        match &record.parsed {
            Parsed::Order(row) => match order_positions.get(row.order_id.as_str()) {
                Some(&position) => {
                    if let Unit::Order { rows } = &mut units[position] {
                        rows.push(row);
                    }
                }
                None => {
                    order_positions.insert(&row.order_id, units.len());
                    units.push(Unit::Order { rows: vec![row] });
                }
            },
            Parsed::Product(row) => units.push(Unit::Product(row)),
            Parsed::Failed { .. } => {}
        }
    }
    units
}

#[derive(Debug, thiserror::Error)]
enum UnitError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Order(ApplyError),
}

impl From<ApplyError> for UnitError {
    fn from(error: ApplyError) -> Self {
        match error {
            ApplyError::Database(error) | ApplyError::Customer(UpsertError::Database(error)) => Self::Database(error),
            other => Self::Order(other),
        }
    }
}

impl UnitError {
    /// Why, in words fit for the merchant: the constraint at fault, never the values.
    fn reason(&self) -> String {
        match self {
            Self::Database(sqlx::Error::Database(error)) => match error.constraint() {
                Some(constraint) => format!("the database refused it ({constraint})"),
                None => "the database refused it".into(),
            },
            Self::Database(_) => "the database refused it".into(),
            Self::Order(ApplyError::Customer(UpsertError::Crypto(_))) => {
                "the stored customer it names cannot be read".into()
            }
            Self::Order(error) => error.to_string(),
        }
    }
}

async fn apply_product(tx: &mut Tx, ctx: &BatchContext<'_>, row: &ProductRow) -> Result<bool, UnitError> {
    let mut sections = Vec::new();
    for (kind, text) in [
        (SectionKind::Usage, &row.usage),
        (SectionKind::Ingredients, &row.ingredients),
        (SectionKind::Warnings, &row.warnings),
    ] {
        if let Some(text) = text.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
            sections.push(Section { kind, heading: None, text: text.to_owned() });
        }
    }
    let input = ProductInput {
        sku: Some(row.sku.clone()),
        external_id: None,
        title: row.title.clone(),
        url: row.url.clone(),
        brand: None,
        description: row.description.clone(),
        sections,
    };
    let saved = products::upsert(tx, ctx.merchant, &input, Source::Csv).await?;
    if saved.knowledge_changed {
        tasks::schedule_embedding(tx, ctx.merchant, saved.id).await?;
    }
    Ok(saved.changed)
}

async fn apply_order(tx: &mut Tx, ctx: &BatchContext<'_>, rows: &[&OrderRow]) -> Result<bool, UnitError> {
    let Some(first) = rows.first() else {
        return Ok(false);
    };
    let occurred_at = match latest_date(rows) {
        Some(at) => at,
        // An undated row is never newer than what is stored: it fills in and moves forward only.
        None => stored_change_time(tx, ctx.merchant, &first.order_id).await?.unwrap_or(ctx.uploaded_at),
    };
    let customer = customer_snapshot(tx, ctx, rows).await?;
    let status = rows.iter().map(|row| row.status).max_by_key(|status| progress(*status)).unwrap_or(first.status);
    let order = OrderSnapshot {
        external_order_id: first.order_id.clone(),
        order_number: None,
        platform_status: Some(status.as_str().to_owned()),
        currency: rows.iter().find_map(|row| row.currency.clone()),
        total_minor: rows.iter().find_map(|row| row.total_minor),
        placed_at: rows.iter().find_map(|row| row.created_at),
        customer,
        items: line_items(rows),
        fulfillment: rows.iter().find_map(|row| row.delivered_at).map(|delivered_at| FulfillmentSnapshot {
            delivered_at: Some(delivered_at),
            ..FulfillmentSnapshot::default()
        }),
    };
    let event = NormalizedEvent {
        source: EventSource::Csv,
        kind: event_kind(status),
        topic: format!("csv:orders:{}", status.as_str()),
        dedup_key: format!("{}:{}", ctx.import, first.order_id),
        platform_event_id: None,
        occurred_at,
        body: EventBody::Order(Box::new(order)),
    };
    let event_ctx = EventContext {
        keyring: ctx.keyring,
        actor: ctx.actor,
        merchant_id: ctx.merchant,
        integration_id: None,
        event_id: None,
    };
    let on_delivery = if ctx.options.plan_followups { DeliveryFollowUps::Plan } else { DeliveryFollowUps::Skip };
    let outcome = apply_order_with(tx, &event_ctx, &event, on_delivery).await?;
    Ok(outcome.changed)
}

/// How far along the happy path a status is; a cancellation or refund outranks every step of it.
fn progress(status: OrderStatusValue) -> u8 {
    match status {
        OrderStatusValue::Created => 0,
        OrderStatusValue::Paid => 1,
        OrderStatusValue::Fulfilled => 2,
        OrderStatusValue::Delivered => 3,
        OrderStatusValue::Cancelled => 4,
        OrderStatusValue::Refunded => 5,
    }
}

fn event_kind(status: OrderStatusValue) -> EventKind {
    match status {
        OrderStatusValue::Created => EventKind::OrderCreated,
        OrderStatusValue::Paid => EventKind::OrderPaid,
        OrderStatusValue::Fulfilled => EventKind::OrderFulfilled,
        OrderStatusValue::Delivered => EventKind::OrderDelivered,
        OrderStatusValue::Cancelled => EventKind::OrderCancelled,
        OrderStatusValue::Refunded => EventKind::OrderRefunded,
    }
}

/// The order's own latest time: its delivery, fulfilment or creation.
fn latest_date(rows: &[&OrderRow]) -> Option<DateTime<Utc>> {
    rows.iter().flat_map(|row| [row.created_at, row.fulfilled_at, row.delivered_at]).flatten().max()
}

async fn stored_change_time(
    tx: &mut Tx,
    merchant: MerchantId,
    order_id: &str,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let stored: Option<Option<DateTime<Utc>>> =
        sqlx::query_scalar("SELECT source_updated_at FROM orders WHERE merchant_id = $1 AND external_order_id = $2")
            .bind(merchant)
            .bind(order_id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(stored.flatten())
}

/// The order's lines, one per SKU (or title when a row has no SKU); rows repeating a product
/// add up their quantities.
fn line_items(rows: &[&OrderRow]) -> Vec<LineItem> {
    let mut items: Vec<LineItem> = Vec::new();
    for row in rows {
        let line_key = match (&row.sku, &row.product_title) {
            (Some(sku), _) => format!("sku:{sku}"),
            (None, Some(title)) => format!("title:{}", title.trim().to_lowercase()),
            (None, None) => continue,
        };
        let quantity = i32::try_from(row.quantity).unwrap_or(i32::MAX);
        match items.iter_mut().find(|item| item.line_key == line_key) {
            Some(item) => item.quantity = item.quantity.saturating_add(quantity),
            None => items.push(LineItem {
                line_key,
                external_product_id: None,
                sku: row.sku.clone(),
                title: row.product_title.clone().or_else(|| row.sku.clone()).unwrap_or_default(),
                quantity,
                unit_price_minor: None,
                product_url: row.product_url.clone(),
            }),
        }
    }
    items
}

/// The customer the rows name, with the consent they give.
///
/// A consent with its own date is applied as of that date, so an older file never overrides a
/// newer choice. A consent without a date is taken as of the upload, but never overrides a
/// choice the customer made on WhatsApp (STOP, START): a spreadsheet's "yes" is weaker than
/// the customer's own word.
async fn customer_snapshot(
    tx: &mut Tx,
    ctx: &BatchContext<'_>,
    rows: &[&OrderRow],
) -> Result<Option<CustomerSnapshot>, sqlx::Error> {
    let email = rows.iter().find_map(|row| row.email.clone());
    let phone = rows.iter().find_map(|row| row.phone.clone());
    let external_id = rows.iter().find_map(|row| row.customer_external_id.clone());
    if email.is_none() && phone.is_none() && external_id.is_none() {
        return Ok(None);
    }
    let consent_row = rows.iter().find(|row| row.whatsapp_consent != Consent::Unknown);
    let messaging_consent = match consent_row {
        None => None,
        Some(row) if row.consent_at.is_none() && chose_on_whatsapp(tx, ctx, &phone, &email).await? => None,
        Some(row) => Some(ConsentSnapshot {
            granted: row.whatsapp_consent == Consent::Granted,
            source: ctx.consent_source.to_owned(),
            recorded_at: Some(row.consent_at.unwrap_or(ctx.uploaded_at)),
        }),
    };
    Ok(Some(CustomerSnapshot {
        external_id,
        name: rows.iter().find_map(|row| row.name.clone()),
        email,
        phone,
        country_code: rows.iter().find_map(|row| row.country.clone()),
        messaging_consent,
    }))
}

/// Whether the customer with this phone or email last set their consent on WhatsApp.
async fn chose_on_whatsapp(
    tx: &mut Tx,
    ctx: &BatchContext<'_>,
    phone: &Option<String>,
    email: &Option<String>,
) -> Result<bool, sqlx::Error> {
    let phone_lookup = phone.as_deref().map(|phone| ctx.keyring.lookup_hashes(PHONE_LOOKUP_DOMAIN, phone));
    let email_lookup = email.as_deref().map(|email| ctx.keyring.lookup_hashes(EMAIL_LOOKUP_DOMAIN, email));
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM customers WHERE merchant_id = $1
             AND (phone_lookup = ANY($2) OR email_lookup = ANY($3))
             AND consent_source LIKE 'whatsapp:%')",
    )
    .bind(ctx.merchant)
    .bind(phone_lookup)
    .bind(email_lookup)
    .fetch_one(&mut **tx)
    .await
}

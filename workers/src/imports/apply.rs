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
use recete_imports::{
    Consent, CustomerRow, ImportedOrder, OrderStatusValue, ProductRow, Profile, assemble_order, group_orders,
};
use recete_knowledge::products::{self, ProductInput, Source};
use recete_knowledge::{Section, SectionKind};
use recete_platform::crypto::Keyring;
use recete_platform::db::{self, Tx};
use recete_platform::ids::{ImportId, MerchantId};
use recete_shared::customers::{self, EMAIL_LOOKUP_DOMAIN, PHONE_LOOKUP_DOMAIN, Provenance, UpsertError, lookup};
use recete_shared::events::{
    ConsentSnapshot, CustomerSnapshot, EventBody, EventKind, EventSource, FulfillmentSnapshot, LineItem,
    NormalizedEvent, OrderSnapshot,
};
use recete_shared::imports::store::{self, BatchTally, NewRowError};
use recete_shared::imports::{ImportOptions, seal_error_row};
use recete_shared::orders;
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
    /// The origin the file's header was recognised as: how its rows make orders.
    pub profile: Profile,
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

/// The savepoint each unit of a guarded batch is applied under.
const SAVEPOINT: &str = "import_unit";

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
    let (units, unassembled) = units(records, ctx.profile);
    for error in unassembled {
        failures.push((error.line, RowFailure::Grouped(error)));
    }
    for unit in units {
        let lines = unit.lines();
        if mode == Mode::Guarded {
            db::savepoint(tx, SAVEPOINT).await?;
        }
        let outcome = match &unit {
            Unit::Order(order) => apply_order(tx, ctx, order).await,
            Unit::Product(row) => apply_product(tx, ctx, row).await,
            Unit::Customer(row) => apply_customer(tx, ctx, row).await,
        };
        match outcome {
            Ok(changed) => {
                if mode == Mode::Guarded {
                    db::release_savepoint(tx, SAVEPOINT).await?;
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
                db::rollback_to_savepoint(tx, SAVEPOINT).await?;
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

/// A record that did not go in: it did not parse, its order's rows disagree, or storing it failed.
enum RowFailure<'a> {
    Parsed(&'a recete_imports::RowError),
    Grouped(recete_imports::RowError),
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
        RowFailure::Grouped(error) => (error.column.as_deref(), error.value.as_deref(), error.message.clone()),
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

/// What is applied as one: an order with all its rows in the batch, one product or one customer.
enum Unit<'a> {
    Order(Box<ImportedOrder>),
    Product(&'a ProductRow),
    Customer(&'a CustomerRow),
}

impl Unit<'_> {
    fn lines(&self) -> Vec<u64> {
        match self {
            Self::Order(order) => order.lines.clone(),
            Self::Product(row) => vec![row.line],
            Self::Customer(row) => vec![row.line],
        }
    }
}

/// The batch's orders (each with all its rows, put together) in order of first appearance, then
/// its products and customers; and the errors of the rows whose order could not be put together.
fn units(records: &[Record], profile: Profile) -> (Vec<Unit<'_>>, Vec<recete_imports::RowError>) {
    let mut units: Vec<Unit<'_>> = Vec::new();
    let mut errors = Vec::new();
    let order_rows = records.iter().filter_map(|record| match &record.parsed {
        Parsed::Order(row) => Some(row.as_ref()),
        _ => None,
    });
    for group in group_orders(order_rows) {
        match assemble_order(&group, profile) {
            Ok(order) => units.push(Unit::Order(Box::new(order))),
            Err(failures) => errors.extend(failures),
        }
    }
    for record in records {
        match &record.parsed {
            Parsed::Product(row) => units.push(Unit::Product(row)),
            Parsed::Customer(row) => units.push(Unit::Customer(row)),
            Parsed::Order(_) | Parsed::Failed(_) => {}
        }
    }
    (units, errors)
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

async fn apply_order(tx: &mut Tx, ctx: &BatchContext<'_>, order: &ImportedOrder) -> Result<bool, UnitError> {
    let occurred_at = match order.latest_date() {
        Some(at) => at,
        // An undated row is never newer than what is stored: it fills in and moves forward only.
        None => orders::read::source_updated_at(tx, ctx.merchant, &order.order_id).await?.unwrap_or(ctx.uploaded_at),
    };
    let contact = Contact {
        external_id: order.customer_external_id.clone(),
        name: order.name.clone(),
        email: order.email.clone(),
        phone: order.phone.clone(),
        country: order.country.clone(),
        consent: order.whatsapp_consent,
        consent_at: order.consent_at,
    };
    let customer = customer_snapshot(tx, ctx, &contact).await?;
    let snapshot = OrderSnapshot {
        external_order_id: order.order_id.clone(),
        order_number: order.order_number.clone(),
        platform_status: Some(order.platform_status.clone().unwrap_or_else(|| order.status.as_str().to_owned())),
        currency: order.currency.clone(),
        total_minor: order.total_minor,
        placed_at: order.created_at,
        customer,
        items: order
            .items
            .iter()
            .map(|item| LineItem {
                line_key: item.line_key.clone(),
                external_product_id: None,
                sku: item.sku.clone(),
                title: item.title.clone(),
                quantity: i32::try_from(item.quantity).unwrap_or(i32::MAX),
                unit_price_minor: item.unit_price_minor,
                product_url: item.product_url.clone(),
            })
            .collect(),
        fulfillment: order.delivered_at.map(|delivered_at| FulfillmentSnapshot {
            delivered_at: Some(delivered_at),
            ..FulfillmentSnapshot::default()
        }),
    };
    let event = NormalizedEvent {
        source: EventSource::Csv,
        kind: event_kind(order.status),
        topic: format!("csv:orders:{}", order.status.as_str()),
        dedup_key: format!("{}:{}", ctx.import, order.order_id),
        platform_event_id: None,
        occurred_at,
        body: EventBody::Order(Box::new(snapshot)),
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

/// A customer of a customers file: stored or updated like the customer of an order, with the
/// consent the file gives.
async fn apply_customer(tx: &mut Tx, ctx: &BatchContext<'_>, row: &CustomerRow) -> Result<bool, UnitError> {
    let contact = Contact {
        external_id: row.external_id.clone(),
        name: row.name.clone(),
        email: row.email.clone(),
        phone: row.phone.clone(),
        country: row.country.clone(),
        consent: row.whatsapp_consent,
        consent_at: row.consent_at,
    };
    let Some(snapshot) = customer_snapshot(tx, ctx, &contact).await? else {
        return Ok(false);
    };
    let provenance = Provenance { actor: ctx.actor, event_id: None, occurred_at: ctx.uploaded_at };
    let saved =
        customers::upsert_from_snapshot(tx, ctx.keyring, ctx.merchant, &snapshot, ctx.default_country, &provenance)
            .await
            .map_err(|error| UnitError::from(ApplyError::Customer(error)))?;
    Ok(saved.is_some_and(|saved| saved.changed))
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

/// The customer columns of an order or a customers row.
struct Contact {
    external_id: Option<String>,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    country: Option<String>,
    consent: Consent,
    consent_at: Option<DateTime<Utc>>,
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
    contact: &Contact,
) -> Result<Option<CustomerSnapshot>, sqlx::Error> {
    let Contact { external_id, name, email, phone, country, consent, consent_at } = contact;
    if email.is_none() && phone.is_none() && external_id.is_none() {
        return Ok(None);
    }
    let messaging_consent = match consent {
        Consent::Unknown => None,
        _ if consent_at.is_none() && chose_on_whatsapp(tx, ctx, phone, email).await? => None,
        _ => Some(ConsentSnapshot {
            granted: *consent == Consent::Granted,
            source: ctx.consent_source.to_owned(),
            recorded_at: Some(consent_at.unwrap_or(ctx.uploaded_at)),
        }),
    };
    Ok(Some(CustomerSnapshot {
        external_id: external_id.clone(),
        name: name.clone(),
        email: email.clone(),
        phone: phone.clone(),
        country_code: country.clone(),
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
    lookup::consent_set_on_whatsapp(tx, ctx.merchant, phone_lookup.as_deref(), email_lookup.as_deref()).await
}

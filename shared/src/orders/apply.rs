//! Applying one normalized commerce event to the customer, the order and its items, inside the
//! caller's transaction, so the effect commits together with the event being marked processed.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::FromRow;

use super::{OrderStatus, resume};
use crate::audit::{self, AuditEntry};
use crate::consent::ConsentChange;
use crate::customers::{self, Provenance, UpsertError};
use crate::events::{EventBody, LineItem, NormalizedEvent, OrderSnapshot};
use crate::followups::planning::{self, Delivery, PlanOutcome};
use crate::merchants;
use recete_platform::crypto::Keyring;
use recete_platform::db::Tx;
use recete_platform::ids::{CustomerId, EventId, IntegrationId, MerchantId, OrderId};

pub struct EventContext<'a> {
    pub keyring: &'a Keyring,
    /// Who acts, for the audit trail (`worker:order-events`).
    pub actor: &'a str,
    pub merchant_id: MerchantId,
    pub integration_id: Option<IntegrationId>,
    /// The stored event being applied; `None` for changes that come from no event (a CSV import).
    pub event_id: Option<EventId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Created { order_id: OrderId, status: OrderStatus },
    StatusChanged { order_id: OrderId, from: OrderStatus, to: OrderStatus },
    Unchanged { order_id: OrderId },
}

impl Applied {
    pub fn order_id(&self) -> OrderId {
        match self {
            Self::Created { order_id, .. } | Self::StatusChanged { order_id, .. } | Self::Unchanged { order_id } => {
                *order_id
            }
        }
    }
}

/// Whether a delivery plans the merchant's follow-ups. A cancellation or refund ends pending
/// follow-ups either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryFollowUps {
    Plan,
    Skip,
}

/// What applying an order did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderOutcome {
    pub applied: Applied,
    /// Whether any row (customer, order, line, product) was written. Rows that would not change
    /// are not written, so their `updated_at` stays put.
    pub changed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("the event is not an order event")]
    NotAnOrderEvent,
    #[error(transparent)]
    Customer(#[from] UpsertError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("order row holds an unknown status: {0}")]
    CorruptStatus(String),
}

#[derive(FromRow)]
struct ExistingOrder {
    id: OrderId,
    status: String,
    source_updated_at: Option<DateTime<Utc>>,
    customer_id: Option<CustomerId>,
}

/// The column that records when an order reached `status`.
fn timestamp_column(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Created => "placed_at",
        OrderStatus::Paid => "paid_at",
        OrderStatus::Fulfilled => "fulfilled_at",
        OrderStatus::Delivered => "delivered_at",
        OrderStatus::Cancelled => "cancelled_at",
        OrderStatus::Refunded => "refunded_at",
    }
}

/// When the event says the order reached `status`: a carrier's delivery time where there is one.
fn reached_at(status: OrderStatus, event: &NormalizedEvent, order: &OrderSnapshot) -> DateTime<Utc> {
    match status {
        OrderStatus::Delivered => order.fulfillment.as_ref().and_then(|f| f.delivered_at).unwrap_or(event.occurred_at),
        OrderStatus::Created => order.placed_at.unwrap_or(event.occurred_at),
        _ => event.occurred_at,
    }
}

pub async fn apply_order_event(
    tx: &mut Tx,
    ctx: &EventContext<'_>,
    event: &NormalizedEvent,
) -> Result<Applied, ApplyError> {
    Ok(apply_order_with(tx, ctx, event, DeliveryFollowUps::Plan).await?.applied)
}

/// Applies an order event, planning follow-ups on delivery only when `on_delivery` says so.
pub async fn apply_order_with(
    tx: &mut Tx,
    ctx: &EventContext<'_>,
    event: &NormalizedEvent,
    on_delivery: DeliveryFollowUps,
) -> Result<OrderOutcome, ApplyError> {
    let EventBody::Order(order) = &event.body else {
        return Err(ApplyError::NotAnOrderEvent);
    };
    let settings = merchants::settings(tx, ctx.merchant_id).await?;
    let phone_country = settings.phone_country(merchants::timezone(tx, ctx.merchant_id).await?.as_deref());
    let customer = match &order.customer {
        Some(snapshot) => {
            let provenance = Provenance { actor: ctx.actor, event_id: ctx.event_id, occurred_at: event.occurred_at };
            customers::upsert_from_snapshot(
                tx,
                ctx.keyring,
                ctx.merchant_id,
                snapshot,
                phone_country.as_ref().map(|country| country.code.as_str()),
                &provenance,
            )
            .await?
        }
        None => None,
    };
    let customer_id = customer.map(|customer| customer.id);
    let target = OrderStatus::target_of(event.kind);
    let (applied, order_changed, attached) = match lock_order(tx, ctx.merchant_id, &order.external_order_id).await? {
        Some(existing) => update_order(tx, ctx, event, order, existing, target, customer_id).await?,
        None => match insert_order(tx, ctx, event, order, target.unwrap_or(OrderStatus::Created), customer_id).await? {
            Some(applied) => (applied, true, false),
            // Created by a concurrent event a moment ago: apply to that row instead.
            None => {
                let existing = lock_order(tx, ctx.merchant_id, &order.external_order_id)
                    .await?
                    .ok_or_else(|| sqlx::Error::Protocol("order vanished after a conflicting insert".into()))?;
                update_order(tx, ctx, event, order, existing, target, customer_id).await?
            }
        },
    };
    if let Applied::Created { order_id, status } | Applied::StatusChanged { order_id, to: status, .. } = &applied {
        let skip_planning = *status == OrderStatus::Delivered && on_delivery == DeliveryFollowUps::Skip;
        if !skip_planning {
            follow_status(tx, ctx, *order_id, *status, reached_at(*status, event, order), &settings).await?;
        }
    }
    // Events of one order arrive in any order: a delivery applied before the event that names
    // the customer, or grants their consent, is planned when that event comes.
    if customer.is_some_and(|customer| attached || customer.consent_granted) && on_delivery == DeliveryFollowUps::Plan {
        plan_unplanned_delivery(tx, ctx, applied.order_id(), &settings).await?;
    }
    // Consent granted again after an opt-out gives back the follow-ups the opt-out cancelled.
    if let Some(customer) = customer.filter(|customer| customer.consent_granted)
        && on_delivery == DeliveryFollowUps::Plan
    {
        let source = order.customer.as_ref().and_then(|c| c.messaging_consent.as_ref()).map(|c| c.source.as_str());
        let grant = ConsentChange {
            merchant_id: ctx.merchant_id,
            customer_id: customer.id,
            granted: true,
            source: source.unwrap_or("store"),
            at: event.occurred_at,
            actor: ctx.actor,
            event_id: ctx.event_id,
        };
        resume::after_consent_granted(tx, &grant, Utc::now()).await?;
    }
    let changed = order_changed || customer.is_some_and(|customer| customer.changed);
    Ok(OrderOutcome { applied, changed })
}

/// Plans the order's follow-ups when it is delivered to a known customer and its follow-ups
/// were never planned, because the delivery was applied before the event that named the
/// customer. Called when a change enables planning (the order gaining its customer, the
/// customer's consent becoming granted), so the plan is the one the delivery would have made
/// had the events arrived in the store's order; a stale delivery plans nothing. Returns whether
/// steps were planned.
pub async fn plan_unplanned_delivery(
    tx: &mut Tx,
    ctx: &EventContext<'_>,
    order_id: OrderId,
    settings: &merchants::MerchantSettings,
) -> Result<bool, sqlx::Error> {
    let (status, customer_id, delivered_at): (String, Option<CustomerId>, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT status, customer_id, delivered_at FROM orders WHERE id = $1")
            .bind(order_id)
            .fetch_one(&mut **tx)
            .await?;
    let (Some(customer_id), Some(delivered_at)) = (customer_id, delivered_at) else {
        return Ok(false);
    };
    if status != OrderStatus::Delivered.as_str() || planning::ever_planned(tx, order_id).await? {
        return Ok(false);
    }
    let delivery = Delivery {
        merchant_id: ctx.merchant_id,
        order_id,
        customer_id: Some(customer_id),
        delivered_at,
        actor: ctx.actor,
        event_id: ctx.event_id,
    };
    // A stale delivery plans nothing, and says so, as it would have when it was applied.
    let outcome = planning::plan_after_delivery(tx, &delivery, settings, Utc::now()).await?;
    Ok(matches!(outcome, PlanOutcome::Planned { steps } if steps > 0))
}

/// What a new status means for follow-ups: delivery plans them, cancellation and refund end them.
pub async fn follow_status(
    tx: &mut Tx,
    ctx: &EventContext<'_>,
    order_id: OrderId,
    status: OrderStatus,
    reached_at: DateTime<Utc>,
    settings: &merchants::MerchantSettings,
) -> Result<(), sqlx::Error> {
    match status {
        OrderStatus::Delivered => {
            let customer_id: Option<CustomerId> = sqlx::query_scalar("SELECT customer_id FROM orders WHERE id = $1")
                .bind(order_id)
                .fetch_one(&mut **tx)
                .await?;
            let delivery = Delivery {
                merchant_id: ctx.merchant_id,
                order_id,
                customer_id,
                delivered_at: reached_at,
                actor: ctx.actor,
                event_id: ctx.event_id,
            };
            planning::plan_after_delivery(tx, &delivery, settings, Utc::now()).await?;
        }
        OrderStatus::Cancelled => {
            planning::cancel_for_order(tx, order_id, "order cancelled").await?;
        }
        OrderStatus::Refunded => {
            planning::cancel_for_order(tx, order_id, "order refunded").await?;
        }
        OrderStatus::Created | OrderStatus::Paid | OrderStatus::Fulfilled => {}
    }
    Ok(())
}

async fn lock_order(
    tx: &mut Tx,
    merchant: MerchantId,
    external_order_id: &str,
) -> Result<Option<ExistingOrder>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, status, source_updated_at, customer_id FROM orders
         WHERE merchant_id = $1 AND external_order_id = $2 FOR UPDATE",
    )
    .bind(merchant)
    .bind(external_order_id)
    .fetch_optional(&mut **tx)
    .await
}

async fn insert_order(
    tx: &mut Tx,
    ctx: &EventContext<'_>,
    event: &NormalizedEvent,
    order: &OrderSnapshot,
    status: OrderStatus,
    customer_id: Option<CustomerId>,
) -> Result<Option<Applied>, ApplyError> {
    let order_id = OrderId::generate();
    let reached = reached_at(status, event, order);
    let inserted = sqlx::query(&format!(
        "INSERT INTO orders (id, merchant_id, customer_id, integration_id, external_order_id, status, currency,
             total_minor, placed_at, source_updated_at, {column}, order_number)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT ON CONSTRAINT orders_merchant_id_external_order_id_key DO NOTHING",
        column = if status == OrderStatus::Created { "created_at" } else { timestamp_column(status) },
    ))
    .bind(order_id)
    .bind(ctx.merchant_id)
    .bind(customer_id)
    .bind(ctx.integration_id)
    .bind(&order.external_order_id)
    .bind(status.as_str())
    .bind(&order.currency)
    .bind(order.total_minor)
    .bind(order.placed_at.or((status == OrderStatus::Created).then_some(reached)))
    .bind(event.occurred_at)
    .bind(if status == OrderStatus::Created { Utc::now() } else { reached })
    .bind(&order.order_number)
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(None);
    }
    upsert_items(tx, ctx.merchant_id, order_id, &order.items).await?;
    audit::record(
        tx,
        AuditEntry {
            merchant_id: Some(ctx.merchant_id),
            actor: ctx.actor,
            action: "order.created",
            subject_type: "order",
            subject_id: order_id.to_string(),
            event_id: ctx.event_id,
            before: None,
            after: Some(json!({ "status": status.as_str(), "external_order_id": order.external_order_id })),
        },
    )
    .await?;
    Ok(Some(Applied::Created { order_id, status }))
}

async fn update_order(
    tx: &mut Tx,
    ctx: &EventContext<'_>,
    event: &NormalizedEvent,
    order: &OrderSnapshot,
    existing: ExistingOrder,
    target: Option<OrderStatus>,
    customer_id: Option<CustomerId>,
) -> Result<(Applied, bool, bool), ApplyError> {
    // The order gains the customer an earlier-applied event could not name.
    let attached = existing.customer_id.is_none() && customer_id.is_some();
    let current: OrderStatus = existing.status.parse().map_err(ApplyError::CorruptStatus)?;
    // Newer in the platform's own time than every change applied so far.
    let is_newer = existing.source_updated_at.is_none_or(|applied| event.occurred_at > applied);
    let next = target.and_then(|target| current.next(target, is_newer));
    let changed = if is_newer {
        let updated = sqlx::query(
            "UPDATE orders SET currency = coalesce($2, currency), total_minor = coalesce($3, total_minor),
                 placed_at = coalesce(placed_at, $4), customer_id = coalesce($5, customer_id), source_updated_at = $6,
                 order_number = coalesce($7, order_number)
             WHERE id = $1",
        )
        .bind(existing.id)
        .bind(&order.currency)
        .bind(order.total_minor)
        .bind(order.placed_at)
        .bind(customer_id)
        .bind(event.occurred_at)
        .bind(&order.order_number)
        .execute(&mut **tx)
        .await?;
        let items = upsert_items(tx, ctx.merchant_id, existing.id, &order.items).await?;
        updated.rows_affected() > 0 || items > 0
    } else {
        // An older event never overwrites newer data, but fills what is still missing (the
        // full order may arrive after a fulfilment that carried only its id). The row is
        // written only when something is missing.
        let filled = sqlx::query(
            "UPDATE orders SET currency = coalesce(currency, $2), total_minor = coalesce(total_minor, $3),
                 placed_at = coalesce(placed_at, $4), customer_id = coalesce(customer_id, $5),
                 order_number = coalesce(order_number, $6)
             WHERE id = $1
               AND ((currency IS NULL AND $2::text IS NOT NULL) OR (total_minor IS NULL AND $3::bigint IS NOT NULL)
                    OR (placed_at IS NULL AND $4::timestamptz IS NOT NULL) OR (customer_id IS NULL AND $5::uuid IS NOT NULL)
                    OR (order_number IS NULL AND $6::text IS NOT NULL))",
        )
        .bind(existing.id)
        .bind(&order.currency)
        .bind(order.total_minor)
        .bind(order.placed_at)
        .bind(customer_id)
        .bind(&order.order_number)
        .execute(&mut **tx)
        .await?;
        let items = insert_missing_items(tx, ctx.merchant_id, existing.id, &order.items).await?;
        filled.rows_affected() > 0 || items > 0
    };
    let Some(next) = next else {
        return Ok((Applied::Unchanged { order_id: existing.id }, changed, attached));
    };
    sqlx::query(&format!(
        "UPDATE orders SET status = $2, {column} = coalesce({column}, $3) WHERE id = $1",
        column = timestamp_column(next)
    ))
    .bind(existing.id)
    .bind(next.as_str())
    .bind(reached_at(next, event, order))
    .execute(&mut **tx)
    .await?;
    audit::record(
        tx,
        AuditEntry {
            merchant_id: Some(ctx.merchant_id),
            actor: ctx.actor,
            action: "order.status_changed",
            subject_type: "order",
            subject_id: existing.id.to_string(),
            event_id: ctx.event_id,
            before: Some(json!({ "status": current.as_str() })),
            after: Some(json!({ "status": next.as_str() })),
        },
    )
    .await?;
    Ok((Applied::StatusChanged { order_id: existing.id, from: current, to: next }, true, attached))
}

/// Lines are keyed by the platform's line id, so a re-sent order updates its lines in place.
/// Returns how many lines were written.
async fn upsert_items(
    tx: &mut Tx,
    merchant: MerchantId,
    order_id: OrderId,
    items: &[LineItem],
) -> Result<u64, sqlx::Error> {
    write_items(tx, merchant, order_id, items, true).await
}

/// Adds lines the order does not have yet, leaving existing lines as newer events wrote them.
async fn insert_missing_items(
    tx: &mut Tx,
    merchant: MerchantId,
    order_id: OrderId,
    items: &[LineItem],
) -> Result<u64, sqlx::Error> {
    write_items(tx, merchant, order_id, items, false).await
}

async fn write_items(
    tx: &mut Tx,
    merchant: MerchantId,
    order_id: OrderId,
    items: &[LineItem],
    overwrite: bool,
) -> Result<u64, sqlx::Error> {
    // A line that would not change is not written.
    let on_conflict = if overwrite {
        "DO UPDATE SET product_id = coalesce(EXCLUDED.product_id, order_items.product_id), sku = EXCLUDED.sku,
             title = EXCLUDED.title, quantity = EXCLUDED.quantity, unit_price_minor = EXCLUDED.unit_price_minor
         WHERE (order_items.product_id, order_items.sku, order_items.title, order_items.quantity,
                order_items.unit_price_minor)
               IS DISTINCT FROM (coalesce(EXCLUDED.product_id, order_items.product_id), EXCLUDED.sku, EXCLUDED.title,
                EXCLUDED.quantity, EXCLUDED.unit_price_minor)"
    } else {
        "DO NOTHING"
    };
    let keys = line_keys(tx, order_id, items).await?;
    let mut written = 0;
    for (item, line_key) in items.iter().zip(keys) {
        let product_id = match item.external_product_id.as_deref().or(item.sku.as_deref()) {
            Some(_) => Some(upsert_product(tx, merchant, item).await?),
            None => None,
        }
        .flatten();
        let inserted = sqlx::query(&format!(
            "INSERT INTO order_items (id, merchant_id, order_id, product_id, line_key, sku, title, quantity, unit_price_minor)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT ON CONSTRAINT order_items_order_id_line_key_key {on_conflict}"
        ))
        .bind(uuid::Uuid::now_v7())
        .bind(merchant)
        .bind(order_id)
        .bind(product_id)
        .bind(&line_key)
        .bind(&item.sku)
        .bind(if item.title.is_empty() { "(untitled)" } else { item.title.as_str() })
        .bind(item.quantity.max(1))
        .bind(item.unit_price_minor)
        .execute(&mut **tx)
        .await?;
        written += inserted.rows_affected();
    }
    Ok(written)
}

/// Whether a line key is a file's (`sku:<sku>` or `title:<title>`, what an imported row is
/// known by) rather than the store's own line id.
fn is_file_line_key(key: &str) -> bool {
    key.starts_with("sku:") || key.starts_with("title:")
}

/// The key each line is stored under. An order imported from a store's export and later sent by
/// the store's webhooks (or the other way round) names the same lines twice: by SKU or title in
/// the file, by line id in the webhook. A file's line takes the key of the store's line for the
/// same product, and a store's line takes over the file's line (re-keyed here), so the order
/// keeps one line per product whichever came first.
async fn line_keys(tx: &mut Tx, order_id: OrderId, items: &[LineItem]) -> Result<Vec<String>, sqlx::Error> {
    let stored: Vec<(String, Option<String>, String)> =
        sqlx::query_as("SELECT line_key, sku, lower(title) FROM order_items WHERE order_id = $1")
            .bind(order_id)
            .fetch_all(&mut **tx)
            .await?;
    let mut keys = Vec::with_capacity(items.len());
    for item in items {
        let same_product = |(_, sku, title): &&(String, Option<String>, String)| match &item.sku {
            Some(wanted) => sku.as_ref() == Some(wanted),
            None => sku.is_none() && *title == item.title.trim().to_lowercase(),
        };
        let stored_key = |file_keyed: bool| {
            stored
                .iter()
                .filter(|(key, _, _)| is_file_line_key(key) == file_keyed && *key != item.line_key)
                .find(same_product)
                .map(|(key, _, _)| key.clone())
        };
        let already = stored.iter().any(|(key, _, _)| *key == item.line_key);
        if is_file_line_key(&item.line_key) {
            keys.push(if already { None } else { stored_key(false) }.unwrap_or_else(|| item.line_key.clone()));
            continue;
        }
        if let Some(file_key) = stored_key(true).filter(|_| !already) {
            sqlx::query("UPDATE order_items SET line_key = $3 WHERE order_id = $1 AND line_key = $2")
                .bind(order_id)
                .bind(&file_key)
                .bind(&item.line_key)
                .execute(&mut **tx)
                .await?;
        }
        keys.push(item.line_key.clone());
    }
    Ok(keys)
}

/// The catalogue learns products from the orders that name them; scraping fills in the rest.
/// Looked up before inserting: many orders name one product, and concurrent inserts of the same
/// row would make every one of them wait for the first to commit.
async fn upsert_product(tx: &mut Tx, merchant: MerchantId, item: &LineItem) -> Result<Option<uuid::Uuid>, sqlx::Error> {
    let find = "SELECT id FROM products WHERE merchant_id = $1 AND (external_id = $2 OR sku = $3)
                ORDER BY (external_id = $2) IS TRUE DESC LIMIT 1";
    let existing: Option<uuid::Uuid> = sqlx::query_scalar(find)
        .bind(merchant)
        .bind(&item.external_product_id)
        .bind(&item.sku)
        .fetch_optional(&mut **tx)
        .await?;
    if existing.is_some() {
        return Ok(existing);
    }
    let inserted: Option<uuid::Uuid> = sqlx::query_scalar(
        "INSERT INTO products (id, merchant_id, external_id, sku, title, url)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(merchant)
    .bind(&item.external_product_id)
    .bind(&item.sku)
    .bind(if item.title.is_empty() { "(untitled)" } else { item.title.as_str() })
    .bind(&item.product_url)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(product_id) = inserted {
        // A new product's knowledge: its page when the order links one, else its name alone.
        match item.product_url.as_deref().filter(|url| url.starts_with("http://") || url.starts_with("https://")) {
            Some(url) => crate::tasks::schedule_scrape(tx, merchant, product_id, url).await?,
            None => crate::tasks::schedule_embedding(tx, merchant, product_id).await?,
        };
        return Ok(inserted);
    }
    sqlx::query_scalar(find)
        .bind(merchant)
        .bind(&item.external_product_id)
        .bind(&item.sku)
        .fetch_optional(&mut **tx)
        .await
}

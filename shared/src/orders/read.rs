//! Reading the merchant's orders: one page of the list (newest first, filtered), one order and its
//! items, and the few columns the workers read of one. Every function runs in the merchant's own transaction, so another merchant's order is
//! simply not found.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;
use uuid::Uuid;

use super::OrderStatus;
use recete_platform::db::Tx;
use recete_platform::ids::{MerchantId, OrderId};

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Order {
    pub id: Uuid,
    /// The store's own id of the order.
    pub external_order_id: String,
    /// The number the customer sees and quotes (`#1001`), when the store sent one.
    pub order_number: Option<String>,
    pub status: OrderStatus,
    pub customer_id: Option<Uuid>,
    /// The store connection the order came through; absent for imported orders.
    pub integration_id: Option<Uuid>,
    /// ISO 4217.
    pub currency: Option<String>,
    /// The total in the currency's minor unit (cents).
    pub total_minor: Option<i64>,
    pub placed_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub fulfilled_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub refunded_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Order {
    /// The key the list is sorted by: placed time, or first seen when the store gave none.
    pub fn sort_key(&self) -> (DateTime<Utc>, Uuid) {
        (self.placed_at.unwrap_or(self.created_at), self.id)
    }
}

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct OrderItem {
    pub id: Uuid,
    /// The catalogue product the line was matched to.
    pub product_id: Option<Uuid>,
    pub sku: Option<String>,
    pub title: String,
    pub quantity: i32,
    /// The price of one unit in the currency's minor unit.
    pub unit_price_minor: Option<i64>,
}

/// Which orders a list holds; every field left `None` filters nothing.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    /// Placed (or first seen) at or after.
    pub placed_from: Option<DateTime<Utc>>,
    /// Placed (or first seen) before.
    pub placed_to: Option<DateTime<Utc>>,
    pub delivered_from: Option<DateTime<Utc>>,
    pub delivered_to: Option<DateTime<Utc>>,
    pub customer_id: Option<Uuid>,
    /// Any of these customers (a search by phone or email may match more than one row).
    pub customer_ids: Option<Vec<Uuid>>,
    /// The store's own order id, exactly.
    pub external_order_id: Option<String>,
    /// The order number or the store's id, exactly or as their start (`#10` finds `#1001`); a
    /// leading `#` is optional.
    pub number: Option<String>,
}

const SELECT_ORDER: &str = "
    SELECT id, external_order_id, order_number, status, customer_id, integration_id, currency, total_minor,
           placed_at, paid_at, fulfilled_at, delivered_at, cancelled_at, refunded_at, created_at, updated_at
    FROM orders";

/// Up to `limit` orders matching `filter`, newest first, strictly after the sort key `after`.
pub async fn list(
    tx: &mut Tx,
    merchant: MerchantId,
    filter: &OrderFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<Order>, sqlx::Error> {
    let number = filter.number.as_deref().map(|n| n.trim().trim_start_matches('#')).filter(|n| !n.is_empty());
    sqlx::query_as(&format!(
        "{SELECT_ORDER}
         WHERE merchant_id = $1
           AND ($2::text IS NULL OR status = $2)
           AND ($3::timestamptz IS NULL OR coalesce(placed_at, created_at) >= $3)
           AND ($4::timestamptz IS NULL OR coalesce(placed_at, created_at) < $4)
           AND ($5::timestamptz IS NULL OR delivered_at >= $5)
           AND ($6::timestamptz IS NULL OR delivered_at < $6)
           AND ($7::uuid IS NULL OR customer_id = $7)
           AND ($8::text IS NULL OR external_order_id = $8)
           AND ($9::timestamptz IS NULL OR (coalesce(placed_at, created_at), id) < ($9, $10))
           AND ($12::text IS NULL
                OR starts_with(ltrim(coalesce(order_number, ''), '#'), $12)
                OR starts_with(external_order_id, $12))
           AND ($13::uuid[] IS NULL OR customer_id = ANY($13))
         ORDER BY coalesce(placed_at, created_at) DESC, id DESC
         LIMIT $11"
    ))
    .bind(merchant)
    .bind(filter.status)
    .bind(filter.placed_from)
    .bind(filter.placed_to)
    .bind(filter.delivered_from)
    .bind(filter.delivered_to)
    .bind(filter.customer_id)
    .bind(&filter.external_order_id)
    .bind(after.map(|(at, _)| at))
    .bind(after.map(|(_, id)| id))
    .bind(limit)
    .bind(number)
    .bind(&filter.customer_ids)
    .fetch_all(&mut **tx)
    .await
}

/// One order, if the merchant has it.
pub async fn find(tx: &mut Tx, order_id: Uuid) -> Result<Option<Order>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT_ORDER} WHERE id = $1")).bind(order_id).fetch_optional(&mut **tx).await
}

/// An order's lines, in the order they were first seen.
pub async fn items(tx: &mut Tx, order_id: Uuid) -> Result<Vec<OrderItem>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, product_id, sku, title, quantity, unit_price_minor FROM order_items
         WHERE order_id = $1 ORDER BY created_at, line_key",
    )
    .bind(order_id)
    .fetch_all(&mut **tx)
    .await
}

/// Whether the merchant has an order with our id `order_id` or the store's id `external_order_id`.
pub async fn exists(tx: &mut Tx, order_id: Option<Uuid>, external_order_id: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM orders WHERE id = $1 OR external_order_id = $2)")
        .bind(order_id)
        .bind(external_order_id)
        .fetch_one(&mut **tx)
        .await
}

/// The order's status as stored (`None` when the order is gone).
pub async fn status(tx: &mut Tx, order_id: OrderId) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT status FROM orders WHERE id = $1").bind(order_id).fetch_optional(&mut **tx).await
}

/// What a follow-up's template may name of its order: the store's order id and the title of its
/// first line. `None` when there is no such order.
pub async fn number_and_first_title(
    tx: &mut Tx,
    order_id: Option<OrderId>,
) -> Result<Option<(Option<String>, Option<String>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT o.external_order_id, (SELECT title FROM order_items WHERE order_id = o.id ORDER BY created_at LIMIT 1)
         FROM orders o WHERE o.id = $1",
    )
    .bind(order_id)
    .fetch_optional(&mut **tx)
    .await
}

/// When the store last changed the order with its id `external_order_id`, as far as we know.
pub async fn source_updated_at(
    tx: &mut Tx,
    merchant: MerchantId,
    external_order_id: &str,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let stored: Option<Option<DateTime<Utc>>> =
        sqlx::query_scalar("SELECT source_updated_at FROM orders WHERE merchant_id = $1 AND external_order_id = $2")
            .bind(merchant)
            .bind(external_order_id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(stored.flatten())
}

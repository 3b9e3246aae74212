//! The merchant's orders as we track them: the list (newest first, filtered by status, placed and
//! delivered times, customer or the store's own order id) and one order with its items, the time
//! of each status and the follow-ups planned for it.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::messages::PlannedMessage;
use super::pagination;
use crate::auth::Merchant;
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::state::AppState;

const MAX_EXTERNAL_ID_CHARS: usize = 255;

/// The order routes, with their part of the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(show))
}

/// Where an order is: created, paid, fulfilled, delivered move forward; cancelled and refunded
/// end it.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum OrderStatus {
    Created,
    Paid,
    Fulfilled,
    Delivered,
    Cancelled,
    Refunded,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    status: Option<OrderStatus>,
    /// Placed at or after this time (RFC 3339); orders without a placed time count as placed
    /// when first seen.
    placed_from: Option<DateTime<Utc>>,
    /// Placed before this time (RFC 3339).
    placed_to: Option<DateTime<Utc>>,
    /// Delivered at or after this time (RFC 3339).
    delivered_from: Option<DateTime<Utc>>,
    /// Delivered before this time (RFC 3339).
    delivered_to: Option<DateTime<Utc>>,
    customer_id: Option<Uuid>,
    /// The store's own order id, exactly.
    #[param(min_length = 1, max_length = 255)]
    external_order_id: Option<String>,
}

#[derive(Serialize, FromRow, ToSchema)]
pub struct Order {
    id: Uuid,
    /// The store's own id of the order.
    external_order_id: String,
    /// The number the customer sees and quotes (`#1001`), when the store sent one.
    order_number: Option<String>,
    status: OrderStatus,
    customer_id: Option<Uuid>,
    /// The store connection the order came through; absent for imported orders.
    integration_id: Option<Uuid>,
    /// ISO 4217.
    currency: Option<String>,
    /// The total in the currency's minor unit (cents).
    total_minor: Option<i64>,
    placed_at: Option<DateTime<Utc>>,
    paid_at: Option<DateTime<Utc>>,
    fulfilled_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
    refunded_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderList {
    orders: Vec<Order>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<String>,
}

#[derive(Serialize, FromRow, ToSchema)]
pub struct OrderItem {
    id: Uuid,
    /// The catalogue product the line was matched to.
    product_id: Option<Uuid>,
    sku: Option<String>,
    title: String,
    quantity: i32,
    /// The price of one unit in the currency's minor unit.
    unit_price_minor: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderDetail {
    #[serde(flatten)]
    order: Order,
    items: Vec<OrderItem>,
    /// The follow-ups planned after delivery, in planned order, with what became of each.
    follow_ups: Vec<PlannedMessage>,
}

const SELECT_ORDER: &str = "
    SELECT id, external_order_id, order_number, status, customer_id, integration_id, currency, total_minor,
           placed_at, paid_at, fulfilled_at, delivered_at, cancelled_at, refunded_at, created_at, updated_at
    FROM orders";

/// Orders, newest first (by placed time, or first seen when the store gave none).
#[utoipa::path(
    get,
    path = "/api/orders",
    tag = "orders",
    params(OrderQuery),
    responses((status = 200, description = "One page of orders.", body = OrderList))
)]
pub async fn list(
    State(state): State<AppState>,
    merchant: Merchant,
    Query(query): Query<OrderQuery>,
) -> Result<Json<OrderList>, ApiError> {
    let limit = pagination::limit(query.limit)?;
    let after = pagination::after(query.cursor.as_deref())?;
    in_order(query.placed_from, query.placed_to, "placed_from", "placed_to")?;
    in_order(query.delivered_from, query.delivered_to, "delivered_from", "delivered_to")?;
    if let Some(external) = &query.external_order_id
        && (external.is_empty() || external.chars().count() > MAX_EXTERNAL_ID_CHARS)
    {
        return Err(ApiError::InvalidField {
            field: "external_order_id".into(),
            detail: format!("must be 1 to {MAX_EXTERNAL_ID_CHARS} characters"),
        });
    }
    let mut tx = merchant.transaction(&state.pool).await?;
    let mut orders: Vec<Order> = sqlx::query_as(&format!(
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
         ORDER BY coalesce(placed_at, created_at) DESC, id DESC
         LIMIT $11"
    ))
    .bind(merchant.merchant_id)
    .bind(query.status)
    .bind(query.placed_from)
    .bind(query.placed_to)
    .bind(query.delivered_from)
    .bind(query.delivered_to)
    .bind(query.customer_id)
    .bind(&query.external_order_id)
    .bind(after.map(|(at, _)| at))
    .bind(after.map(|(_, id)| id))
    .bind(limit + 1)
    .fetch_all(&mut *tx)
    .await
    .map_err(ApiError::from_database)?;
    crate::auth::commit(tx).await?;
    let next_cursor =
        pagination::finish_page(&mut orders, limit, |last| (last.placed_at.unwrap_or(last.created_at), last.id));
    Ok(Json(OrderList { orders, next_cursor }))
}

/// One order with its items and its follow-ups.
#[utoipa::path(
    get,
    path = "/api/orders/{order_id}",
    tag = "orders",
    params(("order_id" = Uuid, Path, description = "Our id of the order.")),
    responses((status = 200, description = "The order.", body = OrderDetail))
)]
pub async fn show(
    State(state): State<AppState>,
    merchant: Merchant,
    Path(order_id): Path<Uuid>,
) -> Result<Json<OrderDetail>, ApiError> {
    let mut tx = merchant.transaction(&state.pool).await?;
    let order: Option<Order> = sqlx::query_as(&format!("{SELECT_ORDER} WHERE id = $1"))
        .bind(order_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(ApiError::from_database)?;
    let Some(order) = order else {
        return Err(ApiError::NotFound(format!("no order {order_id}")));
    };
    let items: Vec<OrderItem> = sqlx::query_as(
        "SELECT id, product_id, sku, title, quantity, unit_price_minor FROM order_items
         WHERE order_id = $1 ORDER BY created_at, line_key",
    )
    .bind(order_id)
    .fetch_all(&mut *tx)
    .await
    .map_err(ApiError::from_database)?;
    // The same view of a planned message as `GET /api/messages`.
    let follow_ups: Vec<PlannedMessage> = sqlx::query_as(
        "SELECT t.id AS task_id, t.kind, t.step, t.order_id, o.external_order_id, t.state, t.due_at AS planned_at,
                t.status_reason AS reason, m.id AS message_id, m.status AS message_status, m.template_name, m.sent_at,
                m.status_at, m.error_code, m.error_reason
         FROM scheduled_tasks t
         JOIN orders o ON o.id = t.order_id
         LEFT JOIN messages m ON m.merchant_id = t.merchant_id AND m.idempotency_key = 'task:' || t.id::text
         WHERE t.order_id = $1 AND t.kind = 'follow_up'
         ORDER BY t.due_at, t.id",
    )
    .bind(order_id)
    .fetch_all(&mut *tx)
    .await
    .map_err(ApiError::from_database)?;
    crate::auth::commit(tx).await?;
    Ok(Json(OrderDetail { order, items, follow_ups }))
}

fn in_order(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    from_name: &str,
    to_name: &str,
) -> Result<(), ApiError> {
    pagination::check_range(from, to).map_err(|_| ApiError::InvalidField {
        field: from_name.into(),
        detail: format!("must not be after `{to_name}`"),
    })
}

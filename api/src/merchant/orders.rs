//! The merchant's orders as we track them: the list (newest first, filtered by status, placed and
//! delivered times, customer or the store's own order id) and one order with its items, the time
//! of each status and the follow-ups planned for it.

use axum::Json;
use chrono::{DateTime, Utc};
use recete_shared::followups::planned::{self, PlannedMessage};
use recete_shared::orders::OrderStatus;
use recete_shared::orders::read::{self, Order, OrderFilter, OrderItem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::pagination::{self, ListQuery, Listed, Page, PageParams};
use crate::auth::Merchant;
use crate::error::ApiError;
use crate::extract::Path;
use crate::state::AppState;
use crate::tenant_tx::TenantTx;

const MAX_EXTERNAL_ID_CHARS: usize = 255;

/// The order routes, with their part of the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(show))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
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
    /// The order number the customer quotes (`#1001` or `1001`) or the store's id, exactly or by
    /// its start.
    #[param(min_length = 1, max_length = 255)]
    number: Option<String>,
}

impl Listed for Order {
    const KEY: &'static str = "orders";
    const LIST: &'static str = "OrderList";
}

pub type OrderList = Page<Order>;

#[derive(Serialize, ToSchema)]
pub struct OrderDetail {
    #[serde(flatten)]
    order: Order,
    items: Vec<OrderItem>,
    /// The follow-ups planned after delivery, in planned order, with what became of each.
    follow_ups: Vec<PlannedMessage>,
}

/// Orders, newest first (by placed time, or first seen when the store gave none).
#[utoipa::path(
    get,
    path = "/api/orders",
    tag = "orders",
    params(PageParams, OrderQuery),
    responses((status = 200, description = "One page of orders.", body = OrderList))
)]
pub async fn list(
    merchant: Merchant,
    ListQuery { page, filter: query }: ListQuery<OrderQuery>,
    mut tenant: TenantTx,
) -> Result<Json<OrderList>, ApiError> {
    pagination::check_range(("placed_from", query.placed_from), ("placed_to", query.placed_to))?;
    pagination::check_range(("delivered_from", query.delivered_from), ("delivered_to", query.delivered_to))?;
    if let Some(external) = &query.external_order_id
        && (external.is_empty() || external.chars().count() > MAX_EXTERNAL_ID_CHARS)
    {
        return Err(ApiError::InvalidField {
            field: "external_order_id".into(),
            detail: format!("must be 1 to {MAX_EXTERNAL_ID_CHARS} characters"),
        });
    }
    if let Some(number) = &query.number
        && (number.trim().is_empty() || number.chars().count() > MAX_EXTERNAL_ID_CHARS)
    {
        return Err(ApiError::InvalidField {
            field: "number".into(),
            detail: format!("must be 1 to {MAX_EXTERNAL_ID_CHARS} characters"),
        });
    }
    let filter = OrderFilter {
        status: query.status,
        placed_from: query.placed_from,
        placed_to: query.placed_to,
        delivered_from: query.delivered_from,
        delivered_to: query.delivered_to,
        customer_id: query.customer_id,
        customer_ids: None,
        external_order_id: query.external_order_id,
        number: query.number,
    };
    let orders =
        read::list(tenant.begin().await?, merchant.merchant_id, &filter, page.after, page.fetch_limit()).await?;
    Ok(Json(page.page(orders, Order::sort_key)))
}

/// One order with its items and its follow-ups.
#[utoipa::path(
    get,
    path = "/api/orders/{order_id}",
    tag = "orders",
    params(("order_id" = Uuid, Path, description = "Our id of the order.")),
    responses((status = 200, description = "The order.", body = OrderDetail))
)]
pub async fn show(mut tenant: TenantTx, Path(order_id): Path<Uuid>) -> Result<Json<OrderDetail>, ApiError> {
    let tx = tenant.begin().await?;
    let Some(order) = read::find(tx, order_id).await? else {
        return Err(ApiError::NotFound(format!("no order {order_id}")));
    };
    let items = read::items(tx, order_id).await?;
    // The same view of a planned message as `GET /api/messages`.
    let follow_ups = planned::follow_ups_of_order(tx, order_id).await?;
    Ok(Json(OrderDetail { order, items, follow_ups }))
}

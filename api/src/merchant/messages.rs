//! `GET /api/messages?order_id=`: every planned message of an order (or the latest ones), with
//! its planned time, sent time, status and the reason it was deferred, skipped or failed.

use axum::Json;
use recete_shared::followups::planned::{self, PlannedMessage};
use recete_shared::orders::read;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::pagination;
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;
use crate::tenant_tx::TenantTx;

/// The message routes, with their part of the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// Our order id, or the store's own order id.
    order_id: Option<String>,
    /// How many, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = PlannedMessageList)]
pub struct MessageList {
    messages: Vec<PlannedMessage>,
}

/// Planned and sent follow-ups and replies, in planned order, for one order or overall.
#[utoipa::path(
    get,
    path = "/api/messages",
    tag = "messages",
    params(MessageQuery),
    responses((status = 200, description = "The planned messages.", body = MessageList))
)]
pub async fn list(mut tenant: TenantTx, Query(query): Query<MessageQuery>) -> Result<Json<MessageList>, ApiError> {
    let limit = pagination::limit(query.limit)?;
    let tx = tenant.begin().await?;
    let messages = planned::list(tx, query.order_id.as_deref(), limit).await?;
    if let Some(order_id) = &query.order_id
        && messages.is_empty()
    {
        let order_uuid = Uuid::parse_str(order_id).ok();
        let known = read::exists(tx, order_uuid, order_id).await?;
        if !known {
            return Err(ApiError::NotFound(format!("no order {order_id}")));
        }
    }
    Ok(Json(MessageList { messages }))
}

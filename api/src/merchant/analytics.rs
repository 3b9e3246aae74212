//! `GET /api/analytics/summary`, `/attribution` and `/steps`: the merchant's figures over a range
//! of days in their own time zone (`from` and `to`, both included, at most 366 days, the last 30
//! by default), every day present. What each figure counts is said in `recete_analytics`,
//! whose functions compute them; these handlers only read the range and answer.

use axum::Json;
use chrono::NaiveDate;
use recete_analytics::attribution::{self, AttributionReport};
use recete_analytics::daily::{self, AnalyticsSummary};
use recete_analytics::steps::{self, StepsReport};
use recete_analytics::{DayRange, MerchantCalendar, range};
use recete_platform::db;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Merchant;
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;
use crate::tenant_tx::TenantTx;

/// The analytics routes, with their part of the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(summary)).routes(routes!(attribution)).routes(routes!(steps))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// First day (YYYY-MM-DD, the merchant's time zone); default 29 days before `to`.
    from: Option<NaiveDate>,
    /// Last day, included (YYYY-MM-DD); default today in the merchant's time zone. At most 366
    /// days after `from`.
    to: Option<NaiveDate>,
}

/// The merchant's calendar and the range asked for, validated.
async fn open(
    tx: &mut db::Tx,
    merchant: &Merchant,
    query: &RangeQuery,
) -> Result<(MerchantCalendar, DayRange), ApiError> {
    let calendar = range::calendar(tx, merchant.merchant_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("the merchant no longer exists".into()))?;
    let range = DayRange::new(query.from, query.to, calendar.today)
        .map_err(|error| ApiError::InvalidField { field: error.field.into(), detail: error.detail })?;
    Ok((calendar, range))
}

/// Figures per day and in total, from the rollup.
#[utoipa::path(
    get,
    path = "/api/analytics/summary",
    tag = "analytics",
    params(RangeQuery),
    responses((status = 200, description = "The figures of every day in the range.", body = AnalyticsSummary))
)]
pub async fn summary(
    merchant: Merchant,
    mut tenant: TenantTx,
    Query(query): Query<RangeQuery>,
) -> Result<Json<AnalyticsSummary>, ApiError> {
    let tx = tenant.begin().await?;
    let (calendar, range) = open(tx, &merchant, &query).await?;
    let summary = daily::summary(tx, merchant.merchant_id, &calendar, range).await?;
    Ok(Json(summary))
}

/// Orders and revenue (per currency) placed within the merchant's attribution window after a
/// follow-up was delivered, per day and in total, and the repeat-purchase rate of customers with
/// and without a delivered follow-up. Computed live from orders and messages.
#[utoipa::path(
    get,
    path = "/api/analytics/attribution",
    tag = "analytics",
    params(RangeQuery),
    responses((status = 200, description = "Attributed orders and revenue of the range.", body = AttributionReport))
)]
pub async fn attribution(
    merchant: Merchant,
    mut tenant: TenantTx,
    Query(query): Query<RangeQuery>,
) -> Result<Json<AttributionReport>, ApiError> {
    let tx = tenant.begin().await?;
    let (calendar, range) = open(tx, &merchant, &query).await?;
    let report = attribution::report(tx, merchant.merchant_id, &calendar, range).await?;
    Ok(Json(report))
}

/// Sent, delivered, read, replied, opt-outs and hand-overs per follow-up step, over the
/// follow-ups sent in the range. Computed live from messages and the audit trail.
#[utoipa::path(
    get,
    path = "/api/analytics/steps",
    tag = "analytics",
    params(RangeQuery),
    responses((status = 200, description = "The figures of each follow-up step.", body = StepsReport))
)]
pub async fn steps(
    merchant: Merchant,
    mut tenant: TenantTx,
    Query(query): Query<RangeQuery>,
) -> Result<Json<StepsReport>, ApiError> {
    let tx = tenant.begin().await?;
    let (calendar, range) = open(tx, &merchant, &query).await?;
    let report = steps::report(tx, merchant.merchant_id, &calendar, range).await?;
    Ok(Json(report))
}

//! `GET /api/analytics/summary`: the merchant's figures per day in their own time zone, read from
//! the rollup (`recete_shared::analytics` says what each figure counts), with every day of the
//! range present, zeros included, and how fresh the figures are.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Days, NaiveDate, Utc};
use recete_shared::{analytics, periodic};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Merchant;
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;

/// Days in a range at most, both ends included.
const MAX_DAYS: u64 = 366;
/// Days in the default range, ending today.
const DEFAULT_DAYS: u64 = 30;

/// The analytics routes, with their part of the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(summary))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// First day (YYYY-MM-DD, the merchant's time zone); default 29 days before `to`.
    from: Option<NaiveDate>,
    /// Last day, included (YYYY-MM-DD); default today in the merchant's time zone. At most 366
    /// days after `from`.
    to: Option<NaiveDate>,
}

/// The counts of one day, or of a whole range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, FromRow, ToSchema)]
pub struct AnalyticsFigures {
    /// Outbound messages (follow-ups and replies) whose send was confirmed that day.
    messages_sent: i64,
    /// Of those, the messages that have since reached the phone (read ones included).
    messages_delivered: i64,
    /// Of those, the messages the customer has since read.
    messages_read: i64,
    /// Outbound messages that failed for good that day.
    messages_failed: i64,
    /// Follow-ups among the messages sent.
    follow_ups_sent: i64,
    /// Of those follow-ups, the ones the customer answered (any message) within 24 hours.
    replied: i64,
    /// Messages customers wrote.
    inbound_messages: i64,
    /// Customers who revoked WhatsApp consent: a STOP, the "Stop promotions" button, marketing
    /// stopped in WhatsApp's settings or refused by Meta (131050), or through the store.
    opt_outs: i64,
    /// Conversations handed to a person.
    hand_overs: i64,
    orders_delivered: i64,
    /// Follow-ups planned (after deliveries), whatever became of them.
    follow_ups_planned: i64,
}

impl AnalyticsFigures {
    fn add(&mut self, other: &Self) {
        self.messages_sent += other.messages_sent;
        self.messages_delivered += other.messages_delivered;
        self.messages_read += other.messages_read;
        self.messages_failed += other.messages_failed;
        self.follow_ups_sent += other.follow_ups_sent;
        self.replied += other.replied;
        self.inbound_messages += other.inbound_messages;
        self.opt_outs += other.opt_outs;
        self.hand_overs += other.hand_overs;
        self.orders_delivered += other.orders_delivered;
        self.follow_ups_planned += other.follow_ups_planned;
    }
}

#[derive(Serialize, ToSchema)]
pub struct AnalyticsDay {
    day: NaiveDate,
    #[serde(flatten)]
    figures: AnalyticsFigures,
}

#[derive(Serialize, ToSchema)]
pub struct AnalyticsSummary {
    from: NaiveDate,
    to: NaiveDate,
    /// The merchant's IANA time zone, in which the days are counted.
    timezone: String,
    totals: AnalyticsFigures,
    /// Every day from `from` to `to`, oldest first; days with nothing to count hold zeros.
    days: Vec<AnalyticsDay>,
    generated_at: DateTime<Utc>,
    /// The figures include what was recorded before this time (the start of the last rollup,
    /// which runs every few minutes); absent before the first rollup.
    fresh_as_of: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct StoredDay {
    day: NaiveDate,
    #[sqlx(flatten)]
    figures: AnalyticsFigures,
}

/// Figures per day and in total.
#[utoipa::path(
    get,
    path = "/api/analytics/summary",
    tag = "analytics",
    params(SummaryQuery),
    responses((status = 200, description = "The figures of every day in the range.", body = AnalyticsSummary))
)]
pub async fn summary(
    State(state): State<AppState>,
    merchant: Merchant,
    Query(query): Query<SummaryQuery>,
) -> Result<Json<AnalyticsSummary>, ApiError> {
    for (field, day) in [("from", query.from), ("to", query.to)] {
        if let Some(day) = day {
            plausible(field, day)?;
        }
    }
    let mut tx = merchant.transaction(&state.pool).await?;
    let (timezone, today): (String, NaiveDate) =
        sqlx::query_as("SELECT timezone, (now() AT TIME ZONE timezone)::date FROM merchants WHERE id = $1")
            .bind(merchant.merchant_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(ApiError::from_database)?;
    let to = query.to.unwrap_or(today);
    let from = match query.from {
        Some(from) => from,
        None => to.checked_sub_days(Days::new(DEFAULT_DAYS - 1)).unwrap_or(to),
    };
    if from > to {
        return Err(ApiError::InvalidField { field: "from".into(), detail: format!("must not be after `to` ({to})") });
    }
    let span = u64::try_from((to - from).num_days() + 1).unwrap_or(u64::MAX);
    if span > MAX_DAYS {
        return Err(ApiError::InvalidField {
            field: "to".into(),
            detail: format!("the range spans {span} days; at most {MAX_DAYS} are allowed"),
        });
    }
    let stored: Vec<StoredDay> = sqlx::query_as(
        "SELECT day, messages_sent, messages_delivered, messages_read, messages_failed, follow_ups_sent, replied,
                inbound_messages, opt_outs, hand_overs, orders_delivered, follow_ups_planned
         FROM analytics_daily
         WHERE merchant_id = $1 AND day BETWEEN $2 AND $3
         ORDER BY day",
    )
    .bind(merchant.merchant_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *tx)
    .await
    .map_err(ApiError::from_database)?;
    let last_rollup = periodic::last_success(&mut *tx, analytics::JOB.name).await.map_err(ApiError::from_database)?;
    crate::auth::commit(tx).await?;

    let mut stored = stored.into_iter().peekable();
    let mut totals = AnalyticsFigures::default();
    let mut days = Vec::with_capacity(usize::try_from(span).unwrap_or(0));
    for day in from.iter_days().take_while(|day| *day <= to) {
        let figures = match stored.next_if(|row| row.day == day) {
            Some(row) => row.figures,
            None => AnalyticsFigures::default(),
        };
        totals.add(&figures);
        days.push(AnalyticsDay { day, figures });
    }
    Ok(Json(AnalyticsSummary {
        from,
        to,
        timezone,
        totals,
        days,
        generated_at: Utc::now(),
        fresh_as_of: last_rollup.map(|last| last.started_at),
    }))
}

/// Days outside 1970 to 9999 are typing mistakes, and some are beyond what the database stores.
fn plausible(field: &str, day: NaiveDate) -> Result<(), ApiError> {
    let earliest = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(NaiveDate::MIN);
    let latest = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX);
    if day < earliest || day > latest {
        return Err(ApiError::InvalidField {
            field: field.into(),
            detail: format!("{day} is outside 1970-01-01 to 9999-12-31"),
        });
    }
    Ok(())
}

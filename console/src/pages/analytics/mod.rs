//! Analytics: per day of a chosen range (the last 30 days by default, in the merchant's time
//! zone) the messages sent, delivered and read, the follow-ups replied to, the opt-outs and the
//! hand-overs, each as a server-drawn chart with its table; the figures per follow-up step; and
//! what the follow-ups brought back: attributed orders and revenue per currency, and the
//! repeat-purchase rates of customers with and without follow-ups. Everyone may read it.

mod attribution;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use maud::{Markup, html};
use recete_shared::analytics::daily::{self, AnalyticsDay, AnalyticsFigures, AnalyticsSummary};
use recete_shared::analytics::steps::{self, StepsReport};
use recete_shared::analytics::{DayRange, InvalidRange, range};
use serde::Deserialize;

use crate::auth::commit;
use crate::chart::{DailyChart, Point};
use crate::error::PageError;
use crate::layout::{self, Nav};
use crate::signed_in::ConsoleUser;
use crate::{ConsoleState, text};

#[derive(Debug, Default, Deserialize)]
pub struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
}

/// A day typed into the range form; empty means the default.
fn parse_day(field: &'static str, value: Option<&str>) -> Result<Option<NaiveDate>, InvalidRange> {
    match value.map(str::trim).filter(|value| !value.is_empty()) {
        None => Ok(None),
        Some(value) => {
            value.parse::<NaiveDate>().map(Some).map_err(|_| InvalidRange { field, detail: text::not_a_day(value) })
        }
    }
}

/// The figures the page charts, in order: (id, title, what is counted, the figure).
type Figure = fn(&AnalyticsFigures) -> i64;
const CHARTS: [(&str, &str, &str, Figure); 6] = [
    ("sent", text::CHART_SENT, text::CHART_SENT_EXPLAINED, |f| f.messages_sent),
    ("delivered", text::CHART_DELIVERED, text::CHART_DELIVERED_EXPLAINED, |f| f.messages_delivered),
    ("read", text::CHART_READ, text::CHART_READ_EXPLAINED, |f| f.messages_read),
    ("replied", text::CHART_REPLIED, text::CHART_REPLIED_EXPLAINED, |f| f.replied),
    ("opt-outs", text::CHART_OPT_OUTS, text::CHART_OPT_OUTS_EXPLAINED, |f| f.opt_outs),
    ("hand-overs", text::CHART_HAND_OVERS, text::CHART_HAND_OVERS_EXPLAINED, |f| f.hand_overs),
];

fn points(days: &[AnalyticsDay], figure: Figure) -> Vec<Point> {
    days.iter().map(|day| Point { day: day.day, value: figure(&day.figures) }).collect()
}

pub async fn page(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Query(query): Query<RangeQuery>,
) -> Result<Response, PageError> {
    let mut tx = user.transaction(&state.pool).await?;
    let calendar = range::calendar(&mut tx, user.merchant_id)
        .await?
        .ok_or_else(|| PageError::NotFound(text::SESSION_ENDED.into()))?;
    let asked = parse_day("from", query.from.as_deref())
        .and_then(|from| parse_day("to", query.to.as_deref()).map(|to| (from, to)))
        .and_then(|(from, to)| DayRange::new(from, to, calendar.today));
    let range = match asked {
        Ok(range) => range,
        Err(invalid) => {
            commit(tx).await?;
            let body = range_form(&query, Some(&invalid));
            let markup = layout::page(text::ANALYTICS, &user, Nav::Analytics, body);
            return Ok((StatusCode::BAD_REQUEST, markup).into_response());
        }
    };
    let summary = daily::summary(&mut tx, user.merchant_id, &calendar, range).await?;
    let steps = steps::report(&mut tx, user.merchant_id, &calendar, range).await?;
    let attributed = attribution::read(&mut tx, &user, &calendar, range).await?;
    commit(tx).await?;
    let shown = RangeQuery { from: Some(range.from().to_string()), to: Some(range.to().to_string()) };
    Ok(layout::page(
        text::ANALYTICS,
        &user,
        Nav::Analytics,
        html! {
            (range_form(&shown, None))
            (overview(&summary))
            section aria-labelledby="daily" {
                h2 #daily { (text::DAILY_FIGURES) }
                @for (id, title, explanation, figure) in CHARTS {
                    @let points = points(&summary.days, figure);
                    h3 { (title) }
                    (DailyChart { id, title, explanation, points: &points }.render())
                }
            }
            (attribution::section(&attributed))
            (steps_table(&steps))
        },
    )
    .into_response())
}

fn range_form(query: &RangeQuery, invalid: Option<&InvalidRange>) -> Markup {
    let field = |name: &'static str, label: &str, value: Option<&str>| {
        let error = invalid.filter(|invalid| invalid.field == name);
        let error_id = format!("{name}-error");
        html! {
            div.field {
                label for=(name) { (label) }
                input id=(name) type="date" name=(name) value=[value] aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[error.map(|_| error_id.as_str())];
                @if let Some(error) = error { p.field-error id=(error_id) role="alert" { (text::field_error(label, &error.detail)) } }
            }
        }
    };
    html! {
        form.stack method="get" action="/console/analytics" aria-label=(text::RANGE) {
            (field("from", text::RANGE_FROM, query.from.as_deref()))
            (field("to", text::RANGE_TO, query.to.as_deref()))
            p.hint { (text::range_hint(DayRange::DEFAULT_DAYS, DayRange::MAX_DAYS)) }
            button.primary type="submit" { (text::SHOW) }
        }
    }
}

fn overview(summary: &AnalyticsSummary) -> Markup {
    let totals = &summary.totals;
    html! {
        section aria-labelledby="overview" {
            h2 #overview { (text::range_title(summary.from, summary.to)) }
            p.hint {
                (text::days_in_zone(&summary.timezone)) " "
                @match summary.fresh_as_of {
                    Some(at) => { (text::FRESH_AS_OF) " " (layout::time(at)) "." }
                    None => { (text::NOT_ROLLED_UP) }
                }
            }
            dl.totals {
                @for (_, title, _, figure) in CHARTS {
                    dt { (title) } dd { (figure(totals)) }
                }
                dt { (text::ORDERS_DELIVERED) } dd { (totals.orders_delivered) }
                dt { (text::FOLLOW_UPS_PLANNED) } dd { (totals.follow_ups_planned) }
            }
        }
    }
}

fn steps_table(report: &StepsReport) -> Markup {
    html! {
        section aria-labelledby="steps" {
            h2 #steps { (text::PER_STEP) }
            @if report.steps.is_empty() {
                p { (text::NO_STEPS) }
            } @else {
                table {
                    caption { (text::PER_STEP_CAPTION) }
                    thead { tr {
                        th scope="col" { (text::STEP) } th scope="col" { (text::STEP_OFFSET) }
                        th scope="col" { (text::CHART_SENT) } th scope="col" { (text::CHART_DELIVERED) }
                        th scope="col" { (text::CHART_READ) } th scope="col" { (text::CHART_REPLIED) }
                        th scope="col" { (text::CHART_OPT_OUTS) } th scope="col" { (text::CHART_HAND_OVERS) }
                    } }
                    tbody {
                        @for step in &report.steps {
                            tr {
                                th scope="row" { (step.step.as_deref().unwrap_or(text::STEP_GONE)) }
                                td data-label=(text::STEP_OFFSET) {
                                    @if let Some(hours) = step.offset_hours { (hours) } @else { "—" }
                                }
                                td data-label=(text::CHART_SENT) { (step.sent) }
                                td data-label=(text::CHART_DELIVERED) { (step.delivered) }
                                td data-label=(text::CHART_READ) { (step.read) }
                                td data-label=(text::CHART_REPLIED) { (step.replied) }
                                td data-label=(text::CHART_OPT_OUTS) { (step.opt_outs) }
                                td data-label=(text::CHART_HAND_OVERS) { (step.hand_overs) }
                            }
                        }
                    }
                }
            }
        }
    }
}

//! Orders: the list (search by number, by customer as people type their email or phone, by the
//! day it was placed in the store's time zone, and by status; newest first, a page at a time) and
//! one order with its items, the time of each status and the follow-up timeline: every planned
//! step with what became of it (planned, deferred and why, sent, delivered, read, replied to,
//! failed with Meta's reason). Read-only for every role; another merchant's order is not found.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use maud::{Markup, html};
use recete_platform::db::Tx;
use recete_shared::customers::lookup::{self, LookupError};
use recete_shared::customers::read::{self as customers, CustomerFilter};
use recete_shared::followups::planned::{self, PlannedMessage};
use recete_shared::merchants;
use recete_shared::orders::OrderStatus;
use recete_shared::orders::read::{self, Order, OrderFilter};
use serde::Deserialize;
use uuid::Uuid;

use super::list_cursor::{self, PAGE_SIZE};
use super::records::{conversation_href, customer_href, display_name, money, order_href};
use crate::auth::commit;
use crate::error::PageError;
use crate::layout::{self, Nav};
use crate::signed_in::ConsoleUser;
use crate::{ConsoleState, text};

const MAX_NUMBER_CHARS: usize = 255;
/// Customers a search by email or phone may match (a phone shared by a few rows at most).
const MAX_CUSTOMER_MATCHES: i64 = 20;

/// The list's filters as the form sends them: every field may be empty.
#[derive(Debug, Default, Deserialize)]
pub struct OrdersQuery {
    #[serde(default)]
    number: String,
    #[serde(default)]
    customer: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    status: String,
    cursor: Option<String>,
}

impl OrdersQuery {
    fn filters(&self) -> [(&'static str, &str); 5] {
        [
            ("number", &self.number),
            ("customer", &self.customer),
            ("from", &self.from),
            ("to", &self.to),
            ("status", &self.status),
        ]
    }
}

/// The merchant's time zone (UTC when it names none we know).
async fn zone(tx: &mut Tx, user: &ConsoleUser) -> Result<Tz, PageError> {
    let name = merchants::timezone(tx, user.merchant_id).await?;
    Ok(name.and_then(|name| name.parse().ok()).unwrap_or(Tz::UTC))
}

/// The first instant of `day` in `zone` (a day whose midnight a clock change skips starts at
/// the first instant there is).
fn start_of(day: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    (0..4)
        .find_map(|hours| zone.from_local_datetime(&(midnight + chrono::Duration::hours(hours))).earliest())
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

fn parse_day(field: &str, value: &str) -> Result<Option<NaiveDate>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map(Some).map_err(|_| text::bad_date(field, value))
}

/// The placed-time range `[from, to]` of whole days in `zone`, as instants.
/// A placed-time range: from (inclusive), to (exclusive); either may be open.
type Range = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

fn placed_range(query: &OrdersQuery, zone: Tz) -> Result<Range, String> {
    let from = parse_day("from", &query.from)?;
    let to = parse_day("to", &query.to)?;
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(text::dates_reversed(&from.to_string(), &to.to_string()));
    }
    let end = to.map(|to| to.checked_add_days(Days::new(1)).unwrap_or(to));
    Ok((from.map(|day| start_of(day, zone)), end.map(|day| start_of(day, zone))))
}

fn search_error(error: LookupError) -> Result<String, PageError> {
    match error {
        LookupError::Database(error) => Err(error.into()),
        other => Ok(text::bad_search(other.field().unwrap_or("customer"), &other.to_string())),
    }
}

/// The customers an email or phone search names; `Err` with the words of a search that cannot be read.
async fn customers_searched(
    tx: &mut Tx,
    state: &ConsoleState,
    user: &ConsoleUser,
    raw: &str,
) -> Result<Result<Vec<Uuid>, String>, PageError> {
    let lookups = if raw.contains('@') {
        lookup::email_lookups(&state.keyring, raw)
            .map(|hashes| CustomerFilter { email_lookups: Some(hashes), ..Default::default() })
    } else {
        lookup::phone_lookups(tx, &state.keyring, user.merchant_id, raw)
            .await
            .map(|hashes| CustomerFilter { phone_lookups: Some(hashes), ..Default::default() })
    };
    let filter = match lookups {
        Ok(filter) => filter,
        Err(error) => return search_error(error).map(Err),
    };
    let found = customers::list(tx, &state.keyring, user.merchant_id, &filter, None, MAX_CUSTOMER_MATCHES).await?;
    Ok(Ok(found.into_iter().map(|customer| customer.id).collect()))
}

struct Listed {
    orders: Vec<Order>,
    names: std::collections::HashMap<Uuid, String>,
    next: Option<String>,
}

pub async fn list(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Query(query): Query<OrdersQuery>,
) -> Result<Response, PageError> {
    let after = list_cursor::decode(query.cursor.as_deref())?;
    let mut tx = user.transaction(&state.pool).await?;
    let zone = zone(&mut tx, &user).await?;
    let outcome = find_orders(&mut tx, &state, &user, &query, zone, after).await?;
    commit(tx).await?;
    let status = if outcome.is_err() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    Ok((status, render_list(&user, &query, zone, outcome)).into_response())
}

/// One page of orders, or the words saying which filter cannot be read.
async fn find_orders(
    tx: &mut Tx,
    state: &ConsoleState,
    user: &ConsoleUser,
    query: &OrdersQuery,
    zone: Tz,
    after: Option<(DateTime<Utc>, Uuid)>,
) -> Result<Result<Listed, String>, PageError> {
    let (placed_from, placed_to) = match placed_range(query, zone) {
        Ok(range) => range,
        Err(message) => return Ok(Err(message)),
    };
    let status = match query.status.trim() {
        "" => None,
        name => match name.parse::<OrderStatus>() {
            Ok(status) => Some(status),
            Err(_) => return Ok(Err(text::bad_status(name))),
        },
    };
    let number = query.number.trim();
    if number.chars().count() > MAX_NUMBER_CHARS {
        return Ok(Err(text::too_long("number", MAX_NUMBER_CHARS)));
    }
    let customer_ids = match query.customer.trim() {
        "" => None,
        raw => match customers_searched(tx, state, user, raw).await? {
            Ok(ids) if ids.is_empty() => return Ok(Err(text::NO_CUSTOMER_MATCHES.to_owned())),
            Ok(ids) => Some(ids),
            Err(message) => return Ok(Err(message)),
        },
    };
    let filter = OrderFilter {
        status,
        placed_from,
        placed_to,
        customer_ids,
        number: (!number.is_empty()).then(|| number.to_owned()),
        ..OrderFilter::default()
    };
    let mut orders = read::list(tx, user.merchant_id, &filter, after, PAGE_SIZE + 1).await?;
    let next = list_cursor::finish(&mut orders, PAGE_SIZE, Order::sort_key);
    let mut ids: Vec<Uuid> = orders.iter().filter_map(|order| order.customer_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = customers::names(tx, &state.keyring, user.merchant_id, &ids).await?;
    Ok(Ok(Listed { orders, names, next }))
}

fn status_select(selected: &str) -> Markup {
    const ALL: [OrderStatus; 6] = [
        OrderStatus::Created,
        OrderStatus::Paid,
        OrderStatus::Fulfilled,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
        OrderStatus::Refunded,
    ];
    html! {
        select #status name="status" {
            option value="" selected[selected.is_empty()] { (text::ANY) }
            @for status in ALL {
                option value=(status.as_str()) selected[selected == status.as_str()] { (status.as_str()) }
            }
        }
    }
}

fn render_list(user: &ConsoleUser, query: &OrdersQuery, zone: Tz, outcome: Result<Listed, String>) -> Markup {
    layout::page(
        text::ORDERS,
        user,
        Nav::Orders,
        html! {
            p.muted { (text::ORDERS_INTRO) }
            form.stack.filters method="get" action="/console/orders" role="search" {
                label for="number" { (text::ORDER_NUMBER) }
                input #number type="search" name="number" value=(query.number) aria-describedby="number-hint";
                p #number-hint.hint { (text::ORDER_NUMBER_HINT) }
                label for="customer" { (text::CUSTOMER) }
                input #customer type="search" name="customer" value=(query.customer) autocomplete="off" aria-describedby="customer-hint";
                p #customer-hint.hint { (text::CUSTOMER_SEARCH_HINT) }
                label for="from" { (text::PLACED_FROM) }
                input #from type="date" name="from" value=(query.from) aria-describedby="dates-hint";
                label for="to" { (text::PLACED_TO) }
                input #to type="date" name="to" value=(query.to) aria-describedby="dates-hint";
                p #dates-hint.hint { (text::dates_in_zone(zone.name())) }
                label for="status" { (text::STATUS) }
                (status_select(query.status.trim()))
                button.primary type="submit" { (text::SEARCH) }
                a href="/console/orders" { (text::CLEAR) }
            }
            @match outcome {
                Err(message) => { (layout::flash(&message, false)) }
                Ok(listed) => {
                    @if listed.orders.is_empty() {
                        p role="status" { (text::NO_ORDERS) }
                    } @else {
                        table {
                            thead { tr {
                                th scope="col" { (text::ORDER_NUMBER) }
                                th scope="col" { (text::CUSTOMER) }
                                th scope="col" { (text::STATUS) }
                                th scope="col" { (text::TOTAL) }
                                th scope="col" { (text::PLACED) }
                            } }
                            tbody {
                                @for order in &listed.orders {
                                    tr {
                                        td data-label=(text::ORDER_NUMBER) {
                                            a href=(order_href(order.id)) { (order.order_number.as_deref().unwrap_or(&order.external_order_id)) }
                                        }
                                        td data-label=(text::CUSTOMER) {
                                            @match order.customer_id {
                                                Some(id) => {
                                                    a href=(customer_href(id)) {
                                                        (listed.names.get(&id).map(String::as_str).unwrap_or(text::UNNAMED))
                                                    }
                                                }
                                                None => { (text::NONE_GIVEN) }
                                            }
                                        }
                                        td data-label=(text::STATUS) { (order.status.as_str()) }
                                        td data-label=(text::TOTAL) { (money(order.total_minor, order.currency.as_deref())) }
                                        td data-label=(text::PLACED) { (layout::time(order.placed_at.unwrap_or(order.created_at))) }
                                    }
                                }
                            }
                        }
                    }
                    nav.pages aria-label=(text::NEXT_PAGE) {
                        @if query.cursor.as_deref().is_some_and(|c| !c.trim().is_empty()) {
                            a href=(list_cursor::next_href("/console/orders", &query.filters(), "")) { (text::LIST_FIRST_PAGE) }
                            " "
                        }
                        @if let Some(next) = &listed.next {
                            a rel="next" href=(list_cursor::next_href("/console/orders", &query.filters(), next)) { (text::NEXT_PAGE) }
                        }
                    }
                }
            }
        },
    )
}

/// An id in a path; one that is not a UUID names no order.
fn order_id(id: &str) -> Result<Uuid, PageError> {
    id.parse().map_err(|_| PageError::NotFound(text::NO_SUCH_ORDER.into()))
}

pub async fn detail(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let id = order_id(&id)?;
    let mut tx = user.transaction(&state.pool).await?;
    let order = read::find(&mut tx, id).await?.ok_or_else(|| PageError::NotFound(text::NO_SUCH_ORDER.into()))?;
    let items = read::items(&mut tx, id).await?;
    let follow_ups = planned::follow_ups_of_order(&mut tx, id).await?;
    let customer = match order.customer_id {
        Some(customer) => customers::find(&mut tx, &state.keyring, user.merchant_id, customer).await?,
        None => None,
    };
    commit(tx).await?;
    let number = order.order_number.clone().unwrap_or_else(|| order.external_order_id.clone());
    let currency = order.currency.as_deref();
    Ok(layout::page(
        &format!("{} {number}", text::CUSTOMER_ORDER),
        &user,
        Nav::Orders,
        html! {
            p { a href="/console/orders" { (text::BACK_TO_ORDERS) } }
            dl {
                dt { (text::STATUS) } dd { (order.status.as_str()) }
                dt { (text::TOTAL) } dd { (money(order.total_minor, currency)) }
                dt { (text::STORE_ORDER_ID) } dd { (order.external_order_id) }
                dt { (text::CUSTOMER) }
                dd {
                    @match &customer {
                        Some(customer) => {
                            a href=(customer_href(customer.id)) {
                                (display_name(customer))
                            }
                        }
                        None => { (text::NONE_GIVEN) }
                    }
                }
                dt { (text::CONVERSATION) }
                dd {
                    @match customer.as_ref().and_then(|c| c.conversation.as_ref()) {
                        Some(conversation) => { a href=(conversation_href(conversation.id)) { (text::OPEN_CONVERSATION) } }
                        None => { (text::NO_CONVERSATION) }
                    }
                }
            }
            section aria-labelledby="items" {
                h2 #items { (text::ITEMS) }
                @if items.is_empty() {
                    p { (text::NO_ITEMS) }
                } @else {
                    table {
                        thead { tr {
                            th scope="col" { (text::TITLE) }
                            th scope="col" { (text::SKU) }
                            th scope="col" { (text::QUANTITY) }
                            th scope="col" { (text::UNIT_PRICE) }
                        } }
                        tbody {
                            @for item in &items {
                                tr {
                                    td data-label=(text::TITLE) { (item.title) }
                                    td data-label=(text::SKU) { (item.sku.as_deref().unwrap_or(text::NONE_GIVEN)) }
                                    td data-label=(text::QUANTITY) { (item.quantity) }
                                    td data-label=(text::UNIT_PRICE) { (money(item.unit_price_minor, currency)) }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="status-times" {
                h2 #status-times { (text::STATUS_TIMES) }
                dl {
                    @for (label, at) in status_times(&order) {
                        dt { (label) } dd { (layout::time(at)) }
                    }
                }
            }
            section aria-labelledby="follow-ups" {
                h2 #follow-ups { (text::FOLLOW_UPS) }
                @if follow_ups.is_empty() {
                    p { (text::NO_FOLLOW_UPS) }
                } @else {
                    ol.timeline {
                        @for step in timeline(&follow_ups) {
                            li {
                                h3 { (text::planned_step(step.name)) @if let Some(template) = step.template { " · " (text::template(template)) } }
                                ul {
                                    @for entry in &step.entries {
                                        li { (layout::time(entry.at)) " " span class=(entry.class) { (entry.what) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// Each status the order reached, with its time, in the order they happen.
fn status_times(order: &Order) -> Vec<(&'static str, DateTime<Utc>)> {
    [
        (text::PLACED, order.placed_at),
        (text::FIRST_SEEN, Some(order.created_at)),
        (text::PAID, order.paid_at),
        (text::FULFILLED, order.fulfilled_at),
        (text::DELIVERED, order.delivered_at),
        (text::CANCELLED, order.cancelled_at),
        (text::REFUNDED, order.refunded_at),
    ]
    .into_iter()
    .filter_map(|(label, at)| at.map(|at| (label, at)))
    .collect()
}

/// One step of the follow-up timeline with what became of it.
pub struct Step<'a> {
    pub name: &'a str,
    pub template: Option<&'a str>,
    pub entries: Vec<Entry>,
}

pub struct Entry {
    pub at: DateTime<Utc>,
    pub what: String,
    /// `ok`, `bad` or `wait`, for the eye; the words say the same.
    pub class: &'static str,
}

/// The planned steps, each with its states in time order; steps ordered by when they first
/// happened (sent, or planned).
pub fn timeline(follow_ups: &[PlannedMessage]) -> Vec<Step<'_>> {
    let mut steps: Vec<Step<'_>> = follow_ups.iter().map(step).collect();
    steps.sort_by_key(|step| step.entries.first().map(|entry| entry.at));
    steps
}

fn step(planned: &PlannedMessage) -> Step<'_> {
    let reason = planned.reason.as_deref().unwrap_or_default();
    let mut entries = Vec::new();
    let entry = |at, what: String, class| Entry { at, what, class };
    match (planned.state.as_str(), planned.message_status.as_deref()) {
        ("pending", None) if !reason.is_empty() => {
            entries.push(entry(planned.planned_at, text::deferred(reason), "wait"))
        }
        ("pending", None) => entries.push(entry(planned.planned_at, text::PLANNED.to_owned(), "wait")),
        ("failed", None) => entries.push(entry(planned.planned_at, format!("{}: {reason}", text::RETRYING), "bad")),
        ("cancelled", _) => entries.push(entry(planned.planned_at, text::cancelled(reason), "wait")),
        ("dead", None) => entries.push(entry(planned.planned_at, text::failed(reason), "bad")),
        _ => {}
    }
    if let Some(sent_at) = planned.sent_at {
        entries.push(entry(sent_at, text::SENT.to_owned(), "ok"));
    }
    let status_at = planned.status_at.or(planned.sent_at).unwrap_or(planned.planned_at);
    match planned.message_status.as_deref() {
        Some("sending") => entries.push(entry(status_at, text::SENDING.to_owned(), "wait")),
        Some("delivered") => entries.push(entry(status_at, text::DELIVERED_STATE.to_owned(), "ok")),
        Some("read") => entries.push(entry(status_at, text::READ.to_owned(), "ok")),
        Some("failed") => {
            let why = planned.error_reason.as_deref().or(planned.error_code.as_deref());
            let what = why.map(text::failed).unwrap_or_else(|| text::FAILED_NO_REASON.to_owned());
            entries.push(entry(status_at, what, "bad"));
        }
        Some("skipped") => entries.push(entry(status_at, text::skipped(reason), "wait")),
        _ => {}
    }
    if let Some(replied_at) = planned.replied_at {
        entries.push(entry(replied_at, text::TIMELINE_REPLIED.to_owned(), "ok"));
    }
    entries.sort_by_key(|entry| entry.at);
    Step {
        name: planned.step.as_deref().unwrap_or(planned.kind.as_str()),
        template: planned.template_name.as_deref(),
        entries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(state: &str, reason: Option<&str>) -> PlannedMessage {
        PlannedMessage {
            task_id: Uuid::now_v7(),
            kind: "follow_up".into(),
            step: Some("t1".into()),
            order_id: None,
            external_order_id: None,
            state: state.into(),
            planned_at: Utc::now(),
            reason: reason.map(str::to_owned),
            message_id: None,
            message_status: None,
            template_name: None,
            sent_at: None,
            status_at: None,
            error_code: None,
            error_reason: None,
            replied_at: None,
        }
    }

    #[test]
    fn a_deferred_step_says_why_and_a_failed_send_gives_metas_reason() {
        let waiting = planned("pending", Some("frequency cap of 1 per 24 h"));
        let deferred = step(&waiting);
        assert_eq!(deferred.entries.len(), 1);
        assert_eq!(deferred.entries[0].what, "deferred: frequency cap of 1 per 24 h");

        let sent_at = Utc::now() - chrono::Duration::minutes(5);
        let mut failed = planned("done", None);
        failed.message_status = Some("failed".into());
        failed.sent_at = Some(sent_at);
        failed.status_at = Some(sent_at + chrono::Duration::minutes(1));
        failed.error_reason = Some("Message undeliverable".into());
        let whats: Vec<String> = step(&failed).entries.into_iter().map(|e| e.what).collect();
        assert_eq!(whats, vec!["sent".to_owned(), "failed: Message undeliverable".to_owned()]);
    }

    #[test]
    fn a_reply_follows_the_read_message_in_time_order() {
        let sent_at = Utc::now() - chrono::Duration::hours(2);
        let mut read = planned("done", None);
        read.message_status = Some("read".into());
        read.sent_at = Some(sent_at);
        read.status_at = Some(sent_at + chrono::Duration::minutes(30));
        read.replied_at = Some(sent_at + chrono::Duration::minutes(10));
        let whats: Vec<String> = step(&read).entries.into_iter().map(|e| e.what).collect();
        assert_eq!(whats, vec!["sent", "the customer replied", "read"]);
    }

    #[test]
    fn days_start_at_midnight_in_the_stores_zone() {
        let istanbul: Tz = "Europe/Istanbul".parse().expect("zone");
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).expect("day");
        assert_eq!(start_of(day, istanbul).to_rfc3339(), "2026-12-06T21:00:00+00:00");
        let query = OrdersQuery { from: "2026-12-07".into(), to: "2026-12-07".into(), ..OrdersQuery::default() };
        let (from, to) = placed_range(&query, istanbul).expect("range");
        assert_eq!(to.zip(from).map(|(to, from)| to - from), Some(chrono::Duration::hours(24)));
        let reversed = OrdersQuery { from: "2026-12-08".into(), to: "2026-12-07".into(), ..OrdersQuery::default() };
        assert!(placed_range(&reversed, istanbul).is_err());
        let bad = OrdersQuery { from: "7.12.2026".into(), ..OrdersQuery::default() };
        assert!(placed_range(&bad, istanbul).expect_err("a bad date").contains("`from`"));
    }
}

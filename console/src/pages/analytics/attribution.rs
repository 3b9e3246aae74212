//! Analytics › what the follow-ups brought back: attributed orders (a chart per day), attributed
//! revenue per currency (never summed across currencies), and repeat purchase with and without
//! follow-ups. `recete_shared::analytics::attribution` defines each figure.

use maud::{Markup, html};
use recete_platform::db::Tx;
use recete_shared::analytics::attribution::{self, AttributionReport};
use recete_shared::analytics::repeat::RepeatGroup;
use recete_shared::analytics::{DayRange, MerchantCalendar};

use crate::chart::{DailyChart, Point};
use crate::error::PageError;
use crate::pages::records::amount;
use crate::signed_in::ConsoleUser;
use crate::text;

pub(super) async fn read(
    tx: &mut Tx,
    user: &ConsoleUser,
    calendar: &MerchantCalendar,
    range: DayRange,
) -> Result<AttributionReport, PageError> {
    Ok(attribution::report(tx, user.merchant_id, calendar, range).await?)
}

fn rate(group: &RepeatGroup) -> String {
    match group.rate {
        Some(rate) => text::percent(rate * 100.0),
        None => text::NO_CUSTOMERS_IN_GROUP.to_owned(),
    }
}

pub(super) fn section(report: &AttributionReport) -> Markup {
    let orders: Vec<Point> = report.days.iter().map(|day| Point { day: day.day, value: day.orders }).collect();
    let repeat = &report.repeat_purchase;
    html! {
        section aria-labelledby="attribution" {
            h2 #attribution { (text::ATTRIBUTION) }
            p.hint { (text::attribution_explained(report.window_days)) }
            dl.totals {
                dt { (text::ATTRIBUTED_ORDERS) } dd { (report.attributed_orders) }
                @if report.orders_without_amount > 0 {
                    dt { (text::ORDERS_WITHOUT_AMOUNT) } dd { (report.orders_without_amount) }
                }
            }
            @if report.revenue.is_empty() {
                p { (text::NO_ATTRIBUTED_REVENUE) }
            } @else {
                table {
                    caption { (text::ATTRIBUTED_REVENUE) }
                    thead { tr {
                        th scope="col" { (text::CURRENCY) } th scope="col" { (text::REVENUE) }
                        th scope="col" { (text::ATTRIBUTED_ORDERS) }
                    } }
                    tbody {
                        @for revenue in &report.revenue {
                            tr {
                                th scope="row" { (revenue.currency) }
                                td data-label=(text::REVENUE) { (amount(revenue.total_minor, &revenue.currency)) }
                                td data-label=(text::ATTRIBUTED_ORDERS) { (revenue.orders) }
                            }
                        }
                    }
                }
            }
            h3 { (text::ATTRIBUTED_ORDERS) }
            (DailyChart {
                id: "attributed-orders",
                title: text::ATTRIBUTED_ORDERS,
                explanation: text::ATTRIBUTED_ORDERS_EXPLAINED,
                points: &orders,
            }
            .render())
            h3 { (text::REPEAT_PURCHASE) }
            table {
                caption { (text::REPEAT_PURCHASE_CAPTION) }
                thead { tr {
                    th scope="col" { (text::CUSTOMERS_GROUP) } th scope="col" { (text::CUSTOMERS_ORDERED) }
                    th scope="col" { (text::REPEAT_CUSTOMERS) } th scope="col" { (text::REPEAT_RATE) }
                } }
                tbody {
                    @for (label, group) in [(text::WITH_FOLLOW_UPS, &repeat.with_follow_up), (text::WITHOUT_FOLLOW_UPS, &repeat.without_follow_up)] {
                        tr {
                            th scope="row" { (label) }
                            td data-label=(text::CUSTOMERS_ORDERED) { (group.customers) }
                            td data-label=(text::REPEAT_CUSTOMERS) { (group.repeat_customers) }
                            td data-label=(text::REPEAT_RATE) { (rate(group)) }
                        }
                    }
                }
            }
        }
    }
}

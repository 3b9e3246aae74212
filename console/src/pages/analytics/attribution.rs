//! Analytics › what the follow-ups brought back: attributed orders (a chart per day), attributed
//! revenue per currency (never summed across currencies), and repeat purchase with and without
//! follow-ups. `recete_shared::analytics::attribution` defines each figure.

use maud::{Markup, html};
use recete_shared::analytics::attribution::{self, AttributionReport};
use recete_shared::analytics::repeat::RepeatGroup;
use recete_shared::analytics::{DayRange, MerchantCalendar};
use recete_shared::db::Tx;

use crate::auth::ConsoleUser;
use crate::chart::{DailyChart, Point};
use crate::error::PageError;
use crate::text;

pub(super) async fn read(
    tx: &mut Tx,
    user: &ConsoleUser,
    calendar: &MerchantCalendar,
    range: DayRange,
) -> Result<AttributionReport, PageError> {
    Ok(attribution::report(tx, user.merchant_id, calendar, range).await?)
}

/// Digits after the decimal point of a currency (ISO 4217); 2 unless listed.
fn minor_digits(currency: &str) -> u32 {
    const NONE: [&str; 16] = [
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
    ];
    const THREE: [&str; 7] = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    if NONE.contains(&currency) {
        0
    } else if THREE.contains(&currency) {
        3
    } else {
        2
    }
}

/// `123456` minor units of `TRY` as `1234.56 TRY`.
pub fn amount(total_minor: i64, currency: &str) -> String {
    let digits = minor_digits(currency);
    if digits == 0 {
        return format!("{total_minor} {currency}");
    }
    let unit = 10_i64.pow(digits);
    let sign = if total_minor < 0 { "-" } else { "" };
    let magnitude = total_minor.unsigned_abs();
    let unit = unit.unsigned_abs();
    format!("{sign}{}.{:0width$} {currency}", magnitude / unit, magnitude % unit, width = digits as usize)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_use_the_currency_s_minor_unit() {
        assert_eq!(amount(123_456, "TRY"), "1234.56 TRY");
        assert_eq!(amount(5, "EUR"), "0.05 EUR");
        assert_eq!(amount(1500, "JPY"), "1500 JPY");
        assert_eq!(amount(1_234, "KWD"), "1.234 KWD");
        assert_eq!(amount(-250, "USD"), "-2.50 USD");
    }
}

//! Attributed revenue: the orders customers placed in the days after a follow-up reached them.
//!
//! The definition, exactly (the README's analytics section says the same):
//! - A *delivered follow-up* is an outbound follow-up message (`messages.proactive`, sent by a
//!   follow-up step) with a `delivered_at`: the time Meta reported it delivered to the phone, or
//!   its read time when a read receipt came with no delivered status (reading implies delivery).
//!   A message sent but never delivered or read never attributes anything.
//! - An order is attributed when its customer had a delivered follow-up strictly before the
//!   order was placed and the order was placed no later than `attribution_window_days` × 24
//!   hours after that delivery (the end of the window included). Its time is `placed_at`, or when
//!   the order was first stored when the store gave no placing time.
//! - The order whose delivery planned the follow-up never counts for that follow-up.
//! - An order counts once, towards the latest delivery before it, however many follow-ups the
//!   customer had.
//! - A cancelled or refunded order (its status now) does not count. The orders table records no
//!   refunded amount: any refund the store reports (Shopify sends one for partial refunds too)
//!   marks the order refunded and removes it whole, while an order the store still reports as
//!   paid or partially refunded counts at its full `total_minor`.
//! - Revenue is summed per currency, never across currencies; an attributed order with no
//!   currency or total counts in `attributed_orders` and `orders_without_amount` only.
//! - The range's days are the merchant's days: an order belongs to the day (in the merchant's
//!   time zone) it was placed; the follow-up may have been delivered before the range began.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::range::{COUNTED_ORDERS, DayRange, MerchantCalendar};
use super::repeat::{self, RepeatPurchase};
use recete_platform::db::Tx;
use recete_platform::ids::MerchantId;
use recete_shared::merchants;

/// Revenue in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CurrencyRevenue {
    /// ISO 4217 code as the store sent it, upper-cased (`TRY`).
    #[schema(example = "TRY")]
    pub currency: String,
    /// The sum of the orders' totals in the currency's minor unit (cents, kuruş).
    pub total_minor: i64,
    /// Orders summed.
    pub orders: i64,
}

/// One day of the series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AttributedDay {
    pub day: NaiveDate,
    /// Orders attributed that day, with or without an amount.
    pub orders: i64,
    /// Every currency of the range's `revenue`, in the same order, zeros included.
    pub revenue: Vec<CurrencyRevenue>,
}

/// Attributed orders and revenue over a range of days, and repeat purchase beside them.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AttributionReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The merchant's IANA time zone, in which the days are counted.
    pub timezone: String,
    /// The attribution window used: the merchant's `attribution_window_days` setting.
    pub window_days: u32,
    /// Orders placed in the range within the window after a delivered follow-up.
    pub attributed_orders: i64,
    /// Of those, orders the store sent with no currency or no total.
    pub orders_without_amount: i64,
    /// Revenue of the attributed orders per currency, by currency code.
    pub revenue: Vec<CurrencyRevenue>,
    /// Every day from `from` to `to`, oldest first.
    pub days: Vec<AttributedDay>,
    pub repeat_purchase: RepeatPurchase,
    pub generated_at: DateTime<Utc>,
}

/// Attributed orders of one day in one currency (`None`: orders without one).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AttributedRow {
    pub day: NaiveDate,
    pub currency: Option<String>,
    pub orders: i64,
    /// Of `orders`, those with a total.
    pub priced_orders: i64,
    pub total_minor: i64,
}

/// The merchant's attribution report for `range`, with its attribution window setting; read in
/// the merchant's tenant transaction. `calendar` is the merchant's, as the range was made with.
pub async fn report(
    tx: &mut Tx,
    merchant: MerchantId,
    calendar: &MerchantCalendar,
    range: DayRange,
) -> Result<AttributionReport, sqlx::Error> {
    let window_days = merchants::settings(tx, merchant).await?.attribution_window_days;
    let rows = attributed(tx, merchant, range, window_days).await?;
    let repeat_purchase = repeat::repeat_purchase(tx, merchant, range).await?;
    Ok(assemble(calendar, range, window_days, &rows, repeat_purchase))
}

/// Attributed orders per day (the merchant's) and currency, for an explicit window: one
/// set-based query.
pub async fn attributed(
    tx: &mut Tx,
    merchant: MerchantId,
    range: DayRange,
    window_days: u32,
) -> Result<Vec<AttributedRow>, sqlx::Error> {
    let window_hours = i32::try_from(window_days.saturating_mul(24)).unwrap_or(i32::MAX);
    sqlx::query_as(&format!(
        "WITH {COUNTED_ORDERS}, attributed AS (
             SELECT c.* FROM counted c
             -- The latest delivered follow-up before the order, if it is recent enough: an
             -- earlier one is further away still, so the order counts once or not at all.
             WHERE EXISTS (
                 SELECT 1 FROM messages m
                 WHERE m.customer_id = c.customer_id AND m.merchant_id = $1
                   AND m.direction = 'outbound' AND m.proactive AND m.delivered_at IS NOT NULL
                   AND m.order_id IS DISTINCT FROM c.id
                   AND m.delivered_at < c.placed_at
                   AND m.delivered_at >= c.placed_at - make_interval(hours => $4)
             )
         )
         SELECT (a.placed_at AT TIME ZONE b.timezone)::date AS day, a.currency,
                count(*) AS orders, count(a.total_minor) AS priced_orders,
                coalesce(sum(a.total_minor), 0)::bigint AS total_minor
         FROM attributed a CROSS JOIN bounds b
         GROUP BY 1, 2
         ORDER BY 1, 2"
    ))
    .bind(merchant)
    .bind(range.from())
    .bind(range.to())
    .bind(window_hours)
    .fetch_all(&mut **tx)
    .await
}

/// The report from the rows of [`attributed`]: totals per currency and every day of the range.
pub fn assemble(
    calendar: &MerchantCalendar,
    range: DayRange,
    window_days: u32,
    rows: &[AttributedRow],
    repeat_purchase: RepeatPurchase,
) -> AttributionReport {
    let mut totals: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    let mut attributed_orders = 0;
    let mut orders_without_amount = 0;
    for row in rows {
        attributed_orders += row.orders;
        match &row.currency {
            Some(currency) => {
                orders_without_amount += row.orders - row.priced_orders;
                let entry = totals.entry(currency.as_str()).or_default();
                entry.0 += row.total_minor;
                entry.1 += row.priced_orders;
            }
            None => orders_without_amount += row.orders,
        }
    }
    totals.retain(|_, (_, priced)| *priced > 0);
    let revenue: Vec<CurrencyRevenue> = totals
        .iter()
        .map(|(currency, (total_minor, orders))| CurrencyRevenue {
            currency: (*currency).to_owned(),
            total_minor: *total_minor,
            orders: *orders,
        })
        .collect();
    let mut rows = rows.iter().peekable();
    let days = range
        .days()
        .map(|day| {
            let mut orders = 0;
            let mut revenue: Vec<CurrencyRevenue> =
                revenue.iter().map(|total| CurrencyRevenue { total_minor: 0, orders: 0, ..total.clone() }).collect();
            while let Some(row) = rows.next_if(|row| row.day <= day) {
                if row.day < day {
                    continue;
                }
                orders += row.orders;
                let currency = row.currency.as_deref();
                if let Some(entry) = revenue.iter_mut().find(|entry| Some(entry.currency.as_str()) == currency) {
                    entry.total_minor += row.total_minor;
                    entry.orders += row.priced_orders;
                }
            }
            AttributedDay { day, orders, revenue }
        })
        .collect();
    AttributionReport {
        from: range.from(),
        to: range.to(),
        timezone: calendar.timezone.clone(),
        window_days,
        attributed_orders,
        orders_without_amount,
        revenue,
        days,
        repeat_purchase,
        generated_at: Utc::now(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repeat::RepeatGroup;

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    fn row(day_text: &str, currency: Option<&str>, orders: i64, priced: i64, total: i64) -> AttributedRow {
        AttributedRow {
            day: day(day_text),
            currency: currency.map(str::to_owned),
            orders,
            priced_orders: priced,
            total_minor: total,
        }
    }

    #[test]
    fn currencies_are_summed_apart_and_every_day_lists_every_currency() {
        let calendar = MerchantCalendar { timezone: "Europe/Istanbul".into(), today: day("2026-03-10") };
        let range = DayRange::new(Some(day("2026-03-01")), Some(day("2026-03-03")), calendar.today).expect("range");
        let rows = [
            row("2026-03-01", Some("EUR"), 1, 1, 4990),
            row("2026-03-01", Some("TRY"), 2, 1, 74990),
            row("2026-03-03", Some("TRY"), 1, 1, 10000),
            row("2026-03-03", None, 1, 0, 0),
        ];
        let empty = RepeatGroup::new(0, 0);
        let repeat = RepeatPurchase { with_follow_up: empty.clone(), without_follow_up: empty };
        let report = assemble(&calendar, range, 7, &rows, repeat);
        assert_eq!(report.attributed_orders, 5);
        assert_eq!(report.orders_without_amount, 2, "a TRY order without total and one without currency");
        let totals: Vec<(&str, i64, i64)> =
            report.revenue.iter().map(|r| (r.currency.as_str(), r.total_minor, r.orders)).collect();
        assert_eq!(totals, [("EUR", 4990, 1), ("TRY", 84990, 2)]);
        assert_eq!(report.days.len(), 3);
        let series: Vec<(i64, Vec<i64>)> =
            report.days.iter().map(|d| (d.orders, d.revenue.iter().map(|r| r.total_minor).collect())).collect();
        assert_eq!(series, [(3, vec![4990, 74990]), (0, vec![0, 0]), (2, vec![0, 10000])]);
    }
}

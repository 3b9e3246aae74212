//! The range of days a report covers: both ends included, in the merchant's time zone, at most
//! [`DayRange::MAX_DAYS`] long, and the last [`DayRange::DEFAULT_DAYS`] days up to today when
//! the caller names no bound.

use chrono::{Days, NaiveDate};
use serde::Serialize;

use recete_platform::db::Tx;
use recete_platform::ids::MerchantId;

/// A validated range of days, `from` to `to` included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DayRange {
    from: NaiveDate,
    to: NaiveDate,
}

/// A bound the range cannot take, naming the parameter at fault (`from` or `to`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {detail}")]
pub struct InvalidRange {
    pub field: &'static str,
    pub detail: String,
}

impl DayRange {
    /// Days in a range at most, both ends included.
    pub const MAX_DAYS: u64 = 366;
    /// Days in the default range, ending today.
    pub const DEFAULT_DAYS: u64 = 30;

    /// The range from the bounds asked for: `to` defaults to `today` (the merchant's), `from` to
    /// 29 days before `to`.
    pub fn new(from: Option<NaiveDate>, to: Option<NaiveDate>, today: NaiveDate) -> Result<Self, InvalidRange> {
        for (field, day) in [("from", from), ("to", to)] {
            if let Some(day) = day {
                plausible(field, day)?;
            }
        }
        let to = to.unwrap_or(today);
        let from = match from {
            Some(from) => from,
            None => to.checked_sub_days(Days::new(Self::DEFAULT_DAYS - 1)).unwrap_or(to),
        };
        if from > to {
            return Err(InvalidRange { field: "from", detail: format!("must not be after `to` ({to})") });
        }
        let span = u64::try_from((to - from).num_days() + 1).unwrap_or(u64::MAX);
        if span > Self::MAX_DAYS {
            return Err(InvalidRange {
                field: "to",
                detail: format!("the range spans {span} days; at most {} are allowed", Self::MAX_DAYS),
            });
        }
        Ok(Self { from, to })
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// Days in the range, both ends included.
    pub fn len(&self) -> usize {
        usize::try_from((self.to - self.from).num_days() + 1).unwrap_or(0)
    }

    /// Never true: a range holds at least one day.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Every day of the range, oldest first.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let to = self.to;
        self.from.iter_days().take_while(move |day| *day <= to)
    }
}

/// Days outside 1970 to 9999 are typing mistakes, and some are beyond what the database stores.
fn plausible(field: &'static str, day: NaiveDate) -> Result<(), InvalidRange> {
    let earliest = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(NaiveDate::MIN);
    let latest = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX);
    if day < earliest || day > latest {
        return Err(InvalidRange { field, detail: format!("{day} is outside 1970-01-01 to 9999-12-31") });
    }
    Ok(())
}

/// The merchant's time zone and the date there now: what a range's defaults are read against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantCalendar {
    /// IANA name (`Europe/Istanbul`).
    pub timezone: String,
    pub today: NaiveDate,
}

/// The merchant's calendar as seen in `tx`; `None` when the transaction cannot see the merchant.
pub async fn calendar(tx: &mut Tx, merchant: MerchantId) -> Result<Option<MerchantCalendar>, sqlx::Error> {
    let row: Option<(String, NaiveDate)> =
        sqlx::query_as("SELECT timezone, (now() AT TIME ZONE timezone)::date FROM merchants WHERE id = $1")
            .bind(merchant)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.map(|(timezone, today)| MerchantCalendar { timezone, today }))
}

/// The orders that count in a range, as a `counted` common table expression after `bounds`
/// (the range's first instant and the instant after it, in the merchant's zone): placed in the
/// range by a known customer, neither cancelled nor refunded. Binds `$1` merchant, `$2` first
/// day, `$3` last day.
pub(super) const COUNTED_ORDERS: &str = "
    bounds AS (
        SELECT mer.timezone,
               $2::date::timestamp AT TIME ZONE mer.timezone AS range_start,
               ($3::date + 1)::timestamp AT TIME ZONE mer.timezone AS range_end
        FROM merchants mer WHERE mer.id = $1
    ), counted AS (
        SELECT o.id, o.customer_id, upper(o.currency) AS currency, o.total_minor,
               coalesce(o.placed_at, o.created_at) AS placed_at
        FROM orders o CROSS JOIN bounds b
        WHERE o.merchant_id = $1 AND o.customer_id IS NOT NULL
          AND o.status NOT IN ('cancelled', 'refunded')
          AND coalesce(o.placed_at, o.created_at) >= b.range_start
          AND coalesce(o.placed_at, o.created_at) < b.range_end
    )";

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    #[test]
    fn ranges_default_to_thirty_days_up_to_today_and_name_the_bound_at_fault() {
        let today = day("2026-03-31");
        let default = DayRange::new(None, None, today).expect("default");
        assert_eq!((default.from(), default.to(), default.len()), (day("2026-03-02"), today, 30));
        let leap = DayRange::new(Some(day("2024-01-01")), Some(day("2024-12-31")), today).expect("a leap year");
        assert_eq!(leap.len(), 366);
        assert_eq!(leap.days().count(), 366);
        let cases = [
            (Some("2026-03-02"), Some("2026-03-01"), "from"),
            (Some("2024-01-01"), Some("2025-01-01"), "to"),
            (Some("1969-12-31"), None, "from"),
            (None, Some("9999-12-31"), "none"),
        ];
        for (from, to, field) in cases {
            let result = DayRange::new(from.map(day), to.map(day), today);
            match result {
                Ok(_) => assert_eq!(field, "none", "{from:?}..{to:?}"),
                Err(error) => assert_eq!(error.field, field, "{from:?}..{to:?}: {error}"),
            }
        }
    }
}

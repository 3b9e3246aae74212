//! Repeat purchase: of the merchant's customers who placed an order in a range, the share who
//! placed another one in the same range, for customers a follow-up reached and for the others.
//!
//! Orders count as for attribution (placed in the range by a known customer, neither cancelled
//! nor refunded, at `placed_at` or else when first stored). A customer *received a follow-up*
//! when a follow-up was delivered to them (or read) at any time before the range's end; the
//! others did not.

use serde::Serialize;
use utoipa::ToSchema;

use super::range::{COUNTED_ORDERS, DayRange};
use recete_platform::db::Tx;
use recete_platform::ids::MerchantId;

/// Customers of one group.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RepeatGroup {
    /// Customers with at least one order in the range.
    pub customers: i64,
    /// Of those, customers with two or more.
    pub repeat_customers: i64,
    /// `repeat_customers / customers`, from 0 to 1; null when there are no customers.
    pub rate: Option<f64>,
}

impl RepeatGroup {
    pub fn new(customers: i64, repeat_customers: i64) -> Self {
        let rate = (customers > 0).then(|| repeat_customers as f64 / customers as f64);
        Self { customers, repeat_customers, rate }
    }
}

/// Repeat purchase with and without a delivered follow-up.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RepeatPurchase {
    /// Customers who had a follow-up delivered before the range's end.
    pub with_follow_up: RepeatGroup,
    /// Customers who had none.
    pub without_follow_up: RepeatGroup,
}

/// Repeat purchase over `range`, in one set-based query in the merchant's transaction.
pub async fn repeat_purchase(
    tx: &mut Tx,
    merchant: MerchantId,
    range: DayRange,
) -> Result<RepeatPurchase, sqlx::Error> {
    let groups: Vec<(bool, i64, i64)> = sqlx::query_as(&format!(
        "WITH {COUNTED_ORDERS}, per_customer AS (
             SELECT customer_id, count(*) AS orders FROM counted GROUP BY customer_id
         ), grouped AS (
             SELECT pc.orders, EXISTS (
                        SELECT 1 FROM messages m CROSS JOIN bounds b
                        WHERE m.customer_id = pc.customer_id AND m.merchant_id = $1
                          AND m.direction = 'outbound' AND m.proactive
                          AND m.delivered_at IS NOT NULL AND m.delivered_at < b.range_end
                    ) AS followed_up
             FROM per_customer pc
         )
         SELECT followed_up, count(*) AS customers, count(*) FILTER (WHERE orders >= 2) AS repeat_customers
         FROM grouped
         GROUP BY followed_up"
    ))
    .bind(merchant)
    .bind(range.from())
    .bind(range.to())
    .fetch_all(&mut **tx)
    .await?;
    let group = |followed_up: bool| {
        let (customers, repeat) = groups
            .iter()
            .find(|(group, _, _)| *group == followed_up)
            .map_or((0, 0), |(_, customers, repeat)| (*customers, *repeat));
        RepeatGroup::new(customers, repeat)
    };
    Ok(RepeatPurchase { with_follow_up: group(true), without_follow_up: group(false) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_without_customers_has_no_rate() {
        assert_eq!(RepeatGroup::new(0, 0).rate, None);
        assert_eq!(RepeatGroup::new(4, 1).rate, Some(0.25));
    }
}

//! A customer's own orders, as the agent may tell them: number, status and dates. The lookup is
//! always by the customer id of the conversation, so no question reaches another customer's
//! order.

use chrono::{DateTime, Utc};
use recete_platform::db::Tx;
use recete_platform::ids::CustomerId;
use recete_shared::languages::OrderPhrases;
use serde::Serialize;
use sqlx::FromRow;

#[derive(Debug, Clone, PartialEq, Serialize, FromRow)]
pub struct OrderSummary {
    pub number: String,
    pub status: String,
    pub placed_at: Option<DateTime<Utc>>,
    pub fulfilled_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// The customer's order with `number` (with or without `#`), or their three latest orders.
pub async fn customer_orders(
    tx: &mut Tx,
    customer: CustomerId,
    number: Option<&str>,
) -> sqlx::Result<Vec<OrderSummary>> {
    let number = number.map(|n| n.trim().trim_start_matches('#').to_owned()).filter(|n| !n.is_empty());
    sqlx::query_as(
        "SELECT coalesce(order_number, external_order_id) AS number, status, placed_at, fulfilled_at, delivered_at, cancelled_at
         FROM orders
         WHERE customer_id = $1
           AND ($2::text IS NULL OR ltrim(coalesce(order_number, ''), '#') = $2 OR external_order_id = $2)
         ORDER BY coalesce(placed_at, created_at) DESC
         LIMIT 3",
    )
    .bind(customer)
    .bind(number)
    .fetch_all(&mut **tx)
    .await
}

/// An order number the customer typed: `#1001`, `order 1001`, or a run of 3 to 20 digits.
pub fn number_in(text: &str) -> Option<String> {
    // Arabic-Indic and Eastern Arabic-Indic digits ("طلب رقم ١٠٤٣") are the same number.
    let text: String = text
        .chars()
        .map(|c| match c {
            '٠'..='٩' => char::from(b'0' + (c as u32 - '٠' as u32) as u8),
            '۰'..='۹' => char::from(b'0' + (c as u32 - '۰' as u32) as u8),
            '،' | '؟' | '؛' => ' ',
            c => c,
        })
        .collect();
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | '?' | '!' | ':' | ';' | '(' | ')'))
        .map(|token| token.trim_end_matches('.'))
        .find_map(|token| {
            let digits = token.strip_prefix('#').unwrap_or(token);
            let plausible = (3..=20).contains(&digits.len())
                && digits.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && digits.chars().filter(char::is_ascii_digit).count() >= 3;
            plausible.then(|| digits.to_owned())
        })
}

/// "Your order #1001 was delivered on 12 March 2026."
pub fn describe(order: &OrderSummary, phrases: &OrderPhrases) -> String {
    let number = if order.number.starts_with('#') { order.number.clone() } else { format!("#{}", order.number) };
    let day = |at: &DateTime<Utc>| at.format(phrases.date_format).to_string();
    let (phrase, date) = match order.status.as_str() {
        "delivered" => match &order.delivered_at {
            Some(at) => (phrases.delivered_on, Some(day(at))),
            None => (phrases.delivered, None),
        },
        "fulfilled" => match &order.fulfilled_at {
            Some(at) => (phrases.shipped_on, Some(day(at))),
            None => (phrases.shipped, None),
        },
        "paid" | "created" => (phrases.preparing, None),
        "cancelled" => (phrases.cancelled, None),
        "refunded" => (phrases.refunded, None),
        _ => (phrases.other, None),
    };
    phrase
        .replace("{number}", &number)
        .replace("{date}", date.as_deref().unwrap_or_default())
        .replace("{status}", &order.status)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use recete_shared::languages::Language;

    use super::*;

    #[test]
    fn order_numbers_are_found_in_messages() {
        assert_eq!(number_in("where is my order #1001?").as_deref(), Some("1001"));
        assert_eq!(number_in("order 20455, it hasn't arrived").as_deref(), Some("20455"));
        assert_eq!(number_in("where is my order?"), None);
        assert_eq!(number_in("I used 2 drops"), None);
        assert_eq!(number_in("وين طلبي رقم ١٠٤٣؟").as_deref(), Some("1043"));
        assert_eq!(number_in("طلب #۲۰۴۵۵، لم يصل").as_deref(), Some("20455"));
    }

    #[test]
    fn statuses_read_as_sentences() {
        let order = OrderSummary {
            number: "1001".into(),
            status: "delivered".into(),
            placed_at: None,
            fulfilled_at: None,
            delivered_at: Utc.with_ymd_and_hms(2026, 3, 12, 10, 0, 0).single(),
            cancelled_at: None,
        };
        let english = &Language::English.phrases().orders;
        assert_eq!(describe(&order, english), "Your order #1001 was delivered on 12 March 2026.");
        assert_eq!(
            describe(&order, &Language::Turkish.phrases().orders),
            "#1001 numaralı siparişiniz 12.03.2026 tarihinde teslim edildi."
        );
        assert_eq!(describe(&order, &Language::Arabic.phrases().orders), "تم توصيل طلبك #1001 بتاريخ 12/03/2026.");
        let shipped = OrderSummary { status: "fulfilled".into(), delivered_at: None, ..order };
        assert_eq!(describe(&shipped, english), "Your order #1001 has been shipped and is on its way.");
        assert_eq!(
            describe(&shipped, &Language::German.phrases().orders),
            "Ihre Bestellung #1001 wurde versandt und ist unterwegs."
        );
        let on_hold = OrderSummary { status: "on_hold".into(), ..shipped };
        assert_eq!(describe(&on_hold, &Language::Spanish.phrases().orders), "Estado de tu pedido #1001: on_hold.");
    }
}

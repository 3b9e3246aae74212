//! What the record pages (orders, customers, the inbox's conversations, analytics) share: the
//! link to each record's page, a customer's name as lists show it, and amounts of money as
//! people write them.

use recete_shared::customers::read::Customer;
use recete_shared::events::parse::major_units;
use uuid::Uuid;

use crate::text;

/// The conversation page of the inbox.
pub fn conversation_href(id: Uuid) -> String {
    format!("/console/inbox/{id}")
}

pub fn order_href(id: Uuid) -> String {
    format!("/console/orders/{id}")
}

pub fn customer_href(id: Uuid) -> String {
    format!("/console/customers/{id}")
}

/// The customer's name as a list shows it.
pub fn display_name(customer: &Customer) -> &str {
    match (&customer.name, customer.erased_at) {
        (_, Some(_)) => text::ERASED_CUSTOMER,
        (Some(name), None) => name,
        (None, None) => text::UNNAMED,
    }
}

/// `123456` minor units of `TRY` as `1234.56 TRY` (the currency's own minor unit, ISO 4217).
pub fn amount(minor: i64, currency: &str) -> String {
    format!("{} {currency}", major_units(minor, Some(currency)))
}

/// `749.90 TRY`, or a dash when the store sent no total.
pub fn money(minor: Option<i64>, currency: Option<&str>) -> String {
    match minor {
        Some(minor) => format!("{} {}", major_units(minor, currency), currency.unwrap_or_default()).trim().to_owned(),
        None => text::NONE_GIVEN.to_owned(),
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
        assert_eq!(money(Some(74990), Some("TRY")), "749.90 TRY");
        assert_eq!(money(Some(1500), None), "15.00");
        assert_eq!(money(None, Some("EUR")), text::NONE_GIVEN);
    }
}

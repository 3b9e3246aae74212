//! One row of an orders file: one line item of an order. Rows sharing an order id are the line
//! items of one order; grouping them is the importer's work, not an error.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ParseOptions;
use crate::columns::Field;
use crate::errors::RowError;
use crate::records::Cells;
use crate::{shown, values};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRow {
    pub line: u64,
    pub order_id: String,
    /// Lower case.
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub name: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub fulfilled_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub status: OrderStatusValue,
    pub sku: Option<String>,
    pub product_title: Option<String>,
    /// At least 1; 1 when the cell is empty.
    pub quantity: u32,
    pub whatsapp_consent: Consent,
    pub consent_at: Option<DateTime<Utc>>,
    /// ISO 4217, upper case.
    pub currency: Option<String>,
    /// The row's total in the currency's minor unit (cents for EUR; 2 decimals when no currency).
    pub total_minor: Option<i64>,
    pub customer_external_id: Option<String>,
    pub product_url: Option<String>,
}

/// An order's status as the file states it or its dates imply.
///
/// Accepted words, in any case, with `_` or `-` for spaces:
/// - created: created, pending, pending payment, awaiting payment, open, new, placed, unpaid,
///   unfulfilled, on hold;
/// - paid: paid, processing, confirmed, authorized, authorised, awaiting shipment;
/// - fulfilled: fulfilled, partially fulfilled, partial, shipped, partially shipped, dispatched,
///   sent, in transit, out for delivery;
/// - delivered: delivered, completed, complete, received;
/// - cancelled: cancelled, canceled, voided, void;
/// - refunded: refunded, returned.
///
/// An empty status follows from the dates: a delivery date means delivered, else a fulfilment
/// date fulfilled, else an order date created. A stated status wins over the dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatusValue {
    Created,
    Paid,
    Fulfilled,
    Delivered,
    Cancelled,
    Refunded,
}

impl OrderStatusValue {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Paid => "paid",
            Self::Fulfilled => "fulfilled",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
            Self::Refunded => "refunded",
        }
    }

    /// Reads the word a store or spreadsheet uses, including the synonyms listed on the type.
    pub fn from_word(raw: &str) -> Option<Self> {
        let status = match values::fold_word(raw).as_str() {
            "created" | "pending" | "pending payment" | "awaiting payment" | "open" | "new" | "placed" | "unpaid"
            | "unfulfilled" | "on hold" => Self::Created,
            "paid" | "processing" | "confirmed" | "authorized" | "authorised" | "awaiting shipment" => Self::Paid,
            "fulfilled"
            | "partially fulfilled"
            | "partial"
            | "shipped"
            | "partially shipped"
            | "dispatched"
            | "sent"
            | "in transit"
            | "out for delivery" => Self::Fulfilled,
            "delivered" | "completed" | "complete" | "received" => Self::Delivered,
            "cancelled" | "canceled" | "voided" | "void" => Self::Cancelled,
            "refunded" | "returned" => Self::Refunded,
            _ => return None,
        };
        Some(status)
    }
}

impl fmt::Display for OrderStatusValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderStatusValue {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_word(s).ok_or_else(|| format!("unknown order status `{s}`"))
    }
}

/// Whether the customer agreed to WhatsApp messages, as the file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Consent {
    Granted,
    Revoked,
    Unknown,
}

impl Consent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Granted => "granted",
            Self::Revoked => "revoked",
            Self::Unknown => "unknown",
        }
    }
}

pub(crate) fn parse(cells: &Cells<'_>, options: &ParseOptions) -> Result<OrderRow, RowError> {
    let line = cells.line;
    let Some(order_id) = cells.identifier(Field::OrderId)? else {
        return Err(cells.empty(Field::OrderId, "the order id is empty"));
    };
    let email = cells.read(Field::Email, values::email, shown::email)?;
    // A phone written without `+` was dialled in the row's own country when it names one, else
    // in the country the import was given (or the merchant's).
    let country = cells.read(Field::Country, values::country, shown::plain)?;
    let phone_country =
        country.as_deref().and_then(|code| code.parse::<phonenumber::country::Id>().ok()).or(options.default_country);
    let phone = cells.read(Field::Phone, |raw| values::phone(raw, phone_country), shown::phone)?;
    if email.is_none() && phone.is_none() {
        return Err(RowError::row(line, "has neither an email nor a phone number"));
    }
    let name = cells.text(Field::Name);
    let date = |field| cells.read(field, |raw| values::datetime(raw, options), shown::plain);
    let created_at = date(Field::CreatedAt)?;
    let fulfilled_at = date(Field::FulfilledAt)?;
    let delivered_at = date(Field::DeliveredAt)?;
    let stated = cells.read(Field::Status, status_word, shown::plain)?;
    let implied = if delivered_at.is_some() {
        Some(OrderStatusValue::Delivered)
    } else if fulfilled_at.is_some() {
        Some(OrderStatusValue::Fulfilled)
    } else {
        created_at.map(|_| OrderStatusValue::Created)
    };
    let Some(status) = stated.or(implied) else {
        return Err(cells.empty(Field::Status, "has no status, and no order, fulfilment or delivery date to tell it"));
    };
    let sku = cells.identifier(Field::Sku)?;
    let product_title = cells.text(Field::ProductTitle);
    let quantity = cells.read(Field::Quantity, values::quantity, shown::plain)?.unwrap_or(1);
    let whatsapp_consent = match cells.read(Field::WhatsappConsent, values::yes_no, shown::plain)?.flatten() {
        Some(true) => Consent::Granted,
        Some(false) => Consent::Revoked,
        None => Consent::Unknown,
    };
    let consent_at = date(Field::ConsentAt)?;
    let currency = cells.read(Field::Currency, values::currency, shown::plain)?;
    let decimals = values::minor_unit_digits(currency.as_deref());
    let total_minor = cells.read(Field::Total, |raw| values::money(raw, decimals), shown::plain)?;
    let customer_external_id = cells.identifier(Field::CustomerId)?;
    let product_url = cells.read(Field::ProductUrl, values::web_address, shown::plain)?;
    Ok(OrderRow {
        line,
        order_id,
        email,
        phone,
        name,
        country,
        created_at,
        fulfilled_at,
        delivered_at,
        status,
        sku,
        product_title,
        quantity,
        whatsapp_consent,
        consent_at,
        currency,
        total_minor,
        customer_external_id,
        product_url,
    })
}

fn status_word(raw: &str) -> Result<OrderStatusValue, String> {
    OrderStatusValue::from_word(raw)
        .ok_or_else(|| "unknown status; use created, paid, fulfilled, delivered, cancelled or refunded".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_their_synonyms() {
        let cases = [
            ("Created", OrderStatusValue::Created),
            ("pending", OrderStatusValue::Created),
            ("PAID", OrderStatusValue::Paid),
            ("processing", OrderStatusValue::Paid),
            ("shipped", OrderStatusValue::Fulfilled),
            ("partially_fulfilled", OrderStatusValue::Fulfilled),
            ("In-Transit", OrderStatusValue::Fulfilled),
            ("completed", OrderStatusValue::Delivered),
            ("canceled", OrderStatusValue::Cancelled),
            ("returned", OrderStatusValue::Refunded),
        ];
        for (word, status) in cases {
            assert_eq!(OrderStatusValue::from_word(word), Some(status), "{word}");
        }
        assert_eq!(OrderStatusValue::from_word("lost"), None);
        for status in [
            OrderStatusValue::Created,
            OrderStatusValue::Paid,
            OrderStatusValue::Fulfilled,
            OrderStatusValue::Delivered,
            OrderStatusValue::Cancelled,
            OrderStatusValue::Refunded,
        ] {
            assert_eq!(status.as_str().parse(), Ok(status));
        }
    }
}

//! One row of an orders file: one line item of an order. Rows sharing an order id (or, in a
//! store's export, an order number) are the line items of one order; [`crate::order_groups`]
//! puts them together.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::cells::Cells;
use crate::customer_columns::{self, Consent};
use crate::errors::RowError;
use crate::fields::Field;
use crate::profiles::{Profile, StatusRule};
use crate::{ParseOptions, shown, values};

/// One row of an orders file as read, before the rows of its order are put together
/// ([`crate::assemble_order`]). In a store's export most order fields are on the order's first
/// row only, so everything but the group is optional here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRow {
    pub line: u64,
    /// What the rows of one order share: the order id, or the export's order number where the
    /// export groups by it (Shopify's `Name`).
    pub group: String,
    /// The store's id of the order, when this row carries it.
    pub order_id: Option<String>,
    /// The number a customer sees (`#1001`), when the file has one.
    pub order_number: Option<String>,
    /// Lower case.
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub name: Option<String>,
    /// ISO 3166-1 alpha-2, upper case: the shipping country, else billing, else `country`.
    pub country: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub fulfilled_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// The status this row states; none when it states none (a later row of an export's order,
    /// or a row whose dates tell the status).
    pub status: Option<OrderStatusValue>,
    /// The store's own status words as written (`paid/fulfilled`), for the audit trail.
    pub platform_status: Option<String>,
    pub sku: Option<String>,
    pub product_title: Option<String>,
    /// At least 1; 1 when the cell is empty.
    pub quantity: u32,
    /// The line's unit price as written, checked to be an amount; turned into minor units once
    /// the order's currency is known (a later row of an export does not repeat it).
    pub unit_price: Option<String>,
    pub whatsapp_consent: Consent,
    pub consent_at: Option<DateTime<Utc>>,
    /// ISO 4217, upper case.
    pub currency: Option<String>,
    /// The order's total in the currency's minor unit (cents for EUR; 2 decimals when no currency).
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

pub(crate) fn parse(cells: &Cells<'_>, options: &ParseOptions) -> Result<OrderRow, RowError> {
    let line = cells.line;
    let group_field = cells.group_by();
    let Some(group) = cells.identifier(group_field)? else {
        let what =
            if group_field == Field::OrderNumber { "the order number is empty" } else { "the order id is empty" };
        return Err(cells.empty(group_field, what));
    };
    let order_id =
        if group_field == Field::OrderId { Some(group.clone()) } else { cells.identifier(Field::OrderId)? };
    let order_number =
        if group_field == Field::OrderNumber { Some(group.clone()) } else { cells.identifier(Field::OrderNumber)? };
    let contact = customer_columns::read(cells, options)?;
    // A row of our template or a spreadsheet is a whole order line; a later row of an export's
    // order is not, and is checked with its order.
    let whole_rows = cells.profile() == Profile::Generic;
    if whole_rows && !contact.reaches() {
        return Err(RowError::row(line, "has neither an email nor a phone number"));
    }
    let date = |field| cells.read(field, |raw| values::datetime(raw, options), shown::plain);
    let created_at = date(Field::CreatedAt)?;
    let paid_at = date(Field::PaidAt)?;
    let fulfilled_at = date(Field::FulfilledAt)?;
    let delivered_at = date(Field::DeliveredAt)?;
    let cancelled_at = date(Field::CancelledAt)?;
    let (status, platform_status) = match cells.status_rule() {
        StatusRule::Words => (cells.read(Field::Status, status_word, shown::plain)?, None),
        StatusRule::WooCommerce => {
            let status = cells.read(Field::Status, woocommerce_status, shown::plain)?;
            (status, cells.text(Field::Status).map(|word| word.to_lowercase()))
        }
        StatusRule::Shopify => shopify_status(cells, cancelled_at.is_some())?,
    };
    let dates = OrderDates { created_at, paid_at, fulfilled_at, delivered_at, cancelled_at };
    // A whole row's status is as stated, else as its dates tell.
    let status = if whole_rows {
        match status.or_else(|| dates.implied_status()) {
            Some(status) => Some(status),
            None => {
                let message = "has no status, and no order, fulfilment or delivery date to tell it";
                return Err(cells.empty(Field::Status, message));
            }
        }
    } else {
        status
    };
    let sku = cells.identifier(Field::Sku)?;
    let product_title = cells.text(Field::ProductTitle);
    let quantity = cells.read(Field::Quantity, values::quantity, shown::plain)?.unwrap_or(1);
    let unit_price = cells.read(Field::UnitPrice, |raw| values::money(raw, 2).map(|_| raw.to_owned()), shown::plain)?;
    let currency = cells.read(Field::Currency, values::currency, shown::plain)?;
    let decimals = values::minor_unit_digits(currency.as_deref());
    let total_minor = cells.read(Field::Total, |raw| values::money(raw, decimals), shown::plain)?;
    let product_url = cells.read(Field::ProductUrl, values::web_address, shown::plain)?;
    Ok(OrderRow {
        line,
        group,
        order_id,
        order_number,
        email: contact.email,
        phone: contact.phone,
        name: contact.name,
        country: contact.country,
        created_at,
        paid_at,
        fulfilled_at,
        delivered_at,
        cancelled_at,
        status,
        platform_status,
        sku,
        product_title,
        quantity,
        unit_price,
        whatsapp_consent: contact.consent,
        consent_at: contact.consent_at,
        currency,
        total_minor,
        customer_external_id: contact.external_id,
        product_url,
    })
}

/// An order's dates, which tell its status where no status is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct OrderDates {
    pub(crate) created_at: Option<DateTime<Utc>>,
    pub(crate) paid_at: Option<DateTime<Utc>>,
    pub(crate) fulfilled_at: Option<DateTime<Utc>>,
    pub(crate) delivered_at: Option<DateTime<Utc>>,
    pub(crate) cancelled_at: Option<DateTime<Utc>>,
}

impl OrderDates {
    /// A cancellation date means cancelled; else the furthest step dated: delivered, fulfilled,
    /// paid, created.
    pub(crate) fn implied_status(&self) -> Option<OrderStatusValue> {
        if self.cancelled_at.is_some() {
            Some(OrderStatusValue::Cancelled)
        } else if self.delivered_at.is_some() {
            Some(OrderStatusValue::Delivered)
        } else if self.fulfilled_at.is_some() {
            Some(OrderStatusValue::Fulfilled)
        } else if self.paid_at.is_some() {
            Some(OrderStatusValue::Paid)
        } else {
            self.created_at.map(|_| OrderStatusValue::Created)
        }
    }

    /// The latest of them: when the order last changed, as far as the file tells.
    pub(crate) fn latest(&self) -> Option<DateTime<Utc>> {
        [self.created_at, self.paid_at, self.fulfilled_at, self.delivered_at, self.cancelled_at]
            .into_iter()
            .flatten()
            .max()
    }
}

fn status_word(raw: &str) -> Result<OrderStatusValue, String> {
    OrderStatusValue::from_word(raw)
        .ok_or_else(|| "unknown status; use created, paid, fulfilled, delivered, cancelled or refunded".to_owned())
}

/// WooCommerce's statuses as its webhooks are read: `completed` is shipped (WooCommerce knows no
/// delivery), `failed`, `on-hold` and drafts are not paid. The `wc-` prefix of the stored slugs
/// and the admin's labels ("Pending payment") are read too.
fn woocommerce_status(raw: &str) -> Result<OrderStatusValue, String> {
    let word = values::fold_word(raw);
    let word = word.strip_prefix("wc ").unwrap_or(&word);
    let status = match word {
        "pending" | "pending payment" | "on hold" | "failed" | "checkout draft" | "draft" => OrderStatusValue::Created,
        "processing" => OrderStatusValue::Paid,
        "completed" | "shipped" => OrderStatusValue::Fulfilled,
        "delivered" => OrderStatusValue::Delivered,
        "cancelled" | "canceled" | "trash" => OrderStatusValue::Cancelled,
        "refunded" => OrderStatusValue::Refunded,
        _ => {
            return Err("unknown WooCommerce status; expected pending, on-hold, processing, completed, cancelled, \
                        refunded or failed"
                .to_owned());
        }
    };
    Ok(status)
}

const SHOPIFY_FINANCIAL: &str =
    "paid, pending, authorized, partially_paid, partially_refunded, refunded, voided or expired";
const SHOPIFY_FULFILLMENT: &str = "fulfilled, partial, unfulfilled or restocked";

/// Shopify's three status columns read together, as its webhooks are: a cancellation date or a
/// voided payment cancels, a full refund refunds, a shipment (whole or partial) fulfils, else a
/// payment pays. A row with none of the three states no status (a later row of its order).
fn shopify_status(cells: &Cells<'_>, cancelled: bool) -> Result<(Option<OrderStatusValue>, Option<String>), RowError> {
    let financial = cells.read(
        Field::FinancialStatus,
        |raw| {
            let word = values::fold_word(raw).replace(' ', "_");
            match word.as_str() {
                "paid" | "pending" | "authorized" | "partially_paid" | "partially_refunded" | "refunded" | "voided"
                | "expired" | "unpaid" => Ok(word),
                _ => Err(format!("unknown financial status; Shopify writes {SHOPIFY_FINANCIAL}")),
            }
        },
        shown::plain,
    )?;
    let fulfillment = cells.read(
        Field::FulfillmentStatus,
        |raw| {
            let word = values::fold_word(raw).replace(' ', "_");
            match word.as_str() {
                "fulfilled" | "partial" | "unfulfilled" | "restocked" | "shipped" => Ok(word),
                _ => Err(format!("unknown fulfillment status; Shopify writes {SHOPIFY_FULFILLMENT}")),
            }
        },
        shown::plain,
    )?;
    if financial.is_none() && fulfillment.is_none() && !cancelled {
        return Ok((None, None));
    }
    let status = if cancelled || financial.as_deref() == Some("voided") {
        OrderStatusValue::Cancelled
    } else if financial.as_deref() == Some("refunded") {
        OrderStatusValue::Refunded
    } else if matches!(fulfillment.as_deref(), Some("fulfilled" | "partial" | "shipped")) {
        OrderStatusValue::Fulfilled
    } else if matches!(financial.as_deref(), Some("paid" | "partially_paid" | "partially_refunded")) {
        OrderStatusValue::Paid
    } else {
        OrderStatusValue::Created
    };
    let words: Vec<String> = [financial, fulfillment].into_iter().flatten().collect();
    Ok((Some(status), (!words.is_empty()).then(|| words.join("/"))))
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

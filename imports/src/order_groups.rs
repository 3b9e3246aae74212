//! Puts the rows of one order together: one order with all its line items.
//!
//! A store's export writes an order's own fields on its first row and the line items on every
//! row; a spreadsheet may repeat them on each row. Either way the rows of one order must agree:
//! two rows naming different store ids, emails, phones, currencies, order dates or totals for
//! one order are reported (the whole order, with the lines that disagree), never merged by
//! picking one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::customer_columns::Consent;
use crate::errors::RowError;
use crate::orders::{OrderDates, OrderRow, OrderStatusValue};
use crate::profiles::Profile;
use crate::values;

/// One order read from a file, its rows put together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportedOrder {
    /// The lines of the file it was read from, in file order.
    pub lines: Vec<u64>,
    /// The store's id of the order: the id its webhooks carry.
    pub order_id: String,
    pub order_number: Option<String>,
    pub status: OrderStatusValue,
    pub platform_status: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub fulfilled_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub country: Option<String>,
    pub customer_external_id: Option<String>,
    pub whatsapp_consent: Consent,
    pub consent_at: Option<DateTime<Utc>>,
    pub currency: Option<String>,
    pub total_minor: Option<i64>,
    pub items: Vec<ImportedItem>,
}

impl ImportedOrder {
    /// When the order last changed, as far as the file tells.
    pub fn latest_date(&self) -> Option<DateTime<Utc>> {
        self.dates().latest()
    }

    fn dates(&self) -> OrderDates {
        OrderDates {
            created_at: self.created_at,
            paid_at: self.paid_at,
            fulfilled_at: self.fulfilled_at,
            delivered_at: self.delivered_at,
            cancelled_at: self.cancelled_at,
        }
    }
}

/// One line of an order; rows naming the same product add up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedItem {
    /// `sku:<sku>`, else `title:<title in lower case>`: what makes two rows one line.
    pub line_key: String,
    pub sku: Option<String>,
    pub title: String,
    pub quantity: u32,
    pub unit_price_minor: Option<i64>,
    pub product_url: Option<String>,
}

/// Puts `rows`, the rows of one order in file order, together; on failure every row of the
/// order gets an error, the disagreeing ones saying with which line and on what.
pub fn assemble_order(rows: &[&OrderRow], profile: Profile) -> Result<ImportedOrder, Vec<RowError>> {
    let Some(first) = rows.first() else {
        return Err(Vec::new());
    };
    let lines: Vec<u64> = rows.iter().map(|row| row.line).collect();
    let order = first.order_number.as_deref().unwrap_or(&first.group);
    let fail_all = |culprit: u64, message: String| -> Vec<RowError> {
        lines
            .iter()
            .map(|line| {
                if *line == culprit {
                    RowError::row(*line, message.clone())
                } else {
                    RowError::row(*line, format!("not imported: line {culprit} of order {order} {message}"))
                }
            })
            .collect()
    };
    let agreed = Agreement { rows, fail_all: &fail_all };
    let order_id = agreed.value("store id", |row| row.order_id.clone())?;
    let email = agreed.value("email", |row| row.email.clone())?;
    let phone = agreed.value("phone", |row| row.phone.clone())?;
    let currency = agreed.value("currency", |row| row.currency.clone())?;
    let created_at = agreed.value("order date", |row| row.created_at)?;
    let total_minor = agreed.value("total", |row| row.total_minor)?;
    let customer_external_id = agreed.value("customer id", |row| row.customer_external_id.clone())?;
    let order_id = match order_id {
        Some(id) => id,
        None if profile.spec().is_none_or(|spec| spec.id_from_group) => first.group.clone(),
        None => {
            let message = format!("has no store id: none of the rows of order {order} has its `Id`");
            return Err(fail_all(first.line, message));
        }
    };
    if email.is_none() && phone.is_none() {
        return Err(fail_all(first.line, format!("is order {order}, which has neither an email nor a phone number")));
    }
    let first_of = |pick: fn(&OrderRow) -> Option<DateTime<Utc>>| rows.iter().find_map(|row| pick(row));
    let dates = OrderDates {
        created_at,
        paid_at: first_of(|row| row.paid_at),
        fulfilled_at: first_of(|row| row.fulfilled_at),
        delivered_at: first_of(|row| row.delivered_at),
        cancelled_at: first_of(|row| row.cancelled_at),
    };
    let stated = if profile == Profile::Generic {
        // A spreadsheet may give each line its own state; the order is as far as its furthest.
        rows.iter().filter_map(|row| row.status).max_by_key(|status| progress(*status))
    } else {
        agreed.value("status", |row| row.status)?
    };
    let Some(status) = stated.or_else(|| dates.implied_status()) else {
        let message = format!("is order {order}, which has no status and no date to tell it");
        return Err(fail_all(first.line, message));
    };
    let items = items(rows, currency.as_deref()).map_err(|(line, message)| fail_all(line, message))?;
    let consent_row = rows.iter().find(|row| row.whatsapp_consent != Consent::Unknown);
    Ok(ImportedOrder {
        lines,
        order_id,
        order_number: first.order_number.clone(),
        status,
        platform_status: rows.iter().find_map(|row| row.platform_status.clone()),
        created_at: dates.created_at,
        paid_at: dates.paid_at,
        fulfilled_at: dates.fulfilled_at,
        delivered_at: dates.delivered_at,
        cancelled_at: dates.cancelled_at,
        email,
        phone,
        name: rows.iter().find_map(|row| row.name.clone()),
        country: rows.iter().find_map(|row| row.country.clone()),
        customer_external_id,
        whatsapp_consent: consent_row.map_or(Consent::Unknown, |row| row.whatsapp_consent),
        consent_at: consent_row.and_then(|row| row.consent_at),
        currency,
        total_minor,
        items,
    })
}

/// How far along the happy path a status is; a cancellation or refund outranks every step of it.
fn progress(status: OrderStatusValue) -> u8 {
    match status {
        OrderStatusValue::Created => 0,
        OrderStatusValue::Paid => 1,
        OrderStatusValue::Fulfilled => 2,
        OrderStatusValue::Delivered => 3,
        OrderStatusValue::Cancelled => 4,
        OrderStatusValue::Refunded => 5,
    }
}

struct Agreement<'a, F> {
    rows: &'a [&'a OrderRow],
    fail_all: &'a F,
}

impl<F: Fn(u64, String) -> Vec<RowError>> Agreement<'_, F> {
    /// The one value the rows give for an order field, or the error naming two that differ.
    fn value<T: PartialEq>(
        &self,
        what: &str,
        pick: impl Fn(&OrderRow) -> Option<T>,
    ) -> Result<Option<T>, Vec<RowError>> {
        let mut found: Option<(u64, T)> = None;
        for row in self.rows {
            let Some(value) = pick(row) else { continue };
            match &found {
                None => found = Some((row.line, value)),
                Some((line, earlier)) if *earlier != value => {
                    let message =
                        format!("gives the order another {what} than line {line}; rows of one order must agree");
                    return Err((self.fail_all)(row.line, message));
                }
                Some(_) => {}
            }
        }
        Ok(found.map(|(_, value)| value))
    }
}

/// The order's lines, one per SKU (or title when a row has no SKU); rows repeating a product
/// add up their quantities. Unit prices are read in the order's currency.
fn items(rows: &[&OrderRow], currency: Option<&str>) -> Result<Vec<ImportedItem>, (u64, String)> {
    let decimals = values::minor_unit_digits(currency);
    let mut items: Vec<ImportedItem> = Vec::new();
    for row in rows {
        let line_key = match (&row.sku, &row.product_title) {
            (Some(sku), _) => format!("sku:{sku}"),
            (None, Some(title)) => format!("title:{}", title.trim().to_lowercase()),
            (None, None) => continue,
        };
        let unit_price_minor = match &row.unit_price {
            Some(price) => Some(values::money(price, decimals).map_err(|message| {
                (
                    row.line,
                    format!(
                        "has a unit price that is not an amount in {}: {message}",
                        currency.unwrap_or("its currency")
                    ),
                )
            })?),
            None => None,
        };
        match items.iter_mut().find(|item| item.line_key == line_key) {
            Some(item) => item.quantity = item.quantity.saturating_add(row.quantity),
            None => items.push(ImportedItem {
                line_key,
                sku: row.sku.clone(),
                title: row.product_title.clone().or_else(|| row.sku.clone()).unwrap_or_default(),
                quantity: row.quantity,
                unit_price_minor,
                product_url: row.product_url.clone(),
            }),
        }
    }
    Ok(items)
}

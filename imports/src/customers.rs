//! One row of a customers file: a customer and their WhatsApp consent, without orders (a store's
//! customer export, or our customers template).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::cells::Cells;
use crate::customer_columns::Consent;
use crate::errors::RowError;
use crate::{ParseOptions, customer_columns};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerRow {
    pub line: u64,
    /// The store's own id of the customer.
    pub external_id: Option<String>,
    /// Lower case.
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub name: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: Option<String>,
    pub whatsapp_consent: Consent,
    pub consent_at: Option<DateTime<Utc>>,
}

pub(crate) fn parse(cells: &Cells<'_>, options: &ParseOptions) -> Result<CustomerRow, RowError> {
    let contact = customer_columns::read(cells, options)?;
    if !contact.reaches() {
        return Err(RowError::row(cells.line, "has neither an email nor a phone number"));
    }
    Ok(CustomerRow {
        line: cells.line,
        external_id: contact.external_id,
        email: contact.email,
        phone: contact.phone,
        name: contact.name,
        country: contact.country,
        whatsapp_consent: contact.consent,
        consent_at: contact.consent_at,
    })
}

//! Reads merchants' order and product history from CSV files as spreadsheets really write them:
//! any of UTF-8, UTF-16 or Windows-1252, comma, semicolon, tab or pipe separated, headers in any
//! order and spelling, local phone and date formats. A file is streamed record by record, so a
//! 50 MB upload never sits in memory, and a bad row is reported with its line and column while
//! the good rows go on.
//!
//! The flow an import job follows: [`CsvRecords::open`] reads the header and fails the whole file
//! only when it cannot be imported at all ([`FileError`]); iterating yields each [`RawRow`] with
//! its line number and decoded fields; [`RawRow::parse`] turns it into an [`OrderRow`] or a
//! [`ProductRow`] or a [`RowError`]; failed rows go back to the merchant through
//! [`ErrorsCsvWriter`].

mod cells;
mod columns;
mod customer_columns;
mod customers;
mod decode;
mod errors;
mod errors_csv;
mod fields;
mod input;
mod order_groups;
mod orders;
mod products;
mod profiles;
mod records;
mod shown;
mod sniff;
mod template;
mod values;

use std::fmt;
use std::io::Cursor;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use columns::{ColumnSpec, columns};
pub use customer_columns::Consent;
pub use customers::CustomerRow;
pub use decode::TextEncoding;
pub use errors::{FileError, RowError};
pub use errors_csv::ErrorsCsvWriter;
pub use input::MAX_RECORD_BYTES;
pub use order_groups::{ImportedItem, ImportedOrder, assemble_order};
pub use orders::{OrderRow, OrderStatusValue};
pub use products::ProductRow;
pub use profiles::Profile;
pub use records::{CsvRecords, MAX_HEADER_BYTES, RawRow};
pub use template::template;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportKind {
    Orders,
    Products,
    /// Customers and their consent, without orders (a store's customer export).
    Customers,
}

impl ImportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Orders => "orders",
            Self::Products => "products",
            Self::Customers => "customers",
        }
    }
}

impl fmt::Display for ImportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown import kind `{0}`: expected `orders`, `products` or `customers`")]
pub struct UnknownImportKind(pub String);

impl FromStr for ImportKind {
    type Err = UnknownImportKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "orders" => Ok(Self::Orders),
            "products" => Ok(Self::Products),
            "customers" => Ok(Self::Customers),
            _ => Err(UnknownImportKind(s.to_owned())),
        }
    }
}

/// What a file cannot say about itself: the merchant's country and time zone, and whether
/// `05/03/2026` is the 5th of March (`day_first`) or the 3rd of May.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// The country a phone number written without `+` was dialled in.
    pub default_country: Option<phonenumber::country::Id>,
    /// The zone of a date or time written without one.
    pub timezone: chrono_tz::Tz,
    /// Read `dd/mm/yyyy` (true) or `mm/dd/yyyy` (false). Dotted dates are always day first.
    pub day_first: bool,
}

impl Default for ParseOptions {
    /// Most of the world writes the day first; the zone and country must come from the merchant.
    fn default() -> Self {
        Self { default_country: None, timezone: chrono_tz::UTC, day_first: true }
    }
}

/// One parsed row of either kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
// Rows come one at a time from `CsvRecords`; only `parse_bytes`, for small files, keeps them all.
#[allow(clippy::large_enum_variant)]
pub enum ParsedRow {
    Order(OrderRow),
    Product(ProductRow),
    Customer(CustomerRow),
}

impl ParsedRow {
    pub fn line(&self) -> u64 {
        match self {
            Self::Order(order) => order.line,
            Self::Product(product) => product.line,
            Self::Customer(customer) => customer.line,
        }
    }
}

/// Everything read from an in-memory file: the good rows and the errors, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFile {
    pub encoding: TextEncoding,
    pub delimiter: u8,
    pub profile: Profile,
    pub headers: Vec<String>,
    pub ignored_columns: Vec<String>,
    /// Every row that read, in file order.
    pub rows: Vec<ParsedRow>,
    /// An orders file's orders, their rows put together, in order of first appearance.
    pub orders: Vec<ImportedOrder>,
    /// Rows that did not read, and rows of orders that could not be put together, by line.
    pub errors: Vec<RowError>,
}

/// Parses a whole file held in memory: the entry point for small files, tests and fuzzing. It
/// must never panic, whatever the bytes. Large uploads go through [`CsvRecords`] instead.
pub fn parse_bytes(bytes: &[u8], kind: ImportKind, options: &ParseOptions) -> Result<ParsedFile, FileError> {
    let mut records = CsvRecords::open(Cursor::new(bytes), kind)?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for record in records.by_ref() {
        match record.and_then(|raw| raw.parse(options)) {
            Ok(row) => rows.push(row),
            Err(error) => errors.push(error),
        }
    }
    let profile = records.profile();
    let mut orders = Vec::new();
    for group in group_orders(rows.iter().filter_map(|row| match row {
        ParsedRow::Order(order) => Some(order),
        _ => None,
    })) {
        match assemble_order(&group, profile) {
            Ok(order) => orders.push(order),
            Err(failures) => errors.extend(failures),
        }
    }
    errors.sort_by_key(|error| error.line);
    Ok(ParsedFile {
        encoding: records.encoding(),
        delimiter: records.delimiter(),
        profile,
        headers: records.headers().to_vec(),
        ignored_columns: records.ignored_columns().to_vec(),
        rows,
        orders,
        errors,
    })
}

/// The rows of each order, in order of the order's first row; an order's rows need not be next
/// to each other.
pub fn group_orders<'a>(rows: impl IntoIterator<Item = &'a OrderRow>) -> Vec<Vec<&'a OrderRow>> {
    let mut groups: Vec<Vec<&'a OrderRow>> = Vec::new();
    let mut positions: std::collections::HashMap<&'a str, usize> = std::collections::HashMap::new();
    for row in rows {
        match positions.get(row.group.as_str()) {
            Some(&position) => groups[position].push(row),
            None => {
                positions.insert(&row.group, groups.len());
                groups.push(vec![row]);
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_kind_round_trips_through_its_name() {
        for kind in [ImportKind::Orders, ImportKind::Products, ImportKind::Customers] {
            assert_eq!(kind.as_str().parse::<ImportKind>(), Ok(kind));
        }
        assert_eq!(" Orders ".parse::<ImportKind>(), Ok(ImportKind::Orders));
        assert_eq!("refunds".parse::<ImportKind>(), Err(UnknownImportKind("refunds".into())));
    }
}

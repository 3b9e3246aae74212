//! One row of a products file: a product of the merchant's catalogue.

use serde::{Deserialize, Serialize};

use crate::cells::Cells;
use crate::errors::RowError;
use crate::fields::Field;
use crate::{shown, values};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRow {
    pub line: u64,
    pub sku: String,
    pub title: String,
    /// An absolute http(s) address.
    pub url: Option<String>,
    pub description: Option<String>,
    pub usage: Option<String>,
    pub ingredients: Option<String>,
    pub warnings: Option<String>,
}

pub(crate) fn parse(cells: &Cells<'_>) -> Result<ProductRow, RowError> {
    let Some(sku) = cells.identifier(Field::Sku)? else {
        return Err(cells.empty(Field::Sku, "the SKU is empty"));
    };
    let Some(title) = cells.text(Field::Title) else {
        return Err(cells.empty(Field::Title, "the title is empty"));
    };
    let url = cells.read(Field::Url, values::web_address, shown::plain)?;
    let text = |field| cells.text(field);
    Ok(ProductRow {
        line: cells.line,
        sku,
        title,
        url,
        description: text(Field::Description),
        usage: text(Field::Usage),
        ingredients: text(Field::Ingredients),
        warnings: text(Field::Warnings),
    })
}

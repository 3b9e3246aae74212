//! A row's values by column, as the row parsers read them: trimmed, parsed, and turned into an
//! error on their own column when they do not read.

use crate::columns::ColumnMap;
use crate::errors::RowError;
use crate::fields::Field;
use crate::profiles::{Profile, StatusRule};
use crate::shown;

/// The longest order id, SKU or customer id accepted.
const MAX_ID_CHARS: usize = 255;

/// A row's values by column, for the row parsers.
pub(crate) struct Cells<'a> {
    pub(crate) line: u64,
    fields: &'a [String],
    map: &'a ColumnMap,
}

impl<'a> Cells<'a> {
    pub(crate) fn new(line: u64, fields: &'a [String], map: &'a ColumnMap) -> Self {
        Self { line, fields, map }
    }

    /// The trimmed value of a column and its header; `None` when the column is absent or the
    /// cell is empty.
    fn get(&self, field: Field) -> Option<(&'a str, &'a str)> {
        let map: &'a ColumnMap = self.map;
        let (position, header) = map.locate(field)?;
        let value = self.fields.get(position)?.trim();
        (!value.is_empty()).then_some((header, value))
    }

    pub(crate) fn profile(&self) -> Profile {
        self.map.profile
    }

    /// The field the rows of one order share.
    pub(crate) fn group_by(&self) -> Field {
        self.map.group_by()
    }

    pub(crate) fn status_rule(&self) -> StatusRule {
        self.map.status_rule()
    }

    /// A free-text value, trimmed.
    pub(crate) fn text(&self, field: Field) -> Option<String> {
        self.get(field).map(|(_, value)| value.to_owned())
    }

    /// Parses a value when the cell has one; a failure becomes an error on that cell, showing
    /// the value through `show`.
    pub(crate) fn read<T>(
        &self,
        field: Field,
        parse: impl Fn(&str) -> Result<T, String>,
        show: fn(&str) -> String,
    ) -> Result<Option<T>, RowError> {
        let Some((header, value)) = self.get(field) else { return Ok(None) };
        parse(value).map(Some).map_err(|message| RowError::cell(self.line, header, Some(show(value)), message))
    }

    /// An id as written (order id, SKU), refused when absurdly long.
    pub(crate) fn identifier(&self, field: Field) -> Result<Option<String>, RowError> {
        let too_long = |value: &str| {
            (value.chars().count() > MAX_ID_CHARS).then(|| format!("is longer than {MAX_ID_CHARS} characters"))
        };
        // Shopify and the errors file write ids as `'7264918307124`, so that spreadsheets keep
        // them as text; the apostrophe is not part of the id.
        let read = |value: &str| {
            let value = value.strip_prefix('\'').unwrap_or(value).trim();
            too_long(value).map_or_else(|| Ok(value.to_owned()), Err)
        };
        self.read(field, read, shown::plain)
    }

    /// An error about a required value that is empty, on its column when the file has one.
    pub(crate) fn empty(&self, field: Field, message: &str) -> RowError {
        match self.map.locate(field) {
            Some((_, header)) => RowError::cell(self.line, header, None, message),
            None => RowError::row(self.line, message),
        }
    }
}

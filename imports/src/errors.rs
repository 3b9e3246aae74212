//! The two ways a file can fail: as a whole (nothing can be imported) or one row at a time.

use std::fmt;
use std::io;

use serde::{Deserialize, Serialize};

/// Why a file cannot be imported at all. Everything else is a [`RowError`] on one row.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty: it needs a header line naming the columns")]
    Empty,
    #[error("the file could not be read: {0}")]
    Unreadable(#[from] io::Error),
    #[error("{0}")]
    NotCsv(&'static str),
    #[error("the first line is longer than {limit} bytes without a line break; this does not look like a CSV file")]
    HeaderTooLong { limit: usize },
    #[error("missing required column{}: {}", if .0.len() == 1 { "" } else { "s" }, .0.join(", "))]
    MissingColumns(Vec<String>),
    #[error("the columns {} all mean `{column}`; keep only one of them", quoted(.headers))]
    DuplicateColumn { column: String, headers: Vec<String> },
    #[error("{reason}")]
    Refused { profile: &'static str, reason: &'static str },
    #[error("this file is a {profile}, which holds {holds}; upload it as {holds}, not {chosen}")]
    WrongKind { profile: &'static str, holds: crate::ImportKind, chosen: crate::ImportKind },
    #[error("line {line}: a record is longer than {limit} bytes (an unclosed quote?); reading stopped there")]
    RecordTooLarge { line: u64, limit: usize },
    #[error("line {line}: the file could not be read further: {source}")]
    ReadFailed { line: u64, source: io::Error },
}

fn quoted(headers: &[String]) -> String {
    headers.iter().map(|header| format!("`{header}`")).collect::<Vec<_>>().join(", ")
}

/// One row that could not be imported, fit to show a merchant: `value` is already made safe
/// (truncated, control characters escaped, phones and emails masked) so a dashboard can print it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// The line of the file the row starts on; the header is line 1.
    pub line: u64,
    /// The column as the file's header names it; `None` when the row as a whole is wrong.
    pub column: Option<String>,
    /// The offending value, shown safely.
    pub value: Option<String>,
    pub message: String,
}

impl RowError {
    pub(crate) fn row(line: u64, message: impl Into<String>) -> Self {
        Self { line, column: None, value: None, message: message.into() }
    }

    pub(crate) fn cell(line: u64, column: &str, value: Option<String>, message: impl Into<String>) -> Self {
        Self { line, column: Some(column.to_owned()), value, message: message.into() }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(column) = &self.column {
            write!(f, ", column `{column}`")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(value) = &self.value {
            write!(f, " (value: {value})")?;
        }
        Ok(())
    }
}

impl std::error::Error for RowError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_is_wrong() {
        let missing = FileError::MissingColumns(vec!["order_id".into(), "email or phone".into()]);
        assert_eq!(missing.to_string(), "missing required columns: order_id, email or phone");
        let one = FileError::MissingColumns(vec!["sku".into()]);
        assert_eq!(one.to_string(), "missing required column: sku");
        let duplicate =
            FileError::DuplicateColumn { column: "email".into(), headers: vec!["Email".into(), "E-mail".into()] };
        assert_eq!(duplicate.to_string(), "the columns `Email`, `E-mail` all mean `email`; keep only one of them");
        let cell = RowError::cell(7, "Quantity", Some("0".into()), "must be a whole number of at least 1");
        assert_eq!(cell.to_string(), "line 7, column `Quantity`: must be a whole number of at least 1 (value: 0)");
        assert_eq!(RowError::row(3, "too few fields").to_string(), "line 3: too few fields");
    }
}

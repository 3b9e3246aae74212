//! The file of failed rows a merchant downloads, fixes and uploads again: the original header
//! and fields, and the reason in a last column.
//!
//! Cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or
//! a carriage return) get a leading `'`, so opening the file never runs what an upload held.

use std::io::{self, Write};

/// The last column's header, unless the file already has a column of that name.
const REASON_HEADER: &str = "error";
const REASON_HEADER_FALLBACK: &str = "import error";

pub struct ErrorsCsvWriter<W: Write> {
    writer: csv::Writer<W>,
    width: usize,
}

impl<W: Write> ErrorsCsvWriter<W> {
    /// Writes the header, comma separated.
    pub fn new(output: W, headers: &[String]) -> io::Result<Self> {
        Self::with_delimiter(output, headers, b',')
    }

    /// Writes the header with the uploaded file's delimiter, so a spreadsheet that opened the
    /// upload opens this file the same way. A UTF-8 byte-order mark comes first, which Excel
    /// needs to read UTF-8.
    pub fn with_delimiter(mut output: W, headers: &[String], delimiter: u8) -> io::Result<Self> {
        output.write_all(b"\xEF\xBB\xBF")?;
        let writer = csv::WriterBuilder::new().delimiter(delimiter).flexible(true).from_writer(output);
        let taken = headers.iter().any(|header| header.trim().eq_ignore_ascii_case(REASON_HEADER));
        let reason = if taken { REASON_HEADER_FALLBACK } else { REASON_HEADER };
        let mut errors = Self { writer, width: headers.len() };
        errors.write_cells(headers, reason)?;
        Ok(errors)
    }

    /// Writes one failed row: its fields as read, padded to the header's width so the reason
    /// stays in the last column, then the reason.
    pub fn write_row(&mut self, fields: &[String], reason: &str) -> io::Result<()> {
        self.write_cells(fields, reason)
    }

    fn write_cells(&mut self, fields: &[String], reason: &str) -> io::Result<()> {
        let padding = self.width.saturating_sub(fields.len());
        let cells = fields.iter().map(String::as_str).chain(std::iter::repeat_n("", padding)).chain([reason]);
        self.writer.write_record(cells.map(neutralised))?;
        Ok(())
    }

    /// Flushes and returns the output.
    pub fn finish(self) -> io::Result<W> {
        self.writer.into_inner().map_err(|error| io::Error::other(error.to_string()))
    }
}

fn neutralised(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}") } else { cell.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|cell| (*cell).to_owned()).collect()
    }

    #[test]
    fn failed_rows_are_written_back_with_their_reason() {
        let mut errors = ErrorsCsvWriter::new(Vec::new(), &strings(&["Order ID", "Phone", "Note"])).expect("header");
        errors.write_row(&strings(&["1001", "555", "a, \"quoted\"\nnote"]), "line 2: not a phone").expect("row");
        errors.write_row(&strings(&["1002"]), "line 3: has 1 field but the header has 3").expect("row");
        let written = String::from_utf8(errors.finish().expect("flush")).expect("utf-8");
        assert_eq!(
            written,
            "\u{feff}Order ID,Phone,Note,error\n\
             1001,555,\"a, \"\"quoted\"\"\nnote\",line 2: not a phone\n\
             1002,,,line 3: has 1 field but the header has 3\n"
        );
    }

    #[test]
    fn formulas_are_neutralised_in_every_cell() {
        let headers = strings(&["=HYPERLINK(\"x\")", "error"]);
        let mut errors = ErrorsCsvWriter::with_delimiter(Vec::new(), &headers, b';').expect("header");
        errors.write_row(&strings(&["+49 151", "@SUM(A1)"]), "-1 is not a quantity").expect("row");
        errors.write_row(&strings(&["\tx", "\ry"]), "fine").expect("row");
        let written = String::from_utf8(errors.finish().expect("flush")).expect("utf-8");
        assert_eq!(
            written,
            "\u{feff}\"'=HYPERLINK(\"\"x\"\")\";error;import error\n\
             '+49 151;'@SUM(A1);'-1 is not a quantity\n\
             '\tx;\"'\ry\";fine\n"
        );
    }
}

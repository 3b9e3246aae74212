//! Streams a file's records, the header already read and matched.
//!
//! Memory stays bounded whatever the file's size. Held at once: the header block (at most
//! [`MAX_HEADER_BYTES`]), the decoder's 8 KiB (UTF-16 only), the CSV reader's 8 KiB, the bytes
//! handed to it and not yet finished as a record (at most [`MAX_RECORD_BYTES`] + 16 KiB), the
//! current record's bytes (no more than that) and its decoded fields (up to three times its
//! bytes, for Windows-1252 text). That is under 6 MiB for a file of any size, and a few tens of
//! KiB for a file of ordinary rows; the rows handed out are the caller's to keep or drop.

use std::io::{self, Chain, Cursor, Read};
use std::sync::Arc;

use crate::cells::Cells;
use crate::columns::ColumnMap;
use crate::customers::{self, CustomerRow};
use crate::decode::{self, Source, TextEncoding};
use crate::errors::{FileError, RowError};
use crate::input::{MAX_RECORD_BYTES, TrackedInput};
use crate::orders::{self, OrderRow};
use crate::products::{self, ProductRow};
use crate::profiles::Profile;
use crate::{ImportKind, ParseOptions, ParsedRow, sniff};

/// The longest header line read before giving up on a file as not CSV.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

const CSV_BUFFER_BYTES: usize = 8 * 1024;

/// Reads records from any reader without holding more than one record at a time.
pub struct CsvRecords<R> {
    records: RecordReader<R>,
    encoding: TextEncoding,
    delimiter: u8,
    headers: Vec<String>,
    ignored: Vec<String>,
    map: Arc<ColumnMap>,
}

impl<R: Read> CsvRecords<R> {
    /// Reads the header, detecting encoding and delimiter, and matches it to `kind`'s columns.
    pub fn open(reader: R, kind: ImportKind) -> Result<Self, FileError> {
        let (mut source, encoding) = decode::open(reader)?;
        let block = sniff::read_header_block(&mut source, MAX_HEADER_BYTES)?;
        let delimiter = sniff::delimiter(&block);
        let input = TrackedInput::new(Cursor::new(block).chain(source));
        let reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(CSV_BUFFER_BYTES)
            .from_reader(input);
        let mut records =
            RecordReader { reader, record: csv::ByteRecord::new(), line: 0, interrupted: None, finished: false };
        let headers: Vec<String> = match records.next_record() {
            Some(Ok(fields)) => fields.into_iter().map(|name| name.trim().to_owned()).collect(),
            Some(Err(_)) => return Err(records.interrupted.take().unwrap_or(FileError::Empty)),
            None => return Err(FileError::Empty),
        };
        let mut ignored = Vec::new();
        let map = Arc::new(ColumnMap::resolve(kind, &headers, &mut ignored)?);
        Ok(Self { records, encoding, delimiter, headers, ignored, map })
    }

    /// Headers of the file that no column uses, as written.
    pub fn ignored_columns(&self) -> &[String] {
        &self.ignored
    }

    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// The header line, decoded and trimmed, in file order.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    pub fn encoding(&self) -> TextEncoding {
        self.encoding
    }

    pub fn kind(&self) -> ImportKind {
        self.map.kind
    }

    /// The origin the header was recognised as.
    pub fn profile(&self) -> Profile {
        self.map.profile
    }

    /// Why reading stopped before the end of the file, if it did. The iterator's last item is
    /// then an error saying the same; rows after that point were not read.
    pub fn interrupted(&self) -> Option<&FileError> {
        self.records.interrupted.as_ref()
    }
}

impl<R: Read> Iterator for CsvRecords<R> {
    /// A record, or the error that ended reading (the last item then).
    type Item = Result<RawRow, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let fields = match self.records.next_record()? {
            Ok(fields) => fields,
            Err(error) => return Some(Err(error)),
        };
        Some(Ok(RawRow { line: self.records.line, fields, map: Arc::clone(&self.map) }))
    }
}

/// The upload as text: the header block already read, then the rest of the decoded stream.
type Text<R> = TrackedInput<Chain<Cursor<Vec<u8>>, Source<R>>>;

struct RecordReader<R> {
    reader: csv::Reader<Text<R>>,
    record: csv::ByteRecord,
    /// The line the last record starts on.
    line: u64,
    interrupted: Option<FileError>,
    finished: bool,
}

impl<R: Read> RecordReader<R> {
    /// The next record with content, decoded. Blank lines and lines of only delimiters are
    /// skipped; a failure ends reading and is kept in `interrupted`.
    fn next_record(&mut self) -> Option<Result<Vec<String>, RowError>> {
        while !self.finished {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => self.finished = true,
                Ok(true) => {
                    let end = self.reader.position().byte();
                    self.line = self.reader.get_mut().record_ended(end);
                    if self.record.iter().all(|field| field.iter().all(u8::is_ascii_whitespace)) {
                        continue;
                    }
                    return Some(Ok(self.record.iter().map(decode::decode_field).collect()));
                }
                Err(error) => {
                    self.finished = true;
                    let line = self.reader.get_ref().line();
                    let (failure, message) = if self.reader.get_ref().overran {
                        let message = format!(
                            "a record is longer than {MAX_RECORD_BYTES} bytes (an unclosed quote?); reading stopped there"
                        );
                        (FileError::RecordTooLarge { line, limit: MAX_RECORD_BYTES }, message)
                    } else {
                        let source = match error.into_kind() {
                            csv::ErrorKind::Io(io) => io,
                            other => io::Error::other(format!("{other:?}")),
                        };
                        let message = format!("the file could not be read further: {source}");
                        (FileError::ReadFailed { line, source }, message)
                    };
                    self.interrupted = Some(failure);
                    return Some(Err(RowError::row(line, message)));
                }
            }
        }
        None
    }
}

/// One record as read: what the errors file writes back, and what parsing turns into a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    /// The line the record starts on; the header is line 1.
    pub line: u64,
    /// The decoded fields, untrimmed, in file order.
    pub fields: Vec<String>,
    map: Arc<ColumnMap>,
}

impl RawRow {
    pub fn kind(&self) -> ImportKind {
        self.map.kind
    }

    /// Parses the row as its file's kind.
    pub fn parse(&self, options: &ParseOptions) -> Result<ParsedRow, RowError> {
        match self.map.kind {
            ImportKind::Orders => self.parse_order(options).map(ParsedRow::Order),
            ImportKind::Products => self.parse_product().map(ParsedRow::Product),
            ImportKind::Customers => self.parse_customer(options).map(ParsedRow::Customer),
        }
    }

    pub fn parse_customer(&self, options: &ParseOptions) -> Result<CustomerRow, RowError> {
        self.expect_kind(ImportKind::Customers)?;
        customers::parse(&self.cells()?, options)
    }

    pub fn parse_order(&self, options: &ParseOptions) -> Result<OrderRow, RowError> {
        self.expect_kind(ImportKind::Orders)?;
        orders::parse(&self.cells()?, options)
    }

    pub fn parse_product(&self) -> Result<ProductRow, RowError> {
        self.expect_kind(ImportKind::Products)?;
        products::parse(&self.cells()?)
    }

    fn expect_kind(&self, kind: ImportKind) -> Result<(), RowError> {
        if self.map.kind == kind {
            Ok(())
        } else {
            Err(RowError::row(self.line, format!("this row is from a file of {}, not {kind}", self.map.kind)))
        }
    }

    /// The row's cells by column, once its field count matches the header.
    fn cells(&self) -> Result<Cells<'_>, RowError> {
        let width = self.map.width;
        let count = self.fields.len();
        let extra_content = self.fields.iter().skip(width).any(|field| !field.trim().is_empty());
        if count < width {
            let hint = if self.fields.iter().any(|field| field.contains('\n')) { " (a quote left open?)" } else { "" };
            return Err(RowError::row(
                self.line,
                format!("has {count} field{} but the header has {width}{hint}", plural(count)),
            ));
        }
        if extra_content {
            return Err(RowError::row(
                self.line,
                format!("has {count} fields but the header has {width} (a value with an unquoted delimiter?)"),
            ));
        }
        Ok(Cells::new(self.line, &self.fields, &self.map))
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}

    #[test]
    fn records_can_move_to_a_blocking_thread() {
        assert_send::<CsvRecords<std::fs::File>>();
        assert_send::<RawRow>();
    }
}

//! A 50 MB upload is read without ever being held: the file is generated on the fly, a counting
//! reader shows how far the importer has pulled ahead of the row it hands out (at most a few
//! buffers, not the file), and the process's peak resident memory barely moves. This test sits
//! alone in its binary so nothing else moves that peak.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use phonenumber::country;
use recete_imports::{CsvRecords, ImportKind, OrderStatusValue, ParseOptions};

const FILE_BYTES: u64 = 50 * 1024 * 1024;
const HEADER: &str = "order_id,email,phone,name,created_at,status,sku,quantity\n";

/// How far the reader may run ahead of the last row handed out, in bytes of the upload: the
/// decoder's and the CSV reader's buffers with room to spare.
const MAX_READ_AHEAD: u64 = 64 * 1024;

/// How much the peak resident memory may grow while reading the whole file.
const MAX_PEAK_GROWTH_KIB: u64 = 8 * 1024;

/// Every row is the same length, so the byte where row `n` ends is known.
fn row(index: u64) -> String {
    format!(
        "{index:08},customer{index:08}@example.com,+49151{index:08},Customer {index:08},2026-03-05 14:00,delivered,SKU-{:04},2\n",
        index % 10_000
    )
}

/// Generates the upload as it is read: UTF-8, or UTF-16 LE with a byte-order mark.
struct GeneratedUpload {
    next_row: u64,
    rows: u64,
    pending: Vec<u8>,
    at: usize,
    wide: bool,
}

impl GeneratedUpload {
    fn new(rows: u64, wide: bool) -> Self {
        let mut upload = Self { next_row: 0, rows, pending: Vec::new(), at: 0, wide };
        if wide {
            upload.pending.extend([0xFF, 0xFE]);
        }
        upload.push(HEADER);
        upload
    }

    fn push(&mut self, text: &str) {
        for byte in text.bytes() {
            self.pending.push(byte);
            if self.wide {
                self.pending.push(0);
            }
        }
    }
}

impl Read for GeneratedUpload {
    /// Fills as much of `buf` as asked, like a file would, generating rows as needed.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            if self.at == self.pending.len() {
                if self.next_row == self.rows {
                    break;
                }
                self.pending.clear();
                self.at = 0;
                let text = row(self.next_row);
                self.push(&text);
                self.next_row += 1;
            }
            let count = (buf.len() - filled).min(self.pending.len() - self.at);
            buf[filled..filled + count].copy_from_slice(&self.pending[self.at..self.at + count]);
            self.at += count;
            filled += count;
        }
        Ok(filled)
    }
}

struct Counting<R> {
    inner: R,
    pulled: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.pulled.set(self.pulled.get() + read as u64);
        Ok(read)
    }
}

/// The peak resident set size of this process so far, in KiB.
fn peak_resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Reads the whole upload, parsing every row, and returns the furthest the reader ran ahead.
fn read_ahead_over_the_whole_file(wide: bool) -> u64 {
    let unit: u64 = if wide { 2 } else { 1 };
    let row_bytes = row(0).len() as u64 * unit;
    let rows = FILE_BYTES / row_bytes;
    let header_bytes = HEADER.len() as u64 * unit + if wide { 2 } else { 0 };
    let pulled = Rc::new(Cell::new(0));
    let upload = Counting { inner: GeneratedUpload::new(rows, wide), pulled: Rc::clone(&pulled) };
    let mut records = CsvRecords::open(upload, ImportKind::Orders).expect("opens");
    let options =
        ParseOptions { default_country: Some(country::Id::DE), timezone: chrono_tz::Europe::Berlin, day_first: true };
    let (mut seen, mut furthest_ahead) = (0u64, 0u64);
    for record in records.by_ref() {
        let raw = record.expect("readable");
        let order = raw.parse_order(&options).expect("every generated row is valid");
        assert_eq!((order.line, order.status, order.quantity), (seen + 2, Some(OrderStatusValue::Delivered), 2));
        seen += 1;
        let row_end = header_bytes + seen * row_bytes;
        furthest_ahead = furthest_ahead.max(pulled.get().saturating_sub(row_end));
    }
    assert_eq!(seen, rows);
    assert!(records.interrupted().is_none());
    assert!(pulled.get() >= FILE_BYTES - row_bytes, "the whole upload was read");
    furthest_ahead
}

#[test]
fn a_50_mb_upload_is_streamed_in_bounded_memory() {
    // Load what is loaded once per process (phone metadata, time zones) before measuring.
    let warm_up = format!("{HEADER}{}", row(0));
    let options = ParseOptions { default_country: Some(country::Id::DE), ..ParseOptions::default() };
    let warmed = recete_imports::parse_bytes(warm_up.as_bytes(), ImportKind::Orders, &options).expect("opens");
    assert_eq!((warmed.rows.len(), warmed.errors.len()), (1, 0));
    let peak_before = peak_resident_kib();
    for wide in [false, true] {
        let ahead = read_ahead_over_the_whole_file(wide);
        eprintln!("read at most {ahead} bytes ahead of the last row (utf-16: {wide})");
        assert!(ahead <= MAX_READ_AHEAD, "read {ahead} bytes ahead of the last row (utf-16: {wide})");
    }
    if let (Some(before), Some(after)) = (peak_before, peak_resident_kib()) {
        let growth = after.saturating_sub(before);
        eprintln!("peak resident memory grew by {growth} KiB reading 2 × 50 MB");
        assert!(growth <= MAX_PEAK_GROWTH_KIB, "peak memory grew by {growth} KiB reading 2 × 50 MB");
    }
}

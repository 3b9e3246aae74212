//! The text stream between the decoder and the CSV reader. It keeps the bytes the reader has
//! been handed but not yet finished a record with, for two reasons: to count lines itself
//! (the CSV reader's own count skips blank lines and lags on CRLF), and to refuse handing over
//! more than [`MAX_RECORD_BYTES`] past the last record's end, so a quote left open cannot grow
//! one record without limit.

use std::collections::VecDeque;
use std::io::{self, Read};

/// The longest record accepted. A longer one almost always means a quote left open, which
/// would swallow the rest of the file into one field; reading stops there with an error.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// What the CSV reader may read ahead of its last record's end: one record and its buffer.
const LOOKAHEAD_BYTES: u64 = (MAX_RECORD_BYTES + 16 * 1024) as u64;

pub(crate) struct TrackedInput<R> {
    inner: R,
    /// Bytes handed over and not yet part of a finished record, starting at `consumed`.
    pending: VecDeque<u8>,
    consumed: u64,
    /// The line `consumed` is on, 1-based; a `\r` just before it is not counted yet because a
    /// `\n` may follow.
    line: u64,
    after_cr: bool,
    /// Set once a read was refused for running past the lookahead.
    pub(crate) overran: bool,
}

impl<R> TrackedInput<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self { inner, pending: VecDeque::new(), consumed: 0, line: 1, after_cr: false, overran: false }
    }

    /// Marks everything up to byte `end` as read by a finished record and returns the line the
    /// record's content starts on (blank lines before it are skipped).
    pub(crate) fn record_ended(&mut self, end: u64) -> u64 {
        let count = usize::try_from(end.saturating_sub(self.consumed)).unwrap_or(usize::MAX).min(self.pending.len());
        let mut record_line = None;
        for byte in self.pending.drain(..count) {
            if record_line.is_none() && byte != b'\r' && byte != b'\n' {
                record_line = Some(self.line + u64::from(self.after_cr));
            }
            match byte {
                b'\n' => {
                    self.line += 1;
                    self.after_cr = false;
                }
                b'\r' => {
                    self.line += u64::from(self.after_cr);
                    self.after_cr = true;
                }
                _ => {
                    self.line += u64::from(self.after_cr);
                    self.after_cr = false;
                }
            }
        }
        self.consumed += count as u64;
        record_line.unwrap_or(self.line)
    }

    /// The line reading has reached: where the next record starts, blank lines aside.
    pub(crate) fn line(&self) -> u64 {
        self.line + u64::from(self.after_cr)
    }
}

impl<R: Read> Read for TrackedInput<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let ahead = self.pending.len() as u64;
        let room = LOOKAHEAD_BYTES.saturating_sub(ahead);
        if room == 0 {
            self.overran = true;
            return Err(io::Error::other("record too large"));
        }
        let len = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..len])?;
        self.pending.extend(&buf[..read]);
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_count_lf_crlf_and_lone_cr_once_each() {
        let text = b"h\r\n\r\na\r\nb\rc\n\nd";
        let mut input = TrackedInput::new(&text[..]);
        let mut sink = Vec::new();
        input.read_to_end(&mut sink).expect("reads");
        // Record ends as a CSV reader reports them: after each record's terminator byte.
        assert_eq!(input.record_ended(2), 1);
        assert_eq!(input.record_ended(7), 3);
        assert_eq!(input.record_ended(10), 4);
        assert_eq!(input.record_ended(12), 5);
        assert_eq!(input.record_ended(15), 7);
        assert_eq!(input.line(), 7);
    }

    #[test]
    fn reading_far_past_the_last_record_is_refused() {
        let mut input = TrackedInput::new(io::repeat(b'x'));
        let mut buf = vec![0; 64 * 1024];
        let mut total = 0u64;
        let error = loop {
            match input.read(&mut buf) {
                Ok(read) => total += read as u64,
                Err(error) => break error,
            }
        };
        assert_eq!(total, LOOKAHEAD_BYTES);
        assert!(input.overran, "{error}");
        input.record_ended(total);
        assert!(input.read(&mut buf).is_ok_and(|read| read > 0));
    }
}

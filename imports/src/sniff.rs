//! Finds the header line and guesses the delimiter from it. Excel writes semicolons where the
//! decimal separator is a comma, tabs for "Unicode text", and other tools use pipes; the header
//! is the one line sure to hold no numbers, so the most frequent candidate outside quotes wins.

use std::io::Read;

use crate::errors::FileError;

const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Reads until the first line with content has ended (outside quotes) or the input ends,
/// returning everything read: the reader goes on from those bytes, so nothing is lost.
pub(crate) fn read_header_block(source: &mut impl Read, limit: usize) -> Result<Vec<u8>, FileError> {
    let mut block = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if header_line(&block).is_some_and(|line| line.complete) {
            return Ok(block);
        }
        if block.len() >= limit {
            return Err(FileError::HeaderTooLong { limit });
        }
        let read = source.read(&mut chunk)?;
        if read == 0 {
            return if header_line(&block).is_some() { Ok(block) } else { Err(FileError::Empty) };
        }
        block.extend_from_slice(&chunk[..read]);
    }
}

struct HeaderLine<'a> {
    text: &'a [u8],
    complete: bool,
}

/// The first line holding more than whitespace and delimiters, and whether its end was seen.
fn header_line(block: &[u8]) -> Option<HeaderLine<'_>> {
    let mut start = 0;
    let mut in_quotes = false;
    for (at, &byte) in block.iter().enumerate() {
        match byte {
            b'"' => in_quotes = !in_quotes,
            b'\n' | b'\r' if !in_quotes => {
                let line = &block[start..at];
                if has_content(line) {
                    return Some(HeaderLine { text: line, complete: true });
                }
                start = at + 1;
            }
            _ => {}
        }
    }
    let rest = &block[start..];
    has_content(rest).then_some(HeaderLine { text: rest, complete: false })
}

fn has_content(line: &[u8]) -> bool {
    line.iter().any(|byte| !byte.is_ascii_whitespace() && !CANDIDATES.contains(byte))
}

/// The delimiter of the header line in `block`; a comma when the header has a single column.
pub(crate) fn delimiter(block: &[u8]) -> u8 {
    let Some(line) = header_line(block) else { return b',' };
    let mut counts = [0usize; CANDIDATES.len()];
    let mut in_quotes = false;
    for &byte in line.text {
        if byte == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes && let Some(slot) = CANDIDATES.iter().position(|&candidate| candidate == byte) {
            counts[slot] += 1;
        }
    }
    // On a tie the earlier candidate wins: `max_by_key` keeps the last maximum, so go backwards.
    let best = (0..CANDIDATES.len()).rev().max_by_key(|&slot| counts[slot]).unwrap_or(0);
    if counts[best] == 0 { b',' } else { CANDIDATES[best] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_frequent_delimiter_outside_quotes_wins() {
        assert_eq!(delimiter(b"order id,email,phone\n1;2;3;4;5\n"), b',');
        assert_eq!(delimiter(b"order id;email;\"phone, mobile\"\r\n"), b';');
        assert_eq!(delimiter(b"order id\temail\tphone"), b'\t');
        assert_eq!(delimiter(b"order id|email|phone\n"), b'|');
        assert_eq!(delimiter(b"\"a;b;c\",d\n"), b',');
        assert_eq!(delimiter(b"sku\n"), b',');
        assert_eq!(delimiter(b"a,b;c\n"), b',');
        assert_eq!(delimiter(b"\n\n;;;\norder id;email\n"), b';');
    }

    #[test]
    fn the_header_block_ends_after_the_first_line_with_content() {
        let mut input: &[u8] = b"\r\n\"order\nid\",email\r\n1,a@b.co\n";
        let block = read_header_block(&mut input, 1024).expect("reads");
        assert!(block.starts_with(b"\r\n\"order\nid\",email\r\n"));
        let mut blank: &[u8] = b"\n \n,,\n";
        assert!(matches!(read_header_block(&mut blank, 1024), Err(FileError::Empty)));
        let mut endless = std::io::repeat(b'x');
        assert!(matches!(read_header_block(&mut endless, 10_000), Err(FileError::HeaderTooLong { limit: 10_000 })));
    }
}

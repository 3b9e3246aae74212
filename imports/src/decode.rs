//! Turns the uploaded bytes into a stream the CSV reader can split: UTF-16 is transcoded to UTF-8
//! on the fly; everything else passes through untouched and each field is decoded on its own,
//! as UTF-8 when its bytes are valid UTF-8 and as Windows-1252 otherwise. Deciding per field
//! keeps a mostly-UTF-8 file with one Latin-1 cell (a row pasted from an old system) right.

use std::io::{self, Chain, Cursor, Read};

use encoding_rs::{UTF_16BE, UTF_16LE, WINDOWS_1252};
use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};
use serde::{Deserialize, Serialize};

use crate::errors::FileError;

/// How the file's text was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextEncoding {
    /// UTF-8 (with or without a byte-order mark), any field that is not valid UTF-8 read as
    /// Windows-1252.
    Utf8,
    Utf16Le,
    Utf16Be,
}

impl TextEncoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Utf8 => "utf-8",
            Self::Utf16Le => "utf-16le",
            Self::Utf16Be => "utf-16be",
        }
    }
}

type Peeked<R> = Chain<Cursor<Vec<u8>>, R>;

/// The uploaded bytes as UTF-8, or as raw bytes to be decoded field by field.
pub(crate) enum Source<R> {
    Raw(Peeked<R>),
    Utf16(Box<DecodeReaderBytes<Peeked<R>, Vec<u8>>>),
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Raw(inner) => inner.read(buf),
            Self::Utf16(inner) => inner.read(buf),
        }
    }
}

/// Looks at the first bytes to tell the encoding, refusing files that are plainly not text.
pub(crate) fn open<R: Read>(mut reader: R) -> Result<(Source<R>, TextEncoding), FileError> {
    let mut start = Vec::with_capacity(4);
    (&mut reader).take(4).read_to_end(&mut start)?;
    if start.starts_with(b"PK\x03\x04") {
        return Err(FileError::NotCsv(
            "this is a zip archive, probably an Excel workbook (.xlsx); save it as CSV and upload that",
        ));
    }
    if start.starts_with(b"\xD0\xCF\x11\xE0") {
        return Err(FileError::NotCsv("this is an Excel 97-2003 workbook (.xls); save it as CSV and upload that"));
    }
    let encoding = match start.as_slice() {
        [0xEF, 0xBB, 0xBF, ..] => {
            start.drain(..3);
            TextEncoding::Utf8
        }
        [0xFF, 0xFE, ..] => TextEncoding::Utf16Le,
        [0xFE, 0xFF, ..] => TextEncoding::Utf16Be,
        // Without a byte-order mark, ASCII text in UTF-16 shows as every other byte zero.
        [a, 0, b, 0] if *a != 0 && *b != 0 => TextEncoding::Utf16Le,
        [0, a, 0, b] if *a != 0 && *b != 0 => TextEncoding::Utf16Be,
        _ => TextEncoding::Utf8,
    };
    let peeked = Cursor::new(start).chain(reader);
    let source = match encoding {
        TextEncoding::Utf8 => Source::Raw(peeked),
        TextEncoding::Utf16Le | TextEncoding::Utf16Be => {
            let wide = if encoding == TextEncoding::Utf16Le { UTF_16LE } else { UTF_16BE };
            let decoder = DecodeReaderBytesBuilder::new().encoding(Some(wide)).strip_bom(true).build(peeked);
            Source::Utf16(Box::new(decoder))
        }
    };
    Ok((source, encoding))
}

/// One field's bytes as text: UTF-8 when they are valid UTF-8, Windows-1252 otherwise (which
/// maps every byte to some character, so nothing is ever lost or refused).
pub(crate) fn decode_field(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8]) -> (Vec<u8>, TextEncoding) {
        let (mut source, encoding) = open(bytes).expect("opens");
        let mut out = Vec::new();
        source.read_to_end(&mut out).expect("reads");
        (out, encoding)
    }

    #[test]
    fn byte_order_marks_pick_the_encoding_and_are_dropped() {
        assert_eq!(read_all(b"\xEF\xBB\xBFa,b\n"), (b"a,b\n".to_vec(), TextEncoding::Utf8));
        assert_eq!(read_all(b"\xFF\xFEa\0,\0\xE9\0"), ("a,é".as_bytes().to_vec(), TextEncoding::Utf16Le));
        assert_eq!(read_all(b"\xFE\xFF\0a\0,\0\xE9"), ("a,é".as_bytes().to_vec(), TextEncoding::Utf16Be));
        assert_eq!(read_all(b"a\0,\0b\0"), (b"a,b".to_vec(), TextEncoding::Utf16Le));
        assert_eq!(read_all(b"ab"), (b"ab".to_vec(), TextEncoding::Utf8));
        assert_eq!(read_all(b""), (Vec::new(), TextEncoding::Utf8));
    }

    #[test]
    fn workbooks_are_refused_by_name() {
        let error = open(&b"PK\x03\x04rest"[..]).err().expect("refused");
        assert!(error.to_string().contains(".xlsx"), "{error}");
        let error = open(&b"\xD0\xCF\x11\xE0rest"[..]).err().expect("refused");
        assert!(error.to_string().contains(".xls"), "{error}");
    }

    #[test]
    fn each_field_is_utf8_or_windows_1252() {
        assert_eq!(decode_field("Müller".as_bytes()), "Müller");
        assert_eq!(decode_field(b"M\xFCller"), "Müller");
        assert_eq!(decode_field(b"\x80 5"), "€ 5");
        assert_eq!(decode_field(b""), "");
    }
}

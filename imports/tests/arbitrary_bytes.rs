//! Whatever bytes arrive, reading never panics and every row or error it reports is well formed.
//! A table of generated inputs (seeded, so a failure reproduces): random bytes, valid files with
//! random damage, and random CSV built from real headers and awkward values.

use phonenumber::country;
use recete_imports::{ImportKind, ParseOptions, ParsedFile, ParsedRow, parse_bytes, template};

/// xorshift64*: deterministic and dependency-free.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const SPECIAL: &[&[u8]] = &[
    b",",
    b";",
    b"\t",
    b"|",
    b"\"",
    b"\"\"",
    b"\r",
    b"\n",
    b"\r\n",
    b"\0",
    b"\xFF\xFE",
    b"\xFE\xFF",
    b"\xEF\xBB\xBF",
    b"\xC3",
    b"\x80",
    b"\xE2\x82",
    b"=",
    b"+",
    b"-",
    b"@",
    b"\xF0\x9F\x98\x80",
];

const HEADERS: &[&str] = &[
    "order_id",
    "Order Number",
    "email",
    "E-Mail",
    "phone",
    "Mobile",
    "name",
    "country",
    "created_at",
    "Order Date",
    "fulfilled_at",
    "delivered_at",
    "status",
    "sku",
    "Product SKU",
    "product_title",
    "quantity",
    "Qty",
    "whatsapp_consent",
    "consent_at",
    "currency",
    "total",
    "customer_id",
    "product_url",
    "title",
    "url",
    "description",
    "usage",
    "ingredients",
    "warnings",
    "notes",
    "",
    "Email",
];

const VALUES: &[&str] = &[
    "",
    " ",
    "1001",
    "ada@example.com",
    "A@B",
    "@",
    "0151 2345 6789",
    "+49 151 23456789",
    "0049",
    "+",
    "00",
    "+1",
    "(415) 555-0100",
    "4.91512E+12",
    "2026-03-05",
    "31/02/2026",
    "05.03.2026 25:61",
    "2026-03-29 02:30",
    "13/13/13",
    "2026-03-05T14:00:00+14:00",
    "9999-12-31T23:59:59Z",
    "0000-01-01",
    "yes",
    "No",
    "unknown",
    "maybe",
    "delivered",
    "shipped",
    "lost",
    "0",
    "-1",
    "4294967296",
    "1.234,56",
    "1,234.56",
    "99999999999999999999",
    "1.2.3",
    "EUR",
    "JPY",
    "KWD",
    "€",
    "https://shop.example.com/p",
    "javascript:alert(1)",
    "DE",
    "XX",
    "Zoë",
    "李小龍",
    "=1+1",
    "\"quoted\"",
    "a\nb",
    "\u{0}",
    "\u{202E}",
];

fn options(random: &mut Random) -> ParseOptions {
    ParseOptions {
        default_country: *random.pick(&[None, Some(country::Id::DE), Some(country::Id::US), Some(country::Id::TR)]),
        timezone: *random.pick(&[chrono_tz::UTC, chrono_tz::Europe::Berlin, chrono_tz::Pacific::Kiritimati]),
        day_first: random.below(2) == 0,
    }
}

fn random_bytes(random: &mut Random) -> Vec<u8> {
    let len = random.below(600);
    (0..len).map(|_| random.next() as u8).collect()
}

fn damaged_file(random: &mut Random) -> Vec<u8> {
    let base: &[u8] = match random.below(5) {
        0 => template(ImportKind::Orders).as_bytes(),
        1 => template(ImportKind::Products).as_bytes(),
        2 => include_bytes!("fixtures/excel_unicode_text.txt"),
        3 => include_bytes!("fixtures/windows1252_semicolon.csv"),
        _ => include_bytes!("fixtures/mixed_utf8_latin1.csv"),
    };
    let mut bytes = base.to_vec();
    for _ in 0..=random.below(6) {
        let at = random.below(bytes.len() + 1);
        match random.below(4) {
            0 => {
                let special = random.pick(SPECIAL);
                bytes.splice(at..at, special.iter().copied());
            }
            1 if at < bytes.len() => bytes[at] = random.next() as u8,
            2 => {
                let end = (at + random.below(40)).min(bytes.len());
                bytes.drain(at..end);
            }
            _ => {
                let end = (at + random.below(80)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
        }
    }
    bytes
}

fn random_csv(random: &mut Random) -> Vec<u8> {
    let delimiter = *random.pick(&[",", ";", "\t", "|"]);
    let width = 1 + random.below(8);
    let cell = |random: &mut Random, text: &str| {
        if random.below(3) == 0 { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
    };
    let mut text = String::new();
    let mut header: Vec<String> = (0..width)
        .map(|_| {
            let name = *random.pick(HEADERS);
            cell(random, name)
        })
        .collect();
    // Most files carry one kind's required columns somewhere, so rows get parsed.
    let required: &[&str] = match random.below(3) {
        0 => &["order_id", "phone", "status"],
        1 => &["sku", "title"],
        _ => &[],
    };
    for name in required {
        let at = random.below(header.len() + 1);
        header.insert(at, (*name).to_owned());
    }
    let width = header.len();
    text.push_str(&header.join(delimiter));
    for _ in 0..random.below(12) {
        let line_end: &&str = random.pick(&["\n", "\r\n", "\r"]);
        text.push_str(line_end);
        let row_width = if random.below(5) == 0 { random.below(width + 3) } else { width };
        let row: Vec<String> = (0..row_width)
            .map(|_| {
                let value = *random.pick(VALUES);
                cell(random, value)
            })
            .collect();
        text.push_str(&row.join(delimiter));
    }
    text.into_bytes()
}

/// What any successful read must satisfy.
fn check(bytes: &[u8], file: &ParsedFile) {
    let line_breaks = bytes.iter().filter(|b| **b == b'\n' || **b == b'\r').count() as u64;
    let last_line = line_breaks + 1;
    let row_lines: Vec<u64> = file.rows.iter().map(ParsedRow::line).collect();
    let error_lines: Vec<u64> = file.errors.iter().map(|error| error.line).collect();
    for lines in [&row_lines, &error_lines] {
        assert!(lines.windows(2).all(|pair| pair[0] < pair[1]), "lines out of order: {lines:?} in {bytes:?}");
        assert!(
            lines.iter().all(|line| (2..=last_line).contains(line)),
            "line beyond the file: {lines:?} in {bytes:?}"
        );
    }
    for error in &file.errors {
        assert!(!error.message.is_empty());
        if let Some(value) = &error.value {
            assert!(
                value.chars().count() <= 65 && !value.chars().any(char::is_control),
                "unsafe shown value {value:?}"
            );
        }
    }
    for row in &file.rows {
        if let ParsedRow::Order(order) = row {
            assert!(order.email.is_some() || order.phone.is_some());
            assert!(order.quantity >= 1);
            if let Some(phone) = &order.phone {
                assert!(phone.starts_with('+') && phone[1..].bytes().all(|b| b.is_ascii_digit()), "{phone}");
            }
            if let Some(email) = &order.email {
                assert!(email.contains('@') && *email == email.to_lowercase(), "{email}");
            }
        }
    }
}

#[test]
fn no_input_makes_reading_panic() {
    let mut random = Random(0x5EED_0F1A_7E00_0001);
    let (mut opened, mut reported) = (0, 0);
    for round in 0..3_000 {
        let bytes = match round % 3 {
            0 => random_bytes(&mut random),
            1 => damaged_file(&mut random),
            _ => random_csv(&mut random),
        };
        let options = options(&mut random);
        for kind in [ImportKind::Orders, ImportKind::Products] {
            if let Ok(file) = parse_bytes(&bytes, kind, &options) {
                check(&bytes, &file);
                opened += 1;
                reported += file.rows.len() + file.errors.len();
            }
        }
    }
    // The generators must reach past the header, or the table proves little.
    assert!(opened > 1_000 && reported > 3_000, "only {opened} inputs opened, {reported} rows reported");
}

//! Files as merchants' spreadsheets and stores really write them, each read to its exact rows
//! and errors.

use chrono::{DateTime, Utc};
use phonenumber::country;
use recete_imports::{
    Consent, CsvRecords, FileError, ImportKind, OrderRow, OrderStatusValue, ParseOptions, ParsedFile, ParsedRow,
    ProductRow, RowError, TextEncoding, parse_bytes,
};

fn berlin() -> ParseOptions {
    ParseOptions { default_country: Some(country::Id::DE), timezone: chrono_tz::Europe::Berlin, day_first: true }
}

fn new_york() -> ParseOptions {
    ParseOptions { default_country: Some(country::Id::US), timezone: chrono_tz::America::New_York, day_first: false }
}

fn orders(bytes: &[u8], options: &ParseOptions) -> ParsedFile {
    parse_bytes(bytes, ImportKind::Orders, options).unwrap_or_else(|error| panic!("file refused: {error}"))
}

fn products(bytes: &[u8]) -> ParsedFile {
    parse_bytes(bytes, ImportKind::Products, &berlin()).unwrap_or_else(|error| panic!("file refused: {error}"))
}

fn at(text: &str) -> Option<DateTime<Utc>> {
    Some(DateTime::parse_from_rfc3339(text).expect("valid test timestamp").with_timezone(&Utc))
}

/// An order row with only the always-present values set.
fn order(line: u64, order_id: &str, status: OrderStatusValue) -> OrderRow {
    OrderRow {
        line,
        group: order_id.to_owned(),
        order_id: Some(order_id.to_owned()),
        order_number: None,
        email: None,
        phone: None,
        name: None,
        country: None,
        created_at: None,
        paid_at: None,
        fulfilled_at: None,
        delivered_at: None,
        cancelled_at: None,
        status: Some(status),
        platform_status: None,
        sku: None,
        product_title: None,
        quantity: 1,
        unit_price: None,
        whatsapp_consent: Consent::Unknown,
        consent_at: None,
        currency: None,
        total_minor: None,
        customer_external_id: None,
        product_url: None,
    }
}

fn some(text: &str) -> Option<String> {
    Some(text.to_owned())
}

fn row_error(line: u64, column: Option<&str>, value: Option<&str>, message: &str) -> RowError {
    RowError { line, column: column.map(str::to_owned), value: value.map(str::to_owned), message: message.to_owned() }
}

fn order_rows(file: &ParsedFile) -> Vec<OrderRow> {
    file.rows
        .iter()
        .map(|row| match row {
            ParsedRow::Order(order) => order.clone(),
            other => panic!("not an order in an orders file: {other:?}"),
        })
        .collect()
}

fn utf16(text: &str, little_endian: bool) -> Vec<u8> {
    let mut bytes = if little_endian { vec![0xFF, 0xFE] } else { vec![0xFE, 0xFF] };
    for unit in text.encode_utf16() {
        bytes.extend(if little_endian { unit.to_le_bytes() } else { unit.to_be_bytes() });
    }
    bytes
}

#[test]
fn utf8_byte_order_mark_and_crlf_line_ends() {
    let file = orders(b"\xEF\xBB\xBFOrder ID,Email,Status\r\n1001,ada@example.com,paid\r\n", &berlin());
    assert_eq!(file.encoding, TextEncoding::Utf8);
    assert_eq!(file.headers, ["Order ID", "Email", "Status"]);
    assert_eq!(
        order_rows(&file),
        [OrderRow { email: some("ada@example.com"), ..order(2, "1001", OrderStatusValue::Paid) }]
    );
    assert_eq!(file.errors, []);
}

#[test]
fn excel_unicode_text_is_utf16_little_endian_and_tab_separated() {
    let file = orders(include_bytes!("fixtures/excel_unicode_text.txt"), &berlin());
    assert_eq!((file.encoding, file.delimiter), (TextEncoding::Utf16Le, b'\t'));
    assert_eq!(
        order_rows(&file),
        [
            OrderRow {
                email: some("zoe@example.com"),
                phone: some("+4915123456789"),
                name: some("Zoë Ångström"),
                created_at: at("2026-03-04T23:00:00Z"),
                ..order(2, "A-1", OrderStatusValue::Delivered)
            },
            OrderRow {
                phone: some("+4930901820"),
                name: some("Jürgen Müller"),
                created_at: at("2026-03-05T23:00:00Z"),
                ..order(3, "A-2", OrderStatusValue::Fulfilled)
            },
        ]
    );
    assert_eq!(file.errors, []);
}

#[test]
fn utf16_big_endian_with_a_byte_order_mark() {
    let bytes = utf16("order_id;phone;name;status\n7;+49 151 23456789;Ærøskøbing Søren;created\n", false);
    let file = orders(&bytes, &berlin());
    assert_eq!((file.encoding, file.delimiter), (TextEncoding::Utf16Be, b';'));
    assert_eq!(
        order_rows(&file),
        [OrderRow {
            phone: some("+4915123456789"),
            name: some("Ærøskøbing Søren"),
            ..order(2, "7", OrderStatusValue::Created)
        }]
    );
}

#[test]
fn windows_1252_with_semicolons_and_comma_decimals() {
    let file = orders(include_bytes!("fixtures/windows1252_semicolon.csv"), &berlin());
    assert_eq!((file.encoding, file.delimiter), (TextEncoding::Utf8, b';'));
    assert_eq!(
        order_rows(&file),
        [
            OrderRow {
                email: some("juergen@example.de"),
                phone: some("+4915123456789"),
                name: some("Jürgen Müller"),
                created_at: at("2026-03-05T13:00:00Z"),
                currency: some("EUR"),
                total_minor: Some(123_456),
                ..order(2, "1001", OrderStatusValue::Created)
            },
            OrderRow {
                email: some("francois@example.fr"),
                name: some("François Dubois"),
                created_at: at("2026-03-05T23:00:00Z"),
                currency: some("EUR"),
                total_minor: Some(1_250),
                ..order(3, "1002", OrderStatusValue::Created)
            },
        ]
    );
    assert_eq!(file.errors, []);
}

#[test]
fn one_latin1_cell_in_a_utf8_file_reads_right() {
    let file = orders(include_bytes!("fixtures/mixed_utf8_latin1.csv"), &berlin());
    let names: Vec<_> = order_rows(&file).into_iter().map(|row| row.name).collect();
    assert_eq!(names, [some("Ana Peña"), some("José Müller"), some("李小龍")]);
    assert_eq!(file.errors, []);
}

#[test]
fn the_delimiter_is_sniffed_from_the_header_outside_quotes() {
    for delimiter in [",", ";", "\t", "|"] {
        let text = format!(
            "order_id{d}email{d}\"note, or; other\tremark|aside\"{d}status\n1001{d}ada@example.com{d}\"a,b;c\td|e\"{d}paid\n",
            d = delimiter
        );
        let file = orders(text.as_bytes(), &berlin());
        assert_eq!(file.delimiter, delimiter.as_bytes()[0], "{delimiter:?}");
        assert_eq!(file.ignored_columns, ["note, or; other\tremark|aside"], "{delimiter:?}");
        assert_eq!(
            order_rows(&file),
            [OrderRow { email: some("ada@example.com"), ..order(2, "1001", OrderStatusValue::Paid) }],
            "{delimiter:?}"
        );
        assert_eq!(file.errors, [], "{delimiter:?}");
    }
    let semicolons = orders(b"order id;email;status;total\n1;a@b.de;paid;1.234,56\n2;c@d.de;paid;7,5\n", &berlin());
    let totals: Vec<_> = order_rows(&semicolons).into_iter().map(|row| row.total_minor).collect();
    assert_eq!(totals, [Some(123_456), Some(750)]);
}

#[test]
fn quoted_fields_hold_delimiters_quotes_and_newlines() {
    let text = "order_id,name,email,status,product_title\n\
                1,\"Lovelace, Ada\",ada@example.com,paid,\"Serum \"\"Glow\"\"\"\n\
                2,\"Grace\nHopper\",grace@example.com,paid,\"Line one\r\nline two\"\n\
                3,Alan,alan@example.com,paid,Cream\n";
    let file = orders(text.as_bytes(), &berlin());
    assert_eq!(
        order_rows(&file),
        [
            OrderRow {
                name: some("Lovelace, Ada"),
                email: some("ada@example.com"),
                product_title: some("Serum \"Glow\""),
                ..order(2, "1", OrderStatusValue::Paid)
            },
            OrderRow {
                name: some("Grace\nHopper"),
                email: some("grace@example.com"),
                product_title: some("Line one\r\nline two"),
                ..order(3, "2", OrderStatusValue::Paid)
            },
            OrderRow {
                name: some("Alan"),
                email: some("alan@example.com"),
                product_title: some("Cream"),
                ..order(6, "3", OrderStatusValue::Paid)
            },
        ]
    );
}

#[test]
fn blank_lines_and_lines_of_only_delimiters_are_skipped() {
    let text = "\n\norder_id;email;status\n\n1;a@example.com;paid\n;;\n   \n ; ; \n2;b@example.com;paid\n\n";
    let file = orders(text.as_bytes(), &berlin());
    let lines: Vec<_> = file.rows.iter().map(ParsedRow::line).collect();
    assert_eq!(lines, [5, 9]);
    assert_eq!(file.errors, []);
}

#[test]
fn headers_match_by_alias_in_any_case_and_order_and_unknown_ones_are_listed() {
    let text = "Internal Note,MOBILE,Product SKU,order number,E-Mail,Qty,Fulfillment Status,Gift Wrap\n\
                vip,0151 2345 6789,SERUM-30,1001,Ada@Example.com,2,Shipped,yes\n";
    let file = orders(text.as_bytes(), &berlin());
    assert_eq!(file.ignored_columns, ["Internal Note", "Gift Wrap"]);
    assert_eq!(
        order_rows(&file),
        [OrderRow {
            email: some("ada@example.com"),
            phone: some("+4915123456789"),
            sku: some("SERUM-30"),
            quantity: 2,
            ..order(2, "1001", OrderStatusValue::Fulfilled)
        }]
    );
}

#[test]
fn files_that_cannot_be_imported_say_why() {
    let missing = parse_bytes(b"name,notes\nAda,x\n", ImportKind::Orders, &berlin()).err();
    let Some(FileError::MissingColumns(columns)) = missing else { panic!("{missing:?}") };
    assert_eq!(columns, ["order_id", "email or phone", "status (or created_at, fulfilled_at or delivered_at)"]);

    let duplicate = parse_bytes(b"sku,title,Product Name\n1,a,b\n", ImportKind::Products, &berlin()).err();
    let Some(FileError::DuplicateColumn { column, headers }) = duplicate else { panic!("{duplicate:?}") };
    assert_eq!((column.as_str(), headers), ("title", vec!["title".to_owned(), "Product Name".to_owned()]));

    for empty in [&b""[..], b"\xEF\xBB\xBF", b"\n\r\n", b";;;\n,,\n", b"\xFF\xFE"] {
        let error = parse_bytes(empty, ImportKind::Orders, &berlin()).err();
        assert!(matches!(error, Some(FileError::Empty)), "{empty:?}: {error:?}");
    }

    let workbook = parse_bytes(b"PK\x03\x04\x14\x00\x06\x00", ImportKind::Orders, &berlin()).err();
    assert!(matches!(workbook, Some(FileError::NotCsv(_))), "{workbook:?}");

    let header_only = orders(b"order_id,email,status\n", &berlin());
    assert_eq!((header_only.rows.len(), header_only.errors.len()), (0, 0));
}

#[test]
fn rows_with_too_few_or_too_many_fields_are_row_errors() {
    let text = "order_id,email,status,\n\
                1,a@example.com\n\
                2,b@example.com,paid,,,\n\
                3,c@example.com,paid,extra\n\
                4,\"d@example.com,paid\n\
                5,e@example.com,paid\n";
    let file = orders(text.as_bytes(), &berlin());
    assert_eq!(order_rows(&file), [OrderRow { email: some("b@example.com"), ..order(3, "2", OrderStatusValue::Paid) }]);
    assert_eq!(
        file.errors,
        [
            row_error(2, None, None, "has 2 fields but the header has 3"),
            row_error(4, None, None, "has 4 fields but the header has 3 (a value with an unquoted delimiter?)"),
            row_error(5, None, None, "has 2 fields but the header has 3 (a quote left open?)"),
        ]
    );
}

#[test]
fn dates_in_every_accepted_form_in_the_merchants_zone() {
    let text = "order_id,email,created_at,fulfilled_at,delivered_at\n\
                1,a@example.com,2026-03-05,,\n\
                2,a@example.com,2026-03-05T14:00:00Z,2026-03-06 14:00,\n\
                3,a@example.com,05.03.2026,,05/03/2026\n\
                4,a@example.com,2026-03-05 14:00:00 +0100,,\n\
                5,a@example.com,31/12/2026,,\n\
                6,a@example.com,someday,,\n";
    let day_first = orders(text.as_bytes(), &berlin());
    assert_eq!(
        order_rows(&day_first),
        [
            OrderRow {
                email: some("a@example.com"),
                created_at: at("2026-03-04T23:00:00Z"),
                ..order(2, "1", OrderStatusValue::Created)
            },
            OrderRow {
                email: some("a@example.com"),
                created_at: at("2026-03-05T14:00:00Z"),
                fulfilled_at: at("2026-03-06T13:00:00Z"),
                ..order(3, "2", OrderStatusValue::Fulfilled)
            },
            OrderRow {
                email: some("a@example.com"),
                created_at: at("2026-03-04T23:00:00Z"),
                delivered_at: at("2026-03-04T23:00:00Z"),
                ..order(4, "3", OrderStatusValue::Delivered)
            },
            OrderRow {
                email: some("a@example.com"),
                created_at: at("2026-03-05T13:00:00Z"),
                ..order(5, "4", OrderStatusValue::Created)
            },
            OrderRow {
                email: some("a@example.com"),
                created_at: at("2026-12-30T23:00:00Z"),
                ..order(6, "5", OrderStatusValue::Created)
            },
        ]
    );
    let unreadable = "not a date; write it as 2026-03-05, 05.03.2026 or day first, 05/03/2026";
    assert_eq!(day_first.errors, [row_error(7, Some("created_at"), Some("someday"), unreadable)]);

    let month_first = orders(text.as_bytes(), &new_york());
    let delivered: Vec<_> = order_rows(&month_first).into_iter().map(|row| (row.line, row.delivered_at)).collect();
    assert_eq!(delivered[2], (4, at("2026-05-03T04:00:00Z")));
    assert_eq!(order_rows(&month_first)[0].created_at, at("2026-03-05T05:00:00Z"));
    assert_eq!(
        month_first.errors,
        [
            row_error(6, Some("created_at"), Some("31/12/2026"), "no such date when read month first, 03/05/2026"),
            row_error(
                7,
                Some("created_at"),
                Some("someday"),
                "not a date; write it as 2026-03-05, 05.03.2026 or month first, 03/05/2026"
            ),
        ]
    );
}

#[test]
fn amounts_with_decimal_commas_or_points() {
    let text = "order_id;email;status;currency;total\n\
                1;a@example.com;paid;EUR;1.234,56\n\
                2;a@example.com;paid;USD;\"1,234.56\"\n\
                3;a@example.com;paid;JPY;1.500\n\
                4;a@example.com;paid;EUR;12,345,6\n\
                5;a@example.com;paid;EURO;1\n";
    let file = orders(text.as_bytes(), &berlin());
    let totals: Vec<_> = order_rows(&file).into_iter().map(|row| (row.currency, row.total_minor)).collect();
    assert_eq!(totals, [(some("EUR"), Some(123_456)), (some("USD"), Some(123_456)), (some("JPY"), Some(1_500))]);
    assert_eq!(
        file.errors,
        [
            row_error(5, Some("total"), Some("12,345,6"), "not an amount; write it as 1234.56 or 1234,56"),
            row_error(6, Some("currency"), Some("EURO"), "not a three-letter currency code such as EUR or USD"),
        ]
    );
}

#[test]
fn quantities_must_be_positive_whole_numbers() {
    let text = "order_id,email,status,quantity\n1,a@x.de,paid,\n2,a@x.de,paid,3\n3,a@x.de,paid,0\n4,a@x.de,paid,1.5\n";
    let file = orders(text.as_bytes(), &berlin());
    let quantities: Vec<_> = order_rows(&file).into_iter().map(|row| (row.line, row.quantity)).collect();
    assert_eq!(quantities, [(2, 1), (3, 3)]);
    let message = "must be a whole number of at least 1";
    assert_eq!(
        file.errors,
        [row_error(4, Some("quantity"), Some("0"), message), row_error(5, Some("quantity"), Some("1.5"), message)]
    );
}

#[test]
fn consent_reads_yes_no_and_unknown_in_any_case() {
    let mut text = String::from("order_id,email,status,WhatsApp Consent,consent_at\n");
    let answers = ["YES", "y", "True", "1", "no", "N", "false", "0", "unknown", "", "perhaps"];
    for (at, answer) in answers.iter().enumerate() {
        text.push_str(&format!("{at},a@x.de,paid,{answer},2026-03-05\n"));
    }
    let file = orders(text.as_bytes(), &berlin());
    let consents: Vec<_> = order_rows(&file).into_iter().map(|row| row.whatsapp_consent).collect();
    let (granted, revoked, unknown) = (Consent::Granted, Consent::Revoked, Consent::Unknown);
    assert_eq!(consents, [granted, granted, granted, granted, revoked, revoked, revoked, revoked, unknown, unknown]);
    assert_eq!(order_rows(&file)[0].consent_at, at("2026-03-04T23:00:00Z"));
    let message = "expected yes, no or unknown (or y/n, true/false, 1/0)";
    assert_eq!(file.errors, [row_error(12, Some("WhatsApp Consent"), Some("perhaps"), message)]);
}

#[test]
fn phones_in_local_formats_become_e164_and_bad_ones_are_masked() {
    let text = "order_id,phone,status\n\
                1,0151 2345 6789,paid\n\
                2,+49 151 23456789,paid\n\
                3,0049 151 23456789,paid\n\
                4,(415) 555-0100,paid\n\
                5,12345678,paid\n";
    // In Germany, (415) 555-0100 is a valid landline number; the store's country decides.
    let file = orders(text.as_bytes(), &berlin());
    let phones: Vec<_> = order_rows(&file).into_iter().map(|row| (row.line, row.phone)).collect();
    assert_eq!(
        phones,
        [
            (2, some("+4915123456789")),
            (3, some("+4915123456789")),
            (4, some("+4915123456789")),
            (5, some("+494155550100"))
        ]
    );
    let message = "not a valid phone number for DE or in international form";
    assert_eq!(file.errors, [row_error(6, Some("phone"), Some("***78"), message)]);

    let american = orders(text.as_bytes(), &new_york());
    let phones: Vec<_> = order_rows(&american).into_iter().map(|row| (row.line, row.phone)).collect();
    assert_eq!(phones, [(3, some("+4915123456789")), (4, some("+4915123456789")), (5, some("+14155550100"))]);
    let message = "not a valid phone number for US or in international form";
    assert_eq!(
        american.errors,
        [row_error(2, Some("phone"), Some("***89"), message), row_error(6, Some("phone"), Some("***78"), message)]
    );
}

#[test]
fn emails_are_lowercased_and_bad_ones_masked_to_their_domain() {
    let text = "order_id,email,status\n1, Ada@Example.COM ,paid\n2,ada(at)example.com,paid\n3,grace@localhost,paid\n";
    let file = orders(text.as_bytes(), &berlin());
    assert_eq!(
        order_rows(&file),
        [OrderRow { email: some("ada@example.com"), ..order(2, "1", OrderStatusValue::Paid) }]
    );
    assert_eq!(
        file.errors,
        [
            row_error(3, Some("email"), Some("***"), "not an email address"),
            row_error(4, Some("email"), Some("***@localhost"), "not an email address"),
        ]
    );
}

#[test]
fn every_order_row_needs_an_id_a_contact_and_a_status() {
    let text = "order_id,email,phone,status,delivered_at\n\
                ,a@x.de,,paid,\n\
                2,,,paid,\n\
                3,a@x.de,,,\n\
                4,a@x.de,,lost,\n\
                5,a@x.de,,,2026-03-08\n\
                5,a@x.de,,,2026-03-08\n";
    let file = orders(text.as_bytes(), &berlin());
    let delivered = OrderRow {
        email: some("a@x.de"),
        delivered_at: at("2026-03-07T23:00:00Z"),
        ..order(6, "5", OrderStatusValue::Delivered)
    };
    assert_eq!(order_rows(&file), [delivered.clone(), OrderRow { line: 7, ..delivered }]);
    assert_eq!(
        file.errors,
        [
            row_error(2, Some("order_id"), None, "the order id is empty"),
            row_error(3, None, None, "has neither an email nor a phone number"),
            row_error(4, Some("status"), None, "has no status, and no order, fulfilment or delivery date to tell it"),
            row_error(
                5,
                Some("status"),
                Some("lost"),
                "unknown status; use created, paid, fulfilled, delivered, cancelled or refunded"
            ),
        ]
    );
}

#[test]
fn products_need_a_sku_and_a_title() {
    let text = "SKU,Product Name,Product URL,How to use,INCI,Notes\n\
                SERUM-30,Vitamin C Serum,https://shop.example.com/p/serum,Four drops,\"Aqua, Glycerin\",x\n\
                ,Nameless,,,,\n\
                CREAM,,,,,\n\
                SPF,Sunscreen,shop.example.com/p/spf,,,\n";
    let file = products(text.as_bytes());
    assert_eq!(file.ignored_columns, ["Notes"]);
    assert_eq!(
        file.rows,
        [ParsedRow::Product(ProductRow {
            line: 2,
            sku: "SERUM-30".into(),
            title: "Vitamin C Serum".into(),
            url: some("https://shop.example.com/p/serum"),
            description: None,
            usage: some("Four drops"),
            ingredients: some("Aqua, Glycerin"),
            warnings: None,
        })]
    );
    assert_eq!(
        file.errors,
        [
            row_error(3, Some("SKU"), None, "the SKU is empty"),
            row_error(4, Some("Product Name"), None, "the title is empty"),
            row_error(
                5,
                Some("Product URL"),
                Some("shop.example.com/p/spf"),
                "not a web address; it should start with https://"
            ),
        ]
    );
}

#[test]
fn shown_values_are_cut_and_escaped() {
    let long = format!("{}\u{7}", "9".repeat(80));
    let text = format!("order_id,email,status,quantity\n1,a@x.de,paid,\"{long}\"\n2,a@x.de,paid,\"x\ty\"\n");
    let file = orders(text.as_bytes(), &berlin());
    let shown: Vec<_> = file.errors.iter().map(|error| error.value.clone()).collect();
    assert_eq!(shown, [Some(format!("{}…", "9".repeat(64))), some("x\\ty")]);
}

#[test]
fn a_record_left_open_stops_reading_with_the_rows_before_it_kept() {
    let mut text = b"order_id,email,status\n1,a@x.de,paid\n2,\"b@x.de,paid\n".to_vec();
    text.extend(std::iter::repeat_n(b'x', recete_imports::MAX_RECORD_BYTES + 64 * 1024));
    let mut records = CsvRecords::open(text.as_slice(), ImportKind::Orders).expect("opens");
    let first = records.next().expect("a row").expect("readable");
    assert_eq!((first.line, first.fields), (2, vec!["1".to_owned(), "a@x.de".to_owned(), "paid".to_owned()]));
    let stop = records.next().expect("an error").expect_err("reading stops");
    assert_eq!(stop.line, 3);
    assert_eq!(
        stop.to_string(),
        "line 3: a record is longer than 1048576 bytes (an unclosed quote?); reading stopped there"
    );
    assert!(records.next().is_none());
    assert!(matches!(records.interrupted(), Some(FileError::RecordTooLarge { line: 3, .. })));
}

#[test]
fn a_read_failure_midway_ends_the_rows_with_an_error() {
    struct FailsAfter<'a>(&'a [u8]);
    impl std::io::Read for FailsAfter<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::other("connection reset"));
            }
            let count = buf.len().min(self.0.len());
            buf[..count].copy_from_slice(&self.0[..count]);
            self.0 = &self.0[count..];
            Ok(count)
        }
    }
    let mut records =
        CsvRecords::open(FailsAfter(b"sku,title\nA,Alpha\nB,Beta\n"), ImportKind::Products).expect("opens");
    let rows: Vec<_> = records.by_ref().collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1].as_ref().map(|row| row.fields.clone()), Ok(vec!["B".to_owned(), "Beta".to_owned()]));
    let stop = rows[2].as_ref().expect_err("the failure");
    assert_eq!(stop.to_string(), "line 4: the file could not be read further: connection reset");
    assert!(matches!(records.interrupted(), Some(FileError::ReadFailed { line: 4, .. })));
}

#[test]
fn a_local_phone_is_read_in_the_rows_own_country_and_without_any_country_the_error_names_the_fix() {
    let file = b"order_id,phone,country,status\n\
                 1001,612 345 678,ES,delivered\n\
                 1002,0151 23456789,,delivered\n\
                 1003,(415) 555-2671,US,delivered\n";
    // The import's own country (DE) is used only where the row names none.
    let parsed = orders(file, &berlin());
    let phones: Vec<(String, Option<String>)> = parsed
        .rows
        .iter()
        .map(|row| match row {
            ParsedRow::Order(order) => (order.group.clone(), order.phone.clone()),
            other => panic!("not an order row: {other:?}"),
        })
        .collect();
    assert_eq!(
        phones,
        [
            ("1001".to_owned(), some("+34612345678")),
            ("1002".to_owned(), some("+4915123456789")),
            ("1003".to_owned(), some("+14155552671")),
        ]
    );

    // No country in the row and none given: the row fails, and the message says what to do.
    let unknown = ParseOptions { default_country: None, ..berlin() };
    let parsed = orders(b"order_id,phone,status\n1002,0151 23456789,delivered\n", &unknown);
    assert!(parsed.rows.is_empty(), "{:?}", parsed.rows);
    let message = parsed.errors.first().map(|error| error.to_string()).unwrap_or_default();
    assert!(message.contains("international form") && message.contains("+"), "{message}");
}

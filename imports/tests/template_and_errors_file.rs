//! The downloadable template and the file of failed rows, each read back by the importer.

use phonenumber::country;
use recete_imports::{
    CsvRecords, ErrorsCsvWriter, ImportKind, OrderStatusValue, ParseOptions, ParsedRow, columns, parse_bytes, template,
};

fn options() -> ParseOptions {
    ParseOptions { default_country: Some(country::Id::DE), timezone: chrono_tz::Europe::Berlin, day_first: true }
}

#[test]
fn each_template_lists_every_documented_column_and_imports_cleanly() {
    for kind in [ImportKind::Orders, ImportKind::Products, ImportKind::Customers] {
        let file = parse_bytes(template(kind).as_bytes(), kind, &options()).expect("the template opens");
        let documented: Vec<_> = columns(kind).iter().map(|column| column.name).collect();
        assert_eq!(file.headers, documented, "{kind}");
        assert_eq!(file.ignored_columns, Vec::<String>::new(), "{kind}");
        assert_eq!(file.errors, [], "{kind}");
        assert_eq!(file.rows.iter().map(ParsedRow::line).collect::<Vec<_>>(), [2, 3], "{kind}");
    }
    let orders = parse_bytes(template(ImportKind::Orders).as_bytes(), ImportKind::Orders, &options()).expect("opens");
    let ParsedRow::Order(first) = &orders.rows[0] else { panic!("an order") };
    assert_eq!(
        (first.status, first.total_minor, first.phone.as_deref()),
        (Some(OrderStatusValue::Delivered), Some(3990), Some("+4915123456789"))
    );
    for column in
        columns(ImportKind::Orders).iter().chain(columns(ImportKind::Products)).chain(columns(ImportKind::Customers))
    {
        assert!(!column.description.is_empty() && !column.example.is_empty(), "{}", column.name);
    }
}

#[test]
fn failed_rows_written_back_read_again_with_their_reasons() {
    let upload = "Order ID;Phone;Status;Note\n\
                  1;0151 2345 6789;paid;fine\n\
                  2;=HYPERLINK(\"http://evil\");paid;\"multi\nline\"\n\
                  3;0151 2345 6789;lost;\n";
    let mut records = CsvRecords::open(upload.as_bytes(), ImportKind::Orders).expect("opens");
    let headers = records.headers().to_vec();
    let mut errors = ErrorsCsvWriter::with_delimiter(Vec::new(), &headers, records.delimiter()).expect("header");
    let mut imported = 0;
    for record in records.by_ref() {
        let raw = record.expect("readable");
        match raw.parse_order(&options()) {
            Ok(_) => imported += 1,
            Err(error) => errors.write_row(&raw.fields, &error.to_string()).expect("written"),
        }
    }
    assert_eq!(imported, 1);
    let written = errors.finish().expect("flushed");

    let mut reread = CsvRecords::open(written.as_slice(), ImportKind::Orders).expect("the errors file opens");
    assert_eq!(reread.delimiter(), b';');
    assert_eq!(reread.headers(), ["Order ID", "Phone", "Status", "Note", "error"]);
    assert_eq!(reread.ignored_columns(), ["Note", "error"]);
    let rows: Vec<Vec<String>> = reread.by_ref().map(|row| row.expect("readable").fields).collect();
    assert_eq!(
        rows,
        [
            vec![
                "2".to_owned(),
                "'=HYPERLINK(\"http://evil\")".to_owned(),
                "paid".to_owned(),
                "multi\nline".to_owned(),
                "line 3, column `Phone`: not a valid phone number for DE or in international form (value: ***)"
                    .to_owned(),
            ],
            vec![
                "3".to_owned(),
                "0151 2345 6789".to_owned(),
                "lost".to_owned(),
                String::new(),
                "line 5, column `Status`: unknown status; use created, paid, fulfilled, delivered, cancelled or \
                 refunded (value: lost)"
                    .to_owned(),
            ],
        ]
    );
}

#[test]
fn an_order_over_several_rows_is_several_line_items() {
    let upload = "order_id,email,status,sku,quantity\n1001,a@x.de,paid,SERUM,1\n1001,a@x.de,paid,CREAM,2\n";
    let file = parse_bytes(upload.as_bytes(), ImportKind::Orders, &options()).expect("opens");
    let items: Vec<_> = file
        .rows
        .iter()
        .map(|row| match row {
            ParsedRow::Order(order) => (order.group.as_str(), order.sku.as_deref(), order.quantity),
            other => panic!("not an order: {other:?}"),
        })
        .collect();
    assert_eq!(items, [("1001", Some("SERUM"), 1), ("1001", Some("CREAM"), 2)]);
    assert_eq!(file.errors, []);
}

//! CSV imports: the first byte chooses the kind and the merchant's options, the rest is the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recete_imports::{ImportKind, ParseOptions, ParsedRow, parse_bytes};

const TIMEZONES: [chrono_tz::Tz; 4] =
    [chrono_tz::UTC, chrono_tz::Europe::Istanbul, chrono_tz::America::New_York, chrono_tz::Asia::Kolkata];
const COUNTRIES: [Option<phonenumber::country::Id>; 4] =
    [None, Some(phonenumber::country::Id::TR), Some(phonenumber::country::Id::US), Some(phonenumber::country::Id::DE)];

fn options(selector: u8) -> (ImportKind, ParseOptions) {
    let kind = [ImportKind::Orders, ImportKind::Products, ImportKind::Customers, ImportKind::Orders]
        [usize::from(selector >> 6)];
    let kind = if selector & 1 == 0 { kind } else { ImportKind::Products };
    let options = ParseOptions {
        day_first: selector & 2 == 0,
        timezone: TIMEZONES[usize::from(selector >> 2) % TIMEZONES.len()],
        default_country: COUNTRIES[usize::from(selector >> 4) % COUNTRIES.len()],
    };
    (kind, options)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let (kind, options) = options(selector);
    let Ok(file) = parse_bytes(bytes, kind, &options) else { return };
    let last_line = 1 + bytes.iter().filter(|b| **b == b'\n' || **b == b'\r').count() as u64;
    let row_lines: Vec<u64> = file.rows.iter().map(ParsedRow::line).collect();
    let error_lines: Vec<u64> = file.errors.iter().map(|error| error.line).collect();
    for lines in [&row_lines, &error_lines] {
        assert!(lines.windows(2).all(|pair| pair[0] < pair[1]), "lines out of order: {lines:?}");
        assert!(lines.iter().all(|line| (2..=last_line).contains(line)), "a line beyond the file: {lines:?}");
    }
    // Every order put together can be reached, has its rows' lines in order, and no line is both
    // in an order and in an error.
    for order in &file.orders {
        assert!(order.email.is_some() || order.phone.is_some(), "an order no one can be reached by");
        assert!(order.lines.windows(2).all(|pair| pair[0] < pair[1]), "order lines out of order");
        assert!(order.lines.iter().all(|line| !error_lines.contains(line)), "a line both imported and failed");
        assert!(order.items.iter().all(|item| item.quantity >= 1));
    }
    for error in &file.errors {
        assert!(!error.message.is_empty(), "an error without a message at line {}", error.line);
    }
    for row in &file.rows {
        match row {
            ParsedRow::Order(order) => {
                assert_eq!(kind, ImportKind::Orders);
                assert!(order.quantity >= 1);
                if file.profile == recete_imports::Profile::Generic {
                    assert!(order.email.is_some() || order.phone.is_some(), "an order row no one can be reached by");
                }
                if let Some(phone) = &order.phone {
                    assert!(phone.starts_with('+') && phone[1..].bytes().all(|b| b.is_ascii_digit()), "{phone}");
                }
            }
            ParsedRow::Customer(customer) => {
                assert_eq!(kind, ImportKind::Customers);
                assert!(customer.email.is_some() || customer.phone.is_some(), "a customer no one can be reached by");
            }
            ParsedRow::Product(product) => {
                assert_eq!(kind, ImportKind::Products);
                assert!(!product.sku.trim().is_empty() && !product.title.trim().is_empty());
            }
        }
    }
});

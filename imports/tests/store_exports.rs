//! Stores' own export files, written from their documented layouts, read as the stores write
//! them: recognised by their header, one order put together from its rows, each column read with
//! its own meaning.

use chrono::{DateTime, Utc};
use recete_imports::{
    Consent, FileError, ImportKind, ImportedItem, OrderStatusValue, ParseOptions, ParsedRow, Profile, parse_bytes,
};

const SHOPIFY_ORDERS: &[u8] = include_bytes!("../../tests/fixtures/imports/shopify_orders_export.csv");
const SHOPIFY_CUSTOMERS: &[u8] = include_bytes!("../../tests/fixtures/imports/shopify_customers_export.csv");
const WOOCOMMERCE_ORDERS: &[u8] = include_bytes!("../../tests/fixtures/imports/woocommerce_order_export.csv");

/// A merchant in Berlin with no default phone country: every phone must be read in its row's
/// own country or in international form.
fn berlin() -> ParseOptions {
    ParseOptions { default_country: None, timezone: chrono_tz::Europe::Berlin, day_first: true }
}

fn at(text: &str) -> Option<DateTime<Utc>> {
    Some(DateTime::parse_from_rfc3339(text).expect("valid test timestamp").with_timezone(&Utc))
}

fn item(sku: Option<&str>, title: &str, quantity: u32, unit_price_minor: i64) -> ImportedItem {
    let line_key = match sku {
        Some(sku) => format!("sku:{sku}"),
        None => format!("title:{}", title.to_lowercase()),
    };
    ImportedItem {
        line_key,
        sku: sku.map(str::to_owned),
        title: title.to_owned(),
        quantity,
        unit_price_minor: Some(unit_price_minor),
        product_url: None,
    }
}

#[test]
fn shopifys_orders_export_becomes_three_orders_with_their_items_statuses_times_and_phones() {
    let file = parse_bytes(SHOPIFY_ORDERS, ImportKind::Orders, &berlin()).expect("the export opens");
    assert_eq!(file.profile, Profile::ShopifyOrders);
    assert_eq!(file.errors, []);
    assert_eq!(file.rows.len(), 5);
    // `Accepts Marketing` is e-mail consent: it is not read.
    assert!(file.ignored_columns.iter().any(|column| column == "Accepts Marketing"), "{:?}", file.ignored_columns);
    let summary: Vec<_> = file
        .orders
        .iter()
        .map(|order| {
            (
                order.lines.clone(),
                order.order_id.as_str(),
                order.order_number.as_deref(),
                order.status,
                order.platform_status.as_deref(),
                order.phone.as_deref(),
                order.email.as_deref(),
                order.country.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                vec![2, 3],
                "5730291466420",
                Some("#1001"),
                OrderStatusValue::Fulfilled,
                Some("paid/fulfilled"),
                Some("+34612345678"),
                Some("lucia.garcia@example.com"),
                Some("ES"),
            ),
            (
                vec![4],
                "5730291499188",
                Some("#1002"),
                OrderStatusValue::Refunded,
                Some("refunded/unfulfilled"),
                Some("+14155550100"),
                Some("grace@example.com"),
                Some("US"),
            ),
            (
                vec![5, 6],
                "5730291531956",
                Some("#1003"),
                OrderStatusValue::Paid,
                Some("paid/unfulfilled"),
                Some("+4915123456789"),
                None,
                Some("DE"),
            ),
        ]
    );
    let first = &file.orders[0];
    assert_eq!(first.created_at, at("2026-11-02T13:03:22Z"));
    assert_eq!(first.paid_at, at("2026-11-02T13:05:10Z"));
    assert_eq!(first.fulfilled_at, at("2026-11-03T08:12:45Z"));
    assert_eq!((first.currency.as_deref(), first.total_minor), (Some("EUR"), Some(5975)));
    assert_eq!(first.name.as_deref(), Some("Lucía García"));
    assert_eq!(first.whatsapp_consent, Consent::Unknown, "e-mail consent must not become WhatsApp consent");
    assert_eq!(
        first.items,
        [
            item(Some("SERUM-30"), "Vitamin C Serum 30 ml", 1, 3490),
            item(Some("SPF-50"), "Daily Sunscreen SPF 50", 2, 995),
        ]
    );
    assert_eq!(file.orders[1].created_at, at("2026-11-04T14:58:41Z"));
    assert_eq!(
        file.orders[2].items,
        [item(Some("NIGHT-50"), "Night Cream 50 ml", 1, 2490), item(None, "Hydrating Toner", 1, 1995)]
    );
}

#[test]
fn rows_of_one_shopify_order_that_disagree_are_reported_with_the_whole_order() {
    let text = String::from_utf8(SHOPIFY_ORDERS.to_vec()).expect("utf-8");
    // The second row of #1001 names another customer.
    let edited = text.replacen("#1001,lucia.garcia@example.com,,", "#1001,someone.else@example.com,,", 1);
    assert_ne!(edited, text);
    let file = parse_bytes(edited.as_bytes(), ImportKind::Orders, &berlin()).expect("opens");
    assert_eq!(
        file.orders.iter().map(|order| order.order_number.as_deref()).collect::<Vec<_>>(),
        [Some("#1002"), Some("#1003")]
    );
    let errors: Vec<(u64, &str)> = file.errors.iter().map(|error| (error.line, error.message.as_str())).collect();
    assert_eq!(
        errors,
        [
            (
                2,
                "not imported: line 3 of order #1001 gives the order another email than line 2; rows of one order must agree"
            ),
            (3, "gives the order another email than line 2; rows of one order must agree"),
        ]
    );
}

#[test]
fn a_shopify_order_without_its_id_or_any_contact_is_refused_by_name() {
    let text = String::from_utf8(SHOPIFY_ORDERS.to_vec()).expect("utf-8");
    let without_id = text.replace(",5730291531956,", ",,");
    let file = parse_bytes(without_id.as_bytes(), ImportKind::Orders, &berlin()).expect("opens");
    assert_eq!(file.orders.len(), 2);
    assert_eq!(file.errors[0].line, 5);
    assert_eq!(file.errors[0].message, "has no store id: none of the rows of order #1003 has its `Id`");
    assert_eq!(
        file.errors[1].message,
        "not imported: line 5 of order #1003 has no store id: none of the rows of order #1003 has its `Id`"
    );

    let without_phone = text.replace("0151 23456789", "");
    let file = parse_bytes(without_phone.as_bytes(), ImportKind::Orders, &berlin()).expect("opens");
    assert_eq!(file.orders.len(), 2);
    assert_eq!(file.errors[0].message, "is order #1003, which has neither an email nor a phone number");
}

#[test]
fn shopifys_export_uploaded_as_the_wrong_kind_says_which_kind_it_is() {
    let error = parse_bytes(SHOPIFY_ORDERS, ImportKind::Products, &berlin()).err();
    assert!(matches!(error, Some(FileError::WrongKind { holds: ImportKind::Orders, .. })), "{error:?}");
    let message = error.map(|error| error.to_string()).unwrap_or_default();
    assert_eq!(message, "this file is a Shopify orders export, which holds orders; upload it as orders, not products");
    let error = parse_bytes(SHOPIFY_CUSTOMERS, ImportKind::Orders, &berlin()).err();
    assert!(matches!(error, Some(FileError::WrongKind { holds: ImportKind::Customers, .. })), "{error:?}");
}

#[test]
fn shopifys_customers_export_reads_sms_consent_and_never_email_consent() {
    let file = parse_bytes(SHOPIFY_CUSTOMERS, ImportKind::Customers, &berlin()).expect("opens");
    assert_eq!(file.profile, Profile::ShopifyCustomers);
    assert_eq!(file.errors, []);
    let customers: Vec<_> = file
        .rows
        .iter()
        .map(|row| match row {
            ParsedRow::Customer(customer) => (
                customer.external_id.as_deref(),
                customer.name.as_deref(),
                customer.phone.as_deref(),
                customer.country.as_deref(),
                customer.whatsapp_consent,
            ),
            other => panic!("not a customer: {other:?}"),
        })
        .collect();
    assert_eq!(
        customers,
        [
            (Some("7264918307124"), Some("Lucía García"), Some("+34612345678"), Some("ES"), Consent::Granted),
            (Some("7264918339892"), Some("Grace Hopper"), None, Some("US"), Consent::Revoked),
            (Some("7264918372660"), Some("Ada Lovelace"), Some("+4915123456789"), Some("DE"), Consent::Unknown),
        ]
    );
}

#[test]
fn woocommerces_order_export_groups_by_order_id_and_reads_statuses_as_the_webhooks_do() {
    let options = ParseOptions { timezone: chrono_tz::Europe::Istanbul, ..berlin() };
    let file = parse_bytes(WOOCOMMERCE_ORDERS, ImportKind::Orders, &options).expect("opens");
    assert_eq!(file.profile, Profile::WoocommerceOrderExport);
    assert_eq!(file.errors, []);
    let orders: Vec<_> = file
        .orders
        .iter()
        .map(|order| {
            (
                order.order_id.as_str(),
                order.status,
                order.phone.as_deref(),
                order.name.as_deref(),
                order.customer_external_id.as_deref(),
                order.items.len(),
                order.total_minor,
            )
        })
        .collect();
    assert_eq!(
        orders,
        [
            (
                "4821",
                OrderStatusValue::Fulfilled,
                Some("+905551112233"),
                Some("Mehmet Yılmaz"),
                Some("17"),
                2,
                Some(4485)
            ),
            ("4822", OrderStatusValue::Paid, Some("+48512345678"), Some("Jan Kowalski"), None, 1, Some(1990)),
        ]
    );
    // The shop's local time, read in the merchant's zone.
    assert_eq!(file.orders[0].created_at, at("2026-11-02T11:03:22Z"));
}

#[test]
fn the_advanced_order_export_uses_the_order_number_as_the_id_and_analytics_downloads_are_refused_with_the_fix() {
    let advanced = "Order Number,Order Status,Order Date,First Name (Billing),Last Name (Billing),\
                    Country Code (Billing),Email (Billing),Phone (Billing),Order Total Amount,SKU,Item Name,\
                    Quantity (- Refund),Item Cost\n\
                    912,Processing,2026-11-02 10:00,Ana,Souza,BR,ana@example.com,(11) 96123-4567,120.00,SERUM-30,\
                    Vitamin C Serum,2,60.00\n";
    let file = parse_bytes(advanced.as_bytes(), ImportKind::Orders, &berlin()).expect("opens");
    assert_eq!(file.profile, Profile::WoocommerceAdvancedOrderExport);
    assert_eq!(file.errors, []);
    let order = &file.orders[0];
    assert_eq!(
        (order.order_id.as_str(), order.order_number.as_deref(), order.status, order.phone.as_deref()),
        ("912", Some("912"), OrderStatusValue::Paid, Some("+5511961234567"))
    );
    assert_eq!(order.items, [item(Some("SERUM-30"), "Vitamin C Serum", 2, 6000)]);

    let analytics = "Date,Order #,N. Revenue (formatted),Status,Customer,Customer type,Product(s),Items sold,\
                     Coupon(s),Net Sales,Attribution\n2026-11-02,912,R$120.00,Processing,Ana Souza,new,Serum,2,,120,\n";
    let error = parse_bytes(analytics.as_bytes(), ImportKind::Orders, &berlin()).err();
    let message = error.map(|error| error.to_string()).unwrap_or_default();
    assert!(
        message.starts_with("this is WooCommerce's Analytics orders download, which has no customer email"),
        "{message}"
    );
}

#[test]
fn a_spreadsheet_with_shipping_and_billing_columns_reads_each_for_itself() {
    // Before profiles, `Billing Phone` and `Shipping Phone` both meant `phone` and the file was
    // refused; now each is read, the phone from the first that reads, in its own country.
    let file = "order_id,email,billing phone,billing country,shipping phone,shipping country,billing name,status\n\
                1,a@example.com,0151 23456789,DE,612 345 678,ES,Ada,paid\n\
                2,b@example.com,0151 23456789,DE,,,Bo,paid\n";
    let parsed = parse_bytes(file.as_bytes(), ImportKind::Orders, &berlin()).expect("opens");
    assert_eq!(parsed.profile, Profile::Generic);
    assert_eq!(parsed.errors, []);
    let phones: Vec<_> = parsed.orders.iter().map(|order| (order.phone.as_deref(), order.country.as_deref())).collect();
    assert_eq!(phones, [(Some("+34612345678"), Some("ES")), (Some("+4915123456789"), Some("DE"))]);
}

//! Messy files as spreadsheets and stores really write them, through the API and a real worker:
//! what went in, and what the merchant is told about what did not, exactly.

use recete_shared::customers::{EMAIL_LOOKUP_DOMAIN, PHONE_LOOKUP_DOMAIN};
use recete_workers::Pool;
use serde_json::{Value, json};

use super::{counts, store};
use crate::helpers::spawn_app;

/// Excel in a comma-decimal locale: a byte-order mark, semicolons, CRLF, a name with a line
/// break inside quotes, blank lines and a line of only semicolons, headers in their own case,
/// order and spelling with an extra column, local German phone numbers, dotted dates, one order
/// on two rows, and three bad rows.
const EXCEL_ORDERS: &str = "\u{feff}Order Number;E-Mail;PHONE;Customer Name;Status;Delivered;SKU;Product Title;Qty;WhatsApp Consent;Notes\r\n\
1001;Ada@Example.com;0151 23456789;\"Ada\r\nLovelace\";delivered;05.03.2026;SERUM-30;Vitamin C Serum;1;yes;gift wrap\r\n\
\r\n\
1001;ada@example.com;0151 23456789;\"Ada\r\nLovelace\";delivered;05.03.2026;SPF-50;Daily Sunscreen;2;yes;\r\n\
;;;;;;;;;;\r\n\
1002;grace@example.com;12;Grace Hopper;paid;;SPF-50;Daily Sunscreen;1;no;\r\n\
1003;;;Nobody;paid;;SPF-50;Daily Sunscreen;1;;\r\n\
1004;linus@example.com;+49 30 1234567;Linus;shipped;;SERUM-30;Vitamin C Serum;0;;\r\n";

#[tokio::test]
async fn an_excel_orders_file_imports_its_good_rows_and_reports_each_bad_one() {
    let app = spawn_app().await;
    let store = store(&app).await;
    let _workers = app.start_pools(&[Pool::Imports]);

    let import = store.import(&app, "orders", "default_country=DE", EXCEL_ORDERS).await;
    assert_eq!(import["status"], "completed", "{import}");
    assert_eq!(counts(&import), (5, 2, 0, 3));
    assert_eq!(import["ignored_columns"], json!(["Notes"]));
    assert_eq!(import["errors_total"], 3);
    assert_eq!(import["errors_next_cursor"], Value::Null);
    assert_eq!(
        import["errors"],
        json!([
            {"line": 8, "column": "PHONE", "value": "***",
             "message": "not a valid phone number for DE or in international form"},
            {"line": 9, "column": null, "value": null, "message": "has neither an email nor a phone number"},
            {"line": 10, "column": "Qty", "value": "0", "message": "must be a whole number of at least 1"},
        ])
    );

    // One order with its two lines, its customer found by the local number read as German.
    let phone = app.keyring.lookup_hash(PHONE_LOOKUP_DOMAIN, "+4915123456789").to_vec();
    let email = app.keyring.lookup_hash(EMAIL_LOOKUP_DOMAIN, "ada@example.com").to_vec();
    let customers: Vec<(Vec<u8>, Vec<u8>, String)> =
        sqlx::query_as("SELECT phone_lookup, email_lookup, whatsapp_consent FROM customers")
            .fetch_all(&app.admin)
            .await
            .expect("customers");
    assert_eq!(customers, vec![(phone.clone(), email, "granted".to_owned())]);
    let items: Vec<(String, String, Option<String>, String, i32)> = sqlx::query_as(
        "SELECT o.external_order_id, o.status, i.sku, i.title, i.quantity
         FROM orders o JOIN order_items i ON i.order_id = o.id ORDER BY i.sku",
    )
    .fetch_all(&app.admin)
    .await
    .expect("items");
    assert_eq!(
        items,
        vec![
            ("1001".into(), "delivered".into(), Some("SERUM-30".into()), "Vitamin C Serum".into(), 1),
            ("1001".into(), "delivered".into(), Some("SPF-50".into()), "Daily Sunscreen".into(), 2),
        ]
    );

    // The errors file: the original header and fields, the reason last, ready to fix.
    let id = import["id"].as_str().expect("id");
    assert_eq!(
        store.errors_csv(&app, id).await,
        "\u{feff}Order Number,E-Mail,PHONE,Customer Name,Status,Delivered,SKU,Product Title,Qty,WhatsApp Consent,Notes,error\n\
         1002,grace@example.com,12,Grace Hopper,paid,,SPF-50,Daily Sunscreen,1,no,,\
         \"line 8, column PHONE: not a valid phone number for DE or in international form\"\n\
         1003,,,Nobody,paid,,SPF-50,Daily Sunscreen,1,,,line 9: has neither an email nor a phone number\n\
         1004,linus@example.com,'+49 30 1234567,Linus,shipped,,SERUM-30,Vitamin C Serum,0,,,\
         \"line 10, column Qty: must be a whole number of at least 1\"\n"
    );

    // Each failed row can be found by the phone or email it holds, for erasure.
    let grace = app.keyring.lookup_hash(EMAIL_LOOKUP_DOMAIN, "grace@example.com").to_vec();
    let linus = app.keyring.lookup_hash(PHONE_LOOKUP_DOMAIN, "+49301234567").to_vec();
    for (lookup, line) in [(grace, 8_i64), (linus, 10)] {
        let lines: Vec<i64> = sqlx::query_scalar("SELECT line FROM import_errors WHERE $1 = ANY(subject_lookups)")
            .bind(lookup)
            .fetch_all(&app.admin)
            .await
            .expect("lines");
        assert_eq!(lines, vec![line]);
    }
    // No raw row is stored in clear.
    let clear = app.count("SELECT count(*) FROM import_errors WHERE position('grace'::bytea in row_sealed) > 0").await;
    assert_eq!(clear, 0);
    assert_eq!(app.count("SELECT count(*) FROM import_chunks").await, 0, "the file is deleted once imported");
}

/// A Windows-1252 products file (a Latin-1 spreadsheet export), comma separated, columns in
/// another order with upper-case headers and an alias, a quoted description with commas, quotes
/// and a line break, and one row missing its title.
#[tokio::test]
async fn a_windows_1252_products_file_keeps_its_accents() {
    let app = spawn_app().await;
    let store = store(&app).await;
    let _workers = app.start_pools(&[Pool::Imports]);
    let mut file: Vec<u8> = Vec::new();
    file.extend_from_slice(b"TITLE,Description,SKU,How To Use\n");
    file.extend_from_slice(b"Cr\xe8me Br\xfbl\xe9e Serum,\"Rich, \"\"silky\"\"\nand light\",CREME-1,Twice a day\n");
    file.extend_from_slice(b",No title here,BAD-1,\n");
    file.extend_from_slice(b"\n");
    file.extend_from_slice(b"Caf\xe9 Eye Cream,,CAFE-2,\n");

    let import = store.import(&app, "products", "", file).await;
    assert_eq!(import["status"], "completed", "{import}");
    assert_eq!(counts(&import), (3, 2, 0, 1));
    assert_eq!(
        import["errors"],
        json!([{"line": 4, "column": "TITLE", "value": null, "message": "the title is empty"}])
    );
    let products: Vec<(String, String, Option<String>, Value)> =
        sqlx::query_as("SELECT sku, title, description, sections FROM products ORDER BY sku")
            .fetch_all(&app.admin)
            .await
            .expect("products");
    assert_eq!(
        products,
        vec![
            ("CAFE-2".into(), "Café Eye Cream".into(), None, json!([])),
            (
                "CREME-1".into(),
                "Crème Brûlée Serum".into(),
                Some("Rich, \"silky\"\nand light".into()),
                json!([{"kind": "usage", "text": "Twice a day"}])
            ),
        ]
    );
    // New product text is embedded for the agent.
    assert_eq!(app.count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'embed'").await, 2);
    let id = import["id"].as_str().expect("id");
    assert_eq!(
        store.errors_csv(&app, id).await,
        "\u{feff}TITLE,Description,SKU,How To Use,error\n,No title here,BAD-1,,\"line 4, column TITLE: the title is empty\"\n"
    );
}

#[tokio::test]
async fn a_file_that_cannot_be_imported_fails_with_the_reason() {
    let app = spawn_app().await;
    let store = store(&app).await;
    let _workers = app.start_pools(&[Pool::Imports]);

    let import = store.import(&app, "orders", "", "Name,Notes\nAda,hello\n").await;
    assert_eq!(import["status"], "failed");
    assert_eq!(
        import["failure_reason"],
        "missing required columns: order_id, email or phone, status (or created_at, fulfilled_at or delivered_at)"
    );
    assert_eq!(counts(&import), (-1, 0, 0, 0));
    assert_eq!(import["total_rows"], Value::Null);
    assert_eq!(app.count("SELECT count(*) FROM import_chunks").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM orders").await, 0);
    let tasks: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT state, status_reason FROM scheduled_tasks WHERE kind = 'import' AND payload->>'import_id' = $1",
    )
    .bind(import["id"].as_str().expect("id"))
    .fetch_all(&app.admin)
    .await
    .expect("task");
    assert_eq!(
        tasks,
        vec![("done".to_owned(), Some("import failed: missing required columns: order_id, email or phone, status (or created_at, fulfilled_at or delivered_at)".to_owned()))]
    );
}

/// US-style dates read month first when asked, local US numbers with the country given on the
/// upload, a UTF-16 "Unicode text" export with tabs.
#[tokio::test]
async fn options_on_the_upload_decide_how_dates_and_local_numbers_read() {
    let app = spawn_app().await;
    let store = store(&app).await;
    let _workers = app.start_pools(&[Pool::Imports]);
    let text = "order_id\tphone\tcreated_at\tstatus\n2001\t(415) 555-0100\t03/05/2026\tpaid\n";
    let mut utf16: Vec<u8> = vec![0xff, 0xfe];
    for unit in text.encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }

    let import = store.import(&app, "orders", "default_country=us&date_order=month_first", utf16).await;
    assert_eq!(import["status"], "completed", "{import}");
    assert_eq!(counts(&import), (1, 1, 0, 0));
    assert_eq!(
        import["options"],
        json!({"plan_followups": false, "default_country": "US", "date_order": "month_first"})
    );
    let placed: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT placed_at FROM orders").fetch_one(&app.admin).await.expect("order");
    // The 5th of March in the merchant's zone (Europe/Berlin, UTC+1 then).
    assert_eq!(placed.to_rfc3339(), "2026-03-04T23:00:00+00:00");
    let phone = app.keyring.lookup_hash(PHONE_LOOKUP_DOMAIN, "+14155550100").to_vec();
    let found: i64 = sqlx::query_scalar("SELECT count(*) FROM customers WHERE phone_lookup = $1")
        .bind(phone)
        .fetch_one(&app.admin)
        .await
        .expect("count");
    assert_eq!(found, 1);
}

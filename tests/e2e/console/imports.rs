//! The imports page: an owner uploads a messy CSV as a browser would (multipart, CSRF token
//! first), a real worker imports it, and the import's page shows its failed rows and errors
//! file; the progress route reports counts; other roles, other merchants and requests without
//! the token are refused.

use std::time::{Duration, Instant};

use recete_console::users::Role;
use recete_workers::Pool;
use reqwest::StatusCode;
use reqwest::header::COOKIE;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use super::{ConsoleApp, Session, location, spawn_console};

/// Five rows of two orders, one order on two rows, and three bad rows (lines 4, 5 and 6).
const MESSY_ORDERS: &str = "\u{feff}Order Number;E-Mail;PHONE;Status;Delivered;SKU;Product Title;Qty;Notes\r\n\
1001;ada@example.com;+49 151 23456789;delivered;05.03.2026;SERUM-30;Vitamin C Serum;1;gift\r\n\
1001;ada@example.com;+49 151 23456789;delivered;05.03.2026;SPF-50;Daily Sunscreen;2;\r\n\
1002;grace@example.com;12;paid;;SPF-50;Daily Sunscreen;1;\r\n\
1003;;;paid;;SPF-50;Daily Sunscreen;1;\r\n\
1004;linus@example.com;+49 30 1234567;shipped;;SERUM-30;Vitamin C Serum;0;\r\n";

fn upload_form(csrf: Option<&str>, kind: &str, file: &str) -> Form {
    let form = match csrf {
        Some(token) => Form::new().text("csrf", token.to_owned()),
        None => Form::new(),
    };
    form.text("kind", kind.to_owned()).text("date_order", "day_first").text("default_country", "DE").part(
        "file",
        Part::bytes(file.as_bytes().to_vec()).file_name("orders export.csv").mime_str("text/csv").expect("mime"),
    )
}

async fn send_upload(console: &ConsoleApp, session: &Session, form: Form) -> reqwest::Response {
    console
        .client
        .post(console.url("/console/imports"))
        .header(COOKIE, &session.cookie)
        .multipart(form)
        .send()
        .await
        .expect("sent")
}

async fn progress(console: &ConsoleApp, session: &Session, import_path: &str) -> Value {
    let response = console.get(session, &format!("{import_path}/progress")).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("progress JSON")
}

#[tokio::test]
async fn an_owner_uploads_a_messy_file_and_sees_its_progress_row_errors_and_errors_file() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await;
    let owner = console.user(merchant, "owner@shop.example", Role::Owner).await;

    let page = console.get_html(&owner, "/console/imports").await;
    assert!(page.contains(r#"enctype="multipart/form-data""#) && page.contains("/console/assets/imports.js"));
    assert!(page.contains("/console/imports/templates/orders.csv"));
    let script = console.client.get(console.url("/console/assets/imports.js")).send().await.expect("sent");
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.text().await.expect("script").contains("upload.addEventListener(\"progress\""));
    let template = console.get(&owner, "/console/imports/templates/orders.csv").await;
    assert_eq!(template.status(), StatusCode::OK);
    assert!(template.text().await.expect("template").to_lowercase().contains("order"));

    // Stored and queued with no worker running: the progress route says so.
    let uploaded = send_upload(&console, &owner, upload_form(Some(&owner.csrf), "orders", MESSY_ORDERS)).await;
    assert_eq!(uploaded.status(), StatusCode::SEE_OTHER, "the form's answer is the import's page");
    let import_path = location(&uploaded);
    assert!(import_path.starts_with("/console/imports/"), "{import_path}");
    let queued = progress(&console, &owner, &import_path).await;
    assert_eq!(queued["status"], "queued", "{queued}");
    assert_eq!(queued["done"], false);
    assert_eq!(queued["processed"], 0);
    let running_page = console.get_html(&owner, &import_path).await;
    assert!(running_page.contains("data-progress-url="), "a running import's page follows its progress");

    let _workers = console.app.start_pools(&[Pool::Imports]);
    let started = Instant::now();
    let done = loop {
        let counts = progress(&console, &owner, &import_path).await;
        if counts["done"] == true {
            break counts;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the import finishes: {counts}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!((done["processed"].as_i64(), done["total"].as_i64()), (Some(5), Some(5)));
    assert_eq!((done["imported"].as_i64(), done["failed"].as_i64()), (Some(2), Some(3)));
    assert_eq!(console.app.count("SELECT count(*) FROM orders").await, 1);

    let page = console.get_html(&owner, &import_path).await;
    assert!(!page.contains("data-progress-url="), "a finished import is not followed");
    for expected in [
        "completed",
        "orders export.csv",
        "user:owner@shop.example",
        "<td data-label=\"Row\">4</td>",
        "<td data-label=\"Column\">PHONE</td>",
        "not a valid phone number for DE or in international form",
        "<td data-label=\"Row\">5</td>",
        "has neither an email nor a phone number",
        "<td data-label=\"Column\">Qty</td>",
        "must be a whole number of at least 1",
        "Notes",
    ] {
        assert!(page.contains(expected), "the import's page shows {expected:?}: {page}");
    }
    let errors_link = format!("{import_path}/errors.csv");
    assert!(page.contains(&errors_link));
    let errors = console.get(&owner, &errors_link).await;
    assert_eq!(errors.status(), StatusCode::OK);
    assert!(errors.headers()["content-disposition"].to_str().expect("ascii").contains("errors.csv"));
    let errors = errors.text().await.expect("errors file");
    assert!(errors.starts_with("\u{feff}Order Number,E-Mail,PHONE,Status"), "{errors}");
    assert!(errors.contains("line 4, column PHONE: not a valid phone number"), "{errors}");
    assert!(errors.contains("line 5: has neither an email nor a phone number"), "{errors}");
    assert_eq!(errors.lines().count(), 4, "the header and three failed rows: {errors}");

    let history = console.get_html(&owner, "/console/imports").await;
    assert!(history.contains(&format!("href=\"{import_path}\"")) && history.contains("orders export.csv"));
    let filtered = console.get_html(&owner, "/console/imports?kind=products").await;
    assert!(!filtered.contains(&format!("href=\"{import_path}\"")), "the kind filter leaves orders out");

    let audited = console.audited("import.uploaded").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].0, "user:owner@shop.example");
    let created_by: String =
        sqlx::query_scalar("SELECT created_by FROM imports").fetch_one(&console.app.admin).await.expect("import");
    assert_eq!(created_by, "user:owner@shop.example");
}

#[tokio::test]
async fn only_owners_upload_with_the_token_and_other_merchants_imports_are_not_found() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await;
    let owner = console.user(merchant, "owner@shop.example", Role::Owner).await;
    let agent = console.user(merchant, "agent@shop.example", Role::Agent).await;

    let refused = send_upload(&console, &agent, upload_form(Some(&agent.csrf), "orders", MESSY_ORDERS)).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let text = refused.text().await.expect("page");
    assert!(text.contains("upload a CSV file") && text.contains("agent"), "names the action and the role: {text}");
    let agent_page = console.get_html(&agent, "/console/imports").await;
    assert!(!agent_page.contains(r#"enctype="multipart/form-data""#), "agents see no upload form");

    let no_token = send_upload(&console, &owner, upload_form(None, "orders", MESSY_ORDERS)).await;
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);
    let wrong_token = send_upload(&console, &owner, upload_form(Some("not-the-token"), "orders", MESSY_ORDERS)).await;
    assert_eq!(wrong_token.status(), StatusCode::FORBIDDEN);
    // Another route takes no multipart body in place of its form token.
    let elsewhere = console
        .client
        .post(console.url("/console/sign-out"))
        .header(COOKIE, &owner.cookie)
        .multipart(Form::new().text("csrf", owner.csrf.clone()))
        .send()
        .await
        .expect("sent");
    assert_eq!(elsewhere.status(), StatusCode::FORBIDDEN);
    let bad_kind = send_upload(&console, &owner, upload_form(Some(&owner.csrf), "invoices", MESSY_ORDERS)).await;
    assert_eq!(bad_kind.status(), StatusCode::BAD_REQUEST);
    assert!(bad_kind.text().await.expect("page").contains("is not something to import"));
    assert_eq!(console.app.count("SELECT count(*) FROM imports").await, 0, "nothing was stored");

    let uploaded = send_upload(&console, &owner, upload_form(Some(&owner.csrf), "orders", MESSY_ORDERS)).await;
    assert_eq!(uploaded.status(), StatusCode::SEE_OTHER);
    let import_path = location(&uploaded);
    // Agents and viewers read imports.
    assert_eq!(console.get(&agent, &import_path).await.status(), StatusCode::OK);

    let other = console.app.merchant().await;
    let stranger = console.user(other, "owner@other.example", Role::Owner).await;
    for path in [import_path.clone(), format!("{import_path}/progress"), format!("{import_path}/errors.csv")] {
        assert_eq!(console.get(&stranger, &path).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let history = console.get_html(&stranger, "/console/imports").await;
    assert!(!history.contains(&import_path));
}

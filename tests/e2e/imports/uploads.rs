//! The upload and read endpoints: content types, limits, multipart, option checks, paging, the
//! templates, and another merchant's imports answering 404.

use futures::stream;
use recete_workers::Pool;
use serde_json::{Value, json};

use super::{counts, store};
use crate::helpers::{assert_problem, spawn_app, spawn_app_with};

const ONE_ORDER: &str = "order_id,email,status\n1001,ada@example.com,paid\n";

#[tokio::test]
async fn uploads_in_the_wrong_shape_are_refused_with_the_reason() {
    let app = spawn_app_with(|figment| figment.merge(("imports.max_upload_bytes", 1000))).await;
    let store = store(&app).await;

    let json = store.upload_as(&app, "orders", "", "application/json", "{}").await;
    let problem = assert_problem(json, 415).await;
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("text/csv")), "{problem}");

    let big = format!("order_id,email,status\n{}", "1001,ada@example.com,paid\n".repeat(60));
    assert_problem(store.upload(&app, "orders", "", big.clone()).await, 413).await;
    // Without a declared length the limit holds as the body streams in.
    let chunks: Vec<Result<String, std::io::Error>> = big.lines().map(|line| Ok(format!("{line}\n"))).collect();
    let streamed = store.upload(&app, "orders", "", reqwest::Body::wrap_stream(stream::iter(chunks))).await;
    assert_problem(streamed, 413).await;

    let country = assert_problem(store.upload(&app, "orders", "default_country=Germany", ONE_ORDER).await, 422).await;
    assert_eq!(country["field"], "default_country");
    let order = assert_problem(store.upload(&app, "orders", "date_order=year_first", ONE_ORDER).await, 422).await;
    assert_eq!(order["field"], "date_order");
    let follow_ups = assert_problem(store.upload(&app, "products", "plan_followups=true", ONE_ORDER).await, 422).await;
    assert_eq!(follow_ups["field"], "plan_followups");
    let anonymous = app
        .client
        .post(app.url("/api/imports/orders"))
        .header("content-type", "text/csv")
        .body(ONE_ORDER)
        .send()
        .await
        .expect("sent");
    assert_problem(anonymous, 401).await;

    let form = reqwest::multipart::Form::new().text("note", "no file here");
    let no_file = app
        .client
        .post(app.url("/api/imports/orders"))
        .bearer_auth(&store.api_key)
        .multipart(form)
        .send()
        .await
        .expect("sent");
    assert_eq!(assert_problem(no_file, 422).await["field"], "file");

    let empty = assert_problem(store.upload(&app, "products", "", "").await, 422).await;
    assert_eq!(empty["field"], "file");
    assert!(empty["detail"].as_str().is_some_and(|d| d.contains("is empty")), "{empty}");
    let empty_part =
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(Vec::new()).file_name("file"));
    let empty_part = app
        .client
        .post(app.url("/api/imports/orders"))
        .bearer_auth(&store.api_key)
        .multipart(empty_part)
        .send()
        .await
        .expect("sent");
    assert_eq!(assert_problem(empty_part, 422).await["field"], "file");

    assert_eq!(app.count("SELECT count(*) FROM imports").await, 0, "nothing refused is stored");
    assert_eq!(app.count("SELECT count(*) FROM import_chunks").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM scheduled_tasks").await, 0);
}

#[tokio::test]
async fn a_multipart_upload_past_two_megabytes_is_stored_in_pieces_and_imported() {
    let app = spawn_app_with(|figment| figment.merge(("imports.chunk_bytes", 1024 * 1024))).await;
    let store = store(&app).await;
    let mut file = String::from("sku,title,description\n");
    let mut row = 0;
    while file.len() < 3 * 1024 * 1024 {
        row += 1;
        file.push_str(&format!("SKU-{row},Product {row},{}\n", "A calm, gentle cream. ".repeat(20).replace(',', ";")));
    }
    let part = reqwest::multipart::Part::bytes(file.clone().into_bytes())
        .file_name("catalogue.csv")
        .mime_str("text/csv")
        .expect("mime");
    let response = app
        .client
        .post(app.url("/api/imports/products"))
        .bearer_auth(&store.api_key)
        .multipart(reqwest::multipart::Form::new().text("comment", "ignored").part("file", part))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().expect("location").to_owned();
    let accepted: Value = response.json().await.expect("JSON");
    let id = accepted["import_id"].as_str().expect("id").to_owned();
    assert_eq!(location, format!("/api/imports/{id}"));
    assert_eq!(accepted["status"], "queued");
    assert_eq!(accepted["byte_size"], file.len());
    assert_eq!(accepted["sha256"], hex_sha256(file.as_bytes()));
    assert_eq!(app.count("SELECT count(*) FROM import_chunks").await, file.len().div_ceil(1024 * 1024) as i64);

    let queued = store.get_json(&app, &location).await;
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["file_name"], "catalogue.csv");
    assert_eq!(queued["progress"], 0.0);

    let _workers = app.start_pools(&[Pool::Imports]);
    let import = store.finished(&app, &id, 60).await;
    assert_eq!(counts(&import), (row, row, 0, 0));
    assert_eq!(import["progress"], 1.0);
    assert_eq!(app.count("SELECT count(*) FROM products").await, row);
    assert_eq!(app.count("SELECT count(*) FROM import_chunks").await, 0);
}

fn hex_sha256(bytes: &[u8]) -> String {
    recete_platform::crypto::sha256(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn another_merchants_imports_are_not_found_and_lists_page_through_ones_own() {
    let app = spawn_app().await;
    let owner = store(&app).await;
    let other = store(&app).await;
    let _workers = app.start_pools(&[Pool::Imports]);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(owner.import(&app, "orders", "", ONE_ORDER).await["id"].as_str().expect("id").to_owned());
    }
    let failed = owner.import(&app, "products", "", "colour\nred\n").await;
    assert_eq!(failed["status"], "failed");

    for path in [
        format!("/api/imports/{}", ids[0]),
        format!("/api/imports/{}/errors", ids[0]),
        format!("/api/imports/{}/errors.csv", ids[0]),
    ] {
        let problem = assert_problem(other.get(&app, &path).await, 404).await;
        assert_eq!(problem["detail"], format!("no import {}", ids[0]));
        assert_eq!(owner.get(&app, &path).await.status(), 200);
    }
    assert_eq!(other.get_json(&app, "/api/imports").await, json!({"imports": [], "next_cursor": null}));
    let malformed = assert_problem(owner.get(&app, "/api/imports/not-a-uuid").await, 400).await;
    assert!(malformed["detail"].as_str().is_some_and(|d| d.contains("import_id")), "{malformed}");

    let first = owner.get_json(&app, "/api/imports?limit=2&kind=orders").await;
    let listed: Vec<&str> =
        first["imports"].as_array().expect("imports").iter().map(|i| i["id"].as_str().expect("id")).collect();
    assert_eq!(listed, vec![ids[2].as_str(), ids[1].as_str()]);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = owner.get_json(&app, &format!("/api/imports?limit=2&kind=orders&cursor={cursor}")).await;
    assert_eq!(second["imports"].as_array().map(Vec::len), Some(1));
    assert_eq!(second["imports"][0]["id"], ids[0].as_str());
    assert_eq!(second["next_cursor"], Value::Null);
    let failed_only = owner.get_json(&app, "/api/imports?status=failed").await;
    assert_eq!(failed_only["imports"].as_array().map(Vec::len), Some(1));
    assert_eq!(failed_only["imports"][0]["kind"], "products");
    assert_eq!(assert_problem(owner.get(&app, "/api/imports?status=done").await, 422).await["field"], "status");
    assert_eq!(assert_problem(owner.get(&app, "/api/imports?cursor=zzz").await, 422).await["field"], "cursor");
}

#[tokio::test]
async fn many_failed_rows_are_paged_through() {
    let app = spawn_app().await;
    let store = store(&app).await;
    let _workers = app.start_pools(&[Pool::Imports]);
    let mut file = String::from("order_id,email,status\n");
    for n in 0..25 {
        file.push_str(&format!("{n},not-an-email,paid\n"));
    }
    let import = store.import(&app, "orders", "", file).await;
    assert_eq!(counts(&import), (25, 0, 0, 25));
    assert_eq!(import["errors"].as_array().map(Vec::len), Some(20));
    assert_eq!(
        import["errors"][0],
        json!({"line": 2, "column": "email", "value": "***", "message": import["errors"][0]["message"]})
    );
    let cursor = import["errors_next_cursor"].as_str().expect("more errors");
    let id = import["id"].as_str().expect("id");
    let rest = store.get_json(&app, &format!("/api/imports/{id}/errors?cursor={cursor}")).await;
    let lines: Vec<i64> =
        rest["errors"].as_array().expect("errors").iter().map(|e| e["line"].as_i64().expect("line")).collect();
    assert_eq!(lines, vec![22, 23, 24, 25, 26]);
    assert_eq!(rest["total"], 25);
    assert_eq!(rest["next_cursor"], Value::Null);
    let page = store.get_json(&app, &format!("/api/imports/{id}/errors?limit=10")).await;
    assert_eq!(page["errors"].as_array().map(Vec::len), Some(10));
    assert_eq!(page["errors"][9]["line"], 11);
    assert_eq!(store.errors_csv(&app, id).await.lines().count(), 26);
}

#[tokio::test]
async fn the_templates_download_and_import_cleanly() {
    let app = spawn_app().await;
    let store = store(&app).await;
    let _workers = app.start_pools(&[Pool::Imports]);
    for kind in ["orders", "products"] {
        let response = store.get(&app, &format!("/api/imports/templates/{kind}.csv")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
        assert_eq!(response.headers()["content-disposition"], format!("attachment; filename=\"{kind}.csv\""));
        let template = response.text().await.expect("text");
        let expected = recete_imports::template(kind.parse().expect("kind"));
        assert_eq!(template, expected);
        let import = store.import(&app, kind, "", template).await;
        assert_eq!(counts(&import), (2, 2, 0, 0), "{kind}: {import}");
        assert_eq!(import["ignored_columns"], json!([]));
    }
}

//! `recete import`: the same import from the command line, with a JSON summary on stdout.

use std::process::{Command, Output};

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use super::store;
use crate::helpers::{TestApp, spawn_app};

fn recete(app: &TestApp, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recete"))
        .args(args)
        .env("DATABASE_URL", app.db.app_url())
        .env("RECETE__LOG__FORMAT", "pretty")
        .env("RECETE__LOG__FILTER", "warn")
        .output()
        .expect("recete runs")
}

fn summary(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("one JSON object on stdout ({e}); stderr: {}", String::from_utf8_lossy(&output.stderr))
    })
}

#[tokio::test]
async fn orders_and_products_are_imported_from_the_command_line() {
    let app = spawn_app().await;
    let store = store(&app).await;
    let merchant = store.merchant.to_string();
    let folder = tempdir();
    let delivered = (Utc::now() - Duration::hours(3)).format("%Y-%m-%d %H:%M");
    let orders = folder.join("orders.csv");
    std::fs::write(
        &orders,
        format!(
            "Order ID;Mobile;Status;Delivered;SKU;Qty\n\
             3001;0151 23456789;delivered;{delivered};SERUM-30;1\n\
             3002;0151 23456780;delivered;{delivered};SERUM-30;x\n"
        ),
    )
    .expect("write");

    let output = recete(
        &app,
        &[
            "import",
            "orders",
            "--merchant",
            &merchant,
            orders.to_str().expect("path"),
            "--plan-followups",
            "--default-country",
            "DE",
        ],
    );
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let result = summary(&output);
    assert_eq!(result["status"], "completed");
    assert_eq!(result["kind"], "orders");
    assert_eq!(result["file_name"], "orders.csv");
    assert_eq!(
        (result["total_rows"].clone(), result["imported"].clone(), result["failed"].clone()),
        (json!(2), json!(1), json!(1))
    );
    assert_eq!(
        result["errors"],
        json!([{"line": 3, "column": "Qty", "value": "x", "message": "must be a whole number of at least 1"}])
    );
    assert_eq!(app.order_status("3001").await.as_deref(), Some("delivered"));
    assert_eq!(app.count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'follow_up'").await, 2, "planned as asked");
    let import_id = result["import_id"].as_str().expect("id");
    let created_by: String = sqlx::query_scalar("SELECT created_by FROM imports WHERE id = $1::uuid")
        .bind(import_id)
        .fetch_one(&app.admin)
        .await
        .expect("import");
    assert_eq!(created_by, "cli");
    // The API shows the same import.
    assert_eq!(store.get_json(&app, &format!("/api/imports/{import_id}")).await["imported"], 1);

    let products = folder.join("products.csv");
    std::fs::write(&products, recete_imports::template(recete_imports::ImportKind::Products)).expect("write");
    let output = recete(&app, &["import", "products", "--merchant", &merchant, products.to_str().expect("path")]);
    let result = summary(&output);
    assert_eq!((result["status"].clone(), result["imported"].clone()), (json!("completed"), json!(2)));

    // Shopify's customers export, as Shopify writes it, read by its own profile.
    let customers = folder.join("customers_export.csv");
    std::fs::write(&customers, crate::helpers::fixture("imports/shopify_customers_export.csv")).expect("write");
    let output = recete(&app, &["import", "customers", "--merchant", &merchant, customers.to_str().expect("path")]);
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let result = summary(&output);
    assert_eq!(
        (result["kind"].clone(), result["profile"].clone(), result["imported"].clone()),
        (json!("customers"), json!("shopify_customers"), json!(3))
    );
    let refused_follow_ups = recete(
        &app,
        &["import", "customers", "--merchant", &merchant, customers.to_str().expect("path"), "--plan-followups"],
    );
    assert!(!refused_follow_ups.status.success(), "customers files take no --plan-followups");

    let refused = folder.join("refused.csv");
    std::fs::write(&refused, "sku\nX-1\n").expect("write");
    let output = recete(&app, &["import", "products", "--merchant", &merchant, refused.to_str().expect("path")]);
    assert!(!output.status.success());
    assert_eq!(summary(&output)["failure_reason"], "missing required column: title");
    assert!(String::from_utf8_lossy(&output.stderr).contains("missing required column: title"));

    let unknown = recete(
        &app,
        &["import", "orders", "--merchant", "01a207ed-8965-7693-8efc-a111fff1b398", orders.to_str().expect("path")],
    );
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no merchant 01a207ed-8965-7693-8efc-a111fff1b398"));
    let missing = recete(&app, &["import", "orders", "--merchant", &merchant, "/nonexistent/orders.csv"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot open /nonexistent/orders.csv"));
    let _ = std::fs::remove_dir_all(&folder);
}

fn tempdir() -> std::path::PathBuf {
    let folder = std::env::temp_dir().join(format!("recete-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&folder).expect("temp folder");
    folder
}

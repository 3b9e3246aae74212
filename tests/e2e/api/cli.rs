use std::process::Command;

use crate::helpers::{json_output as json, run_recete, spawn_app};

fn recete(app: &crate::helpers::TestApp, args: &[&str]) -> std::process::Output {
    let (app_url, owner_url) = (app.db.app_url(), app.db.owner_url());
    run_recete(&[("DATABASE_URL", &app_url), ("DATABASE_MIGRATION_URL", &owner_url)], args)
}

#[tokio::test]
async fn merchants_and_integrations_are_created_from_the_command_line() {
    let app = spawn_app().await;
    let migrated = json(&recete(&app, &["migrate"]));
    assert!(migrated["migrations_applied"].as_i64().is_some_and(|n| n >= 6));
    assert_eq!(migrated["owner"], "recete_owner", "{migrated}");
    assert_eq!(migrated["application_role"], "recete", "{migrated}");
    assert_eq!(migrated["granted"], true, "{migrated}");

    let merchant =
        json(&recete(&app, &["merchant", "create", "--name", "Serum Shop", "--timezone", "Europe/Istanbul"]));
    let merchant_id = merchant["merchant_id"].as_str().expect("merchant_id").to_owned();
    let api_key = merchant["api_key"].as_str().expect("api_key");
    assert!(recete_shared::api_keys::is_well_formed(api_key), "{api_key}");
    let stored_hash: Vec<u8> =
        sqlx::query_scalar("SELECT key_hash FROM api_keys").fetch_one(&app.admin).await.expect("hash");
    assert_eq!(stored_hash, recete_platform::crypto::sha256(api_key.as_bytes()).to_vec());

    let shopify = json(&recete(
        &app,
        &[
            "integration",
            "create",
            "--merchant",
            &merchant_id,
            "--kind",
            "shopify",
            "--secret",
            "a-secret-of-enough-length",
        ],
    ));
    assert_eq!(shopify["secret"], "a-secret-of-enough-length");
    assert_eq!(
        shopify["webhook_path"],
        format!("/webhooks/commerce/shopify/{}", shopify["integration_id"].as_str().expect("id"))
    );

    let whatsapp = json(&recete(
        &app,
        &["integration", "create", "--merchant", &merchant_id, "--kind", "whatsapp", "--phone-number-id", "1234"],
    ));
    assert_eq!(whatsapp["webhook_path"], "/webhooks/whatsapp");
    assert!(whatsapp["verify_token"].as_str().is_some_and(|t| t.len() >= 32));
    assert!(whatsapp["secret"].as_str().is_some_and(|t| t.len() >= 32));
}

#[tokio::test]
async fn bad_command_line_input_fails_with_a_reason() {
    let app = spawn_app().await;
    let cases: [(&[&str], &str); 4] = [
        (&["merchant", "create", "--name", "X", "--timezone", "Mars/Base"], "not an IANA time zone"),
        (
            &["integration", "create", "--merchant", "01a207ed-8965-7693-8efc-a111fff1b398", "--kind", "shopify"],
            "does not exist",
        ),
        (
            &["integration", "create", "--merchant", "01a207ed-8965-7693-8efc-a111fff1b398", "--kind", "fax"],
            "unknown integration kind",
        ),
        (
            &["integration", "create", "--merchant", "01a207ed-8965-7693-8efc-a111fff1b398", "--kind", "whatsapp"],
            "--phone-number-id",
        ),
    ];
    for (args, reason) in cases {
        let output = recete(&app, args);
        assert!(!output.status.success(), "{args:?} must fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn healthcheck_exits_zero_only_for_a_ready_instance() {
    let app = spawn_app().await;
    let address = app.address.clone();
    let ok = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_recete")).args(["healthcheck", &address]).status()
    })
    .await
    .expect("joined")
    .expect("runs");
    assert!(ok.success());
    let down = tokio::task::spawn_blocking(|| {
        Command::new(env!("CARGO_BIN_EXE_recete")).args(["healthcheck", "http://127.0.0.1:1"]).status()
    })
    .await
    .expect("joined")
    .expect("runs");
    assert!(!down.success());
}

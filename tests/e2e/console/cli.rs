//! `recete users add|list|link|disable`: the printed link works once in the running console.

use reqwest::StatusCode;

use super::{PASSWORD, location, spawn_console};
use crate::helpers::{json_output as json, run_recete};

fn recete(console: &super::ConsoleApp, args: &[&str]) -> std::process::Output {
    let (app_url, owner_url) = (console.app.db.app_url(), console.app.db.owner_url());
    run_recete(
        &[
            ("DATABASE_URL", &app_url),
            ("DATABASE_MIGRATION_URL", &owner_url),
            ("RECETE__APP__PUBLIC_URL", &console.app.address),
        ],
        args,
    )
}

#[tokio::test]
async fn users_add_prints_a_one_time_link_that_signs_in_and_list_and_disable_work() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await.to_string();
    let added = json(&recete(
        &console,
        &["users", "add", "--merchant", &merchant, "--email", "Owner@Shop.example", "--role", "owner"],
    ));
    assert_eq!(added["email"], "owner@shop.example");
    assert_eq!(added["role"], "owner");
    let link = added["sign_in_link"].as_str().expect("sign_in_link").to_owned();
    let prefix = format!("{}/console/sign-in/link/", console.app.address);
    assert!(link.starts_with(&prefix), "{link}");

    let page = console.client.get(&link).send().await.expect("sent");
    assert_eq!(page.status(), StatusCode::OK);
    let redeemed =
        console.client.post(&link).form(&[("password", PASSWORD), ("repeat", PASSWORD)]).send().await.expect("sent");
    assert_eq!(redeemed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&redeemed), "/console");
    let session = console.session_from(redeemed).await;
    assert!(console.is_signed_in(&session).await);
    let again =
        console.client.post(&link).form(&[("password", PASSWORD), ("repeat", PASSWORD)]).send().await.expect("sent");
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "the link works once");
    assert_eq!(console.audited("user.invited").await[0].0, "cli");

    let listed = recete(&console, &["users", "list", "--merchant", &merchant]);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let line: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("one JSON line");
    assert_eq!(line["email"], "owner@shop.example");
    assert_eq!(line["has_password"], true);

    let taken = recete(
        &console,
        &["users", "add", "--merchant", &merchant, "--email", "owner@shop.example", "--role", "agent"],
    );
    assert!(!taken.status.success());
    assert!(String::from_utf8_lossy(&taken.stderr).contains("already has a console account"));
    let bad_role =
        recete(&console, &["users", "add", "--merchant", &merchant, "--email", "x@shop.example", "--role", "admin"]);
    assert!(!bad_role.status.success());

    let disabled = json(&recete(&console, &["users", "disable", "--email", "owner@shop.example"]));
    assert_eq!(disabled["changed"], true);
    assert!(!console.is_signed_in(&session).await, "disabling ends the sessions");
}

#[tokio::test]
async fn users_link_replaces_a_forgotten_password_and_voids_the_earlier_link() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await.to_string();
    let added = json(&recete(
        &console,
        &["users", "add", "--merchant", &merchant, "--email", "lost@shop.example", "--role", "agent"],
    ));
    let first = added["sign_in_link"].as_str().expect("sign_in_link").to_owned();
    let issued = json(&recete(&console, &["users", "link", "--email", "LOST@shop.example"]));
    assert_eq!(issued["email"], "lost@shop.example");
    let second = issued["sign_in_link"].as_str().expect("sign_in_link").to_owned();
    assert_ne!(first, second);
    assert_eq!(console.client.get(&first).send().await.expect("sent").status(), StatusCode::NOT_FOUND, "voided");

    let new_password = "a whole new passphrase 42";
    let redeemed = console
        .client
        .post(&second)
        .form(&[("password", new_password), ("repeat", new_password)])
        .send()
        .await
        .expect("sent");
    assert_eq!(redeemed.status(), StatusCode::SEE_OTHER);
    assert!(console.is_signed_in(&console.session_from(redeemed).await).await);
    assert_eq!(console.audited("user.sign_in_link_issued").await[0].0, "cli");

    let unknown = recete(&console, &["users", "link", "--email", "nobody@shop.example"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nobody@shop.example"));
}

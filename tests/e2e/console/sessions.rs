//! Idle sessions, signing out everywhere and changing the password.

use recete_console::users::Role;
use reqwest::StatusCode;

use super::{PASSWORD, location, spawn_console, spawn_console_with};

#[tokio::test]
async fn an_idle_session_expires_and_a_used_one_stays() {
    let console = spawn_console_with(|figment| figment.merge(("console.session_idle_secs", 2))).await;
    let merchant = console.app.merchant().await;
    let session = console.user(merchant, "ada@shop.example", Role::Viewer).await;
    // Used more often than the idle limit, the session lives past it.
    for _ in 0..4 {
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        assert!(console.is_signed_in(&session).await, "a session in use stays");
    }
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let expired = console.get(&session, "/console/settings/users").await;
    assert_eq!(expired.status(), StatusCode::SEE_OTHER);
    assert!(location(&expired).starts_with("/console/sign-in?next="), "idle too long: sign in again");
    let post = console.post(&session, "/console/sign-out-everywhere", &[]).await;
    assert_eq!(post.status(), StatusCode::UNAUTHORIZED, "a POST of an expired session does nothing");
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_session_of_the_user_only() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await;
    let phone = console.user(merchant, "ada@shop.example", Role::Agent).await;
    let laptop = console.session_from(console.sign_in("ada@shop.example", PASSWORD).await).await;
    let colleague = console.user(merchant, "grace@shop.example", Role::Viewer).await;
    assert!(console.is_signed_in(&phone).await && console.is_signed_in(&laptop).await);

    let out = console.post(&laptop, "/console/sign-out-everywhere", &[]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&out), "/console/sign-in");
    assert!(!console.is_signed_in(&phone).await, "the other device is signed out");
    assert!(!console.is_signed_in(&laptop).await, "this one too");
    assert!(console.is_signed_in(&colleague).await, "someone else's session stays");
    let audited = console.audited("user.signed_out_everywhere").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].0, "user:ada@shop.example");
    assert_eq!(audited[0].1.map(|id| id.to_string()), Some(merchant.to_string()));
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await;
    let here = console.user(merchant, "ada@shop.example", Role::Viewer).await;
    let elsewhere = console.session_from(console.sign_in("ada@shop.example", PASSWORD).await).await;
    let new_password = "a different long passphrase";

    let wrong = console
        .post(
            &here,
            "/console/account/password",
            &[("current", "not my password at all"), ("password", new_password), ("repeat", new_password)],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert!(wrong.text().await.expect("page").contains("The current password is not right."));
    let short = console
        .post(&here, "/console/account/password", &[("current", PASSWORD), ("password", "short"), ("repeat", "short")])
        .await;
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    assert!(console.is_signed_in(&elsewhere).await, "refused changes end nothing");

    let changed = console
        .post(
            &here,
            "/console/account/password",
            &[("current", PASSWORD), ("password", new_password), ("repeat", new_password)],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert!(changed.text().await.expect("page").contains("Your password is changed."));
    assert!(console.is_signed_in(&here).await, "this session stays");
    assert!(!console.is_signed_in(&elsewhere).await, "the other session ended");
    assert_eq!(console.sign_in("ada@shop.example", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(console.sign_in("ada@shop.example", new_password).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(console.audited("user.password_changed").await[0].0, "user:ada@shop.example");
}

//! Signing in by one-time link then by password, wrong passwords, rate limits per account and
//! per address, CSRF and cross-site refusals.

use recete_console::users::Role;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, COOKIE, ORIGIN, RETRY_AFTER};

use super::{PASSWORD, location, set_cookie, spawn_console, spawn_console_with};

#[tokio::test]
async fn a_one_time_link_sets_the_password_and_signs_in_then_the_password_signs_in() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await;
    let link = console.invite(merchant, "Owner@Shop.example", Role::Owner).await;

    let anonymous = console.client.get(console.url("/console/settings/users")).send().await.expect("sent");
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&anonymous), "/console/sign-in?next=%2Fconsole%2Fsettings%2Fusers");

    let form = console.client.get(console.url(&link)).send().await.expect("sent");
    assert_eq!(form.status(), StatusCode::OK);
    let csp = form.headers().get(CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let page = form.text().await.expect("page");
    assert!(page.contains("owner@shop.example"), "the link names its account, lowercased");

    let differ = console.redeem(&link, PASSWORD, "something else entirely").await;
    assert_eq!(differ.status(), StatusCode::BAD_REQUEST);
    assert!(differ.text().await.expect("page").contains("The two new passwords are not the same."));
    let short = console.redeem(&link, "short", "short").await;
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    assert!(short.text().await.expect("page").contains("at least 12 characters"));
    let long = "x".repeat(1025);
    assert_eq!(console.redeem(&link, &long, &long).await.status(), StatusCode::BAD_REQUEST);

    let redeemed = console.redeem(&link, PASSWORD, PASSWORD).await;
    assert_eq!(redeemed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&redeemed), "/console");
    let cookie = set_cookie(&redeemed);
    assert!(cookie.starts_with("recete_console_session="), "{cookie}");
    assert!(
        cookie.contains("; HttpOnly") && cookie.contains("; SameSite=Strict") && cookie.contains("; Path=/console"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "the test app's public URL is plain http: {cookie}");
    let value = cookie.split(';').next().and_then(|pair| pair.split_once('=')).expect("name=value").1.to_owned();
    let hashed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM merchant_user_sessions WHERE id_hash = sha256($1::bytea)")
            .bind(value.as_bytes())
            .fetch_one(&console.app.admin)
            .await
            .expect("lookup");
    assert_eq!(hashed, 1, "only the cookie's hash is stored");
    let stored: String = sqlx::query_scalar("SELECT password_hash FROM merchant_users")
        .fetch_one(&console.app.admin)
        .await
        .expect("hash");
    assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");

    let again = console.redeem(&link, "another long passphrase", "another long passphrase").await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "a link works once");
    assert!(again.text().await.expect("page").contains("was used already or has expired"));
    assert_eq!(console.client.get(console.url(&link)).send().await.expect("sent").status(), StatusCode::NOT_FOUND);

    let session = console.session_from(console.sign_in("OWNER@shop.example ", PASSWORD).await).await;
    let home = console.get(&session, "/console").await;
    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&home), "/console/imports", "home leads to the first page there is");
    let users = console.get_html(&session, "/console/settings/users").await;
    assert!(users.contains("owner@shop.example") && users.contains(">owner<"), "the page names who is signed in");

    let out = console.post(&session, "/console/sign-out", &[]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(set_cookie(&out).contains("Max-Age=0"));
    assert!(!console.is_signed_in(&session).await, "the signed-out session is gone");
    assert_eq!(console.audited("user.password_set").await[0].0, "user:owner@shop.example");
    assert_eq!(console.audited("user.signed_in").await.len(), 2);
}

#[tokio::test]
async fn a_wrong_password_or_unknown_email_is_refused_alike() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await;
    console.user(merchant, "ada@shop.example", Role::Viewer).await;
    for (email, password) in [("ada@shop.example", "not the right password"), ("nobody@shop.example", PASSWORD)] {
        let refused = console.sign_in(email, password).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert!(refused.headers().get(reqwest::header::SET_COOKIE).is_none());
        let page = refused.text().await.expect("page");
        assert!(page.contains("That email and password do not match an account that may sign in."), "{page}");
    }
    let invited_only = console.invite(merchant, "grace@shop.example", Role::Agent).await;
    assert!(!invited_only.is_empty());
    assert_eq!(console.sign_in("grace@shop.example", "").await.status(), StatusCode::UNAUTHORIZED);
    let signed_in = console.sign_in("ada@shop.example", PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_account_with_a_time_to_wait() {
    let console = spawn_console_with(|figment| {
        figment.merge(("console.sign_in_failures_per_account", 3)).merge(("console.sign_in_window_secs", 600))
    })
    .await;
    let merchant = console.app.merchant().await;
    console.user(merchant, "ada@shop.example", Role::Owner).await;
    for _ in 0..3 {
        assert_eq!(console.sign_in("ada@shop.example", "wrong password here").await.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = console.sign_in("Ada@shop.example", PASSWORD).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    let retry_after: u64 = limited
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((590..=600).contains(&retry_after), "{retry_after}");
    let page = limited.text().await.expect("page");
    assert!(page.contains("Too many failed sign-ins for this account. Try again in 10 minutes."), "{page}");
    let stored: i64 = console.app.count("SELECT count(*) FROM console_sign_in_failures").await;
    assert_eq!(stored, 6, "one row per account and per address for each failure");

    let other = console.user(merchant, "grace@shop.example", Role::Viewer).await;
    assert!(console.is_signed_in(&other).await);
    assert_eq!(console.sign_in("grace@shop.example", PASSWORD).await.status(), StatusCode::SEE_OTHER);

    sqlx::query("UPDATE console_sign_in_failures SET failed_at = failed_at - interval '11 minutes'")
        .execute(&console.app.admin)
        .await
        .expect("failures aged");
    assert_eq!(console.sign_in("ada@shop.example", PASSWORD).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_client_address() {
    let console = spawn_console_with(|figment| {
        figment.merge(("console.sign_in_failures_per_address", 4)).merge(("console.sign_in_window_secs", 120))
    })
    .await;
    let merchant = console.app.merchant().await;
    console.user(merchant, "ada@shop.example", Role::Owner).await;
    for n in 0..4 {
        let refused = console.sign_in(&format!("guess{n}@shop.example"), "wrong password here").await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = console.sign_in("ada@shop.example", PASSWORD).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().get(RETRY_AFTER).is_some());
    let page = limited.text().await.expect("page");
    assert!(page.contains("Too many failed sign-ins from your network address. Try again in 2 minutes."), "{page}");
}

#[tokio::test]
async fn posts_without_the_csrf_token_or_from_another_site_are_refused_and_change_nothing() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await;
    let owner = console.user(merchant, "owner@shop.example", Role::Owner).await;
    let invite = [("email", "new@shop.example"), ("role", "viewer")];

    let missing = console
        .client
        .post(console.url("/console/settings/users"))
        .header(COOKIE, &owner.cookie)
        .form(&invite)
        .send()
        .await
        .expect("sent");
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    assert!(missing.text().await.expect("page").contains("carries no CSRF token"));

    let mut wrong_form = vec![("csrf", "0123456789abcdef0123456789abcdef")];
    wrong_form.extend_from_slice(&invite);
    let wrong = console
        .client
        .post(console.url("/console/settings/users"))
        .header(COOKIE, &owner.cookie)
        .form(&wrong_form)
        .send()
        .await
        .expect("sent");
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert!(wrong.text().await.expect("page").contains("does not match this session"));
    let wrong_header = console
        .client
        .post(console.url("/console/sign-out-everywhere"))
        .header(COOKIE, &owner.cookie)
        .header("x-csrf-token", "nope")
        .send()
        .await
        .expect("sent");
    assert_eq!(wrong_header.status(), StatusCode::FORBIDDEN);

    let mut form = vec![("csrf", owner.csrf.as_str())];
    form.extend_from_slice(&invite);
    let cross_origin = console
        .client
        .post(console.url("/console/settings/users"))
        .header(COOKIE, &owner.cookie)
        .header(ORIGIN, "https://evil.example")
        .form(&form)
        .send()
        .await
        .expect("sent");
    assert_eq!(cross_origin.status(), StatusCode::FORBIDDEN);
    assert!(cross_origin.text().await.expect("page").contains("evil.example"));
    let cross_site = console
        .client
        .post(console.url("/console/settings/users"))
        .header(COOKIE, &owner.cookie)
        .header("sec-fetch-site", "cross-site")
        .form(&form)
        .send()
        .await
        .expect("sent");
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let sign_in = console
        .client
        .post(console.url("/console/sign-in"))
        .header(ORIGIN, "https://evil.example")
        .form(&[("email", "owner@shop.example"), ("password", super::PASSWORD)])
        .send()
        .await
        .expect("sent");
    assert_eq!(sign_in.status(), StatusCode::FORBIDDEN, "sign-in forms are Origin-checked too");

    assert_eq!(console.app.count("SELECT count(*) FROM merchant_users").await, 1, "nobody was invited");
    assert!(console.is_signed_in(&owner).await, "no session was ended");

    let same_site = console
        .client
        .post(console.url("/console/settings/users"))
        .header(COOKIE, &owner.cookie)
        .header(ORIGIN, console.app.address.as_str())
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
        .expect("sent");
    assert_eq!(same_site.status(), StatusCode::OK, "the same form from the console itself works");
    assert_eq!(console.app.count("SELECT count(*) FROM merchant_users").await, 2);
}

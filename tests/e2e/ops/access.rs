//! Signing in and out, idle sessions, bearer tokens, roles, CSRF and a database that is down.

use recete_ops::operators::{self, Role};
use recete_platform::db;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, COOKIE, SET_COOKIE};

use super::{location, signed_in, spawn_board, start_board};
use crate::helpers::spawn_app_with;

#[tokio::test]
async fn signing_in_sets_a_strict_http_only_cookie_and_signing_out_ends_the_session() {
    let board = spawn_board().await;
    let anonymous =
        board.client.get(board.url("/ops/jobs?state=dead")).header(ACCEPT, "text/html").send().await.expect("sent");
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&anonymous), "/ops/sign-in?next=%2Fops%2Fjobs%3Fstate%3Ddead");
    let script = board.client.get(board.url("/ops/queues.json")).send().await.expect("sent");
    assert_eq!(script.status(), StatusCode::UNAUTHORIZED);

    let token = board.operator("ada", Role::ReadOnly).await;
    let wrong =
        board.client.post(board.url("/ops/sign-in")).form(&[("token", "rop_wrong")]).send().await.expect("sent");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.text().await.expect("page").contains("That token is unknown"));

    let response = board
        .client
        .post(board.url("/ops/sign-in"))
        .form(&[("token", token.as_str()), ("next", "/ops/jobs?state=dead")])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/ops/jobs?state=dead", "back where the operator was going");
    let cookie = response.headers().get(SET_COOKIE).and_then(|v| v.to_str().ok()).expect("cookie").to_owned();
    assert!(
        cookie.contains("; HttpOnly") && cookie.contains("; SameSite=Strict") && cookie.contains("; Path=/ops"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "the test app's public URL is plain http: {cookie}");
    let stored: i64 = board.app.count("SELECT count(*) FROM operator_sessions").await;
    assert_eq!(stored, 1);
    let value = cookie.split(';').next().expect("pair").split_once('=').expect("name=value").1.to_owned();
    let hashed: i64 = sqlx::query_scalar("SELECT count(*) FROM operator_sessions WHERE id_hash = sha256($1::bytea)")
        .bind(value.as_bytes())
        .fetch_one(&board.app.admin)
        .await
        .expect("lookup");
    assert_eq!(hashed, 1, "only the cookie's hash is stored");

    let session = board.sign_in(&token).await;
    let page = board.get_html(&session, "/ops").await;
    assert!(page.contains(">ada<") && page.contains("read only"), "the page names who is signed in");

    let out = board.post(&session, "/ops/sign-out", &[]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(out.headers().get(SET_COOKIE).and_then(|v| v.to_str().ok()).is_some_and(|c| c.contains("Max-Age=0")));
    let after =
        board.client.get(board.url("/ops/queues.json")).header(COOKIE, &session.cookie).send().await.expect("sent");
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED, "the signed-out session is gone");
    assert_eq!(board.audited("operator.signed_in").await.len(), 2);
}

#[tokio::test]
async fn idle_sessions_expire_and_disabled_operators_lose_theirs_at_once() {
    let app = spawn_app_with(|figment| figment.merge(("ops.session_ttl_secs", 600))).await;
    let board = start_board(app).await;
    let session = signed_in(&board, "grace", Role::Operator).await;
    let ttl: f64 =
        sqlx::query_scalar("SELECT extract(epoch FROM expires_at - created_at)::float8 FROM operator_sessions")
            .fetch_one(&board.app.admin)
            .await
            .expect("session row");
    assert!((ttl - 600.0).abs() < 1.0, "the idle limit is ops.session_ttl_secs: {ttl}");
    sqlx::query("UPDATE operator_sessions SET expires_at = now() - interval '1 second'")
        .execute(&board.app.admin)
        .await
        .expect("session aged");
    assert_eq!(board.get(&session, "/ops/queues.json").await.status(), StatusCode::UNAUTHORIZED);

    let session = board.sign_in(&board.operator("linus", Role::Operator).await).await;
    assert_eq!(board.get(&session, "/ops/queues.json").await.status(), StatusCode::OK);
    assert!(operators::disable(&board.app.pool, "linus", "cli", true).await.expect("disabled"));
    assert_eq!(board.get(&session, "/ops/queues.json").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bearer_tokens_serve_scripts_without_cookies_or_csrf() {
    let board = spawn_board().await;
    let token = board.operator("deploy-bot", Role::Operator).await;
    let read = board.client.get(board.url("/ops/queues.json")).bearer_auth(&token).send().await.expect("sent");
    assert_eq!(read.status(), StatusCode::OK);
    let body: serde_json::Value = read.json().await.expect("json");
    assert_eq!(body["queues"].as_array().map(Vec::len), Some(recete_jobs::QueueName::ALL.len()), "{body}");

    let paused =
        board.client.post(board.url("/ops/queues/imports/pause")).bearer_auth(&token).send().await.expect("sent");
    assert_eq!(paused.status(), StatusCode::SEE_OTHER, "no CSRF token needed without a cookie");
    assert_eq!(
        board.audited("queue.paused").await,
        vec![("operator:deploy-bot".to_owned(), Some("imports".to_owned()))]
    );

    let bad = board.client.get(board.url("/ops/queues.json")).bearer_auth("rop_nope").send().await.expect("sent");
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = bad.json().await.expect("json");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("bearer token is unknown")), "{body}");
    let malformed = board.client.get(board.url("/ops")).header(AUTHORIZATION, "Basic abc").send().await.expect("sent");
    assert_eq!(malformed.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn posts_need_this_sessions_csrf_token_and_a_same_site_origin() {
    let board = spawn_board().await;
    let session = signed_in(&board, "ops", Role::Operator).await;
    let pause = |fields: Vec<(&'static str, String)>, origin: Option<&'static str>| {
        let mut request = board.client.post(board.url("/ops/queues/messages/pause")).header(COOKIE, &session.cookie);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.form(&fields).send()
    };
    let missing = pause(vec![], None).await.expect("sent");
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    assert!(missing.text().await.expect("page").contains("carries no CSRF token"));
    let wrong = pause(vec![("csrf", "x".repeat(session.csrf.len()))], None).await.expect("sent");
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert!(wrong.text().await.expect("page").contains("does not match this session"));
    let other_site = pause(vec![("csrf", session.csrf.clone())], Some("https://evil.example")).await.expect("sent");
    assert_eq!(other_site.status(), StatusCode::FORBIDDEN);
    assert!(other_site.text().await.expect("page").contains("evil.example"));
    assert_eq!(board.app.count("SELECT count(*) FROM queue_pauses").await, 0, "nothing refused changed anything");

    let header = board
        .client
        .post(board.url("/ops/queues/messages/pause"))
        .header(COOKIE, &session.cookie)
        .header("x-csrf-token", &session.csrf)
        .send()
        .await
        .expect("sent");
    assert_eq!(header.status(), StatusCode::SEE_OTHER, "the token may come as a header");
    let form = board.post(&session, "/ops/queues/messages/resume", &[]).await;
    assert_eq!(form.status(), StatusCode::SEE_OTHER, "or as the form's field");
    assert_eq!(board.app.count("SELECT count(*) FROM queue_pauses").await, 0);
    assert_eq!(board.audited("queue.resumed").await.len(), 1);
}

#[tokio::test]
async fn each_role_sees_what_it_may_do_and_is_told_which_role_the_rest_needs() {
    let board = spawn_board().await;
    let reader = signed_in(&board, "reader", Role::ReadOnly).await;
    let operator = signed_in(&board, "worker-bee", Role::Operator).await;
    let admin = signed_in(&board, "root", Role::Admin).await;

    let refused = board.post(&reader, "/ops/queues/messages/pause", &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let page = refused.text().await.expect("page");
    assert!(page.contains("Pausing a queue needs the operator role; you are signed in as read_only"), "{page}");
    assert!(!board.get_html(&reader, "/ops").await.contains(">Pause<"), "no buttons that would be refused");
    assert!(board.get_html(&operator, "/ops").await.contains(">Pause<"));

    let operators_page = board.get(&operator, "/ops/operators").await;
    assert_eq!(operators_page.status(), StatusCode::FORBIDDEN);
    assert!(operators_page.text().await.expect("page").contains("needs the admin role"));
    assert!(!board.get_html(&operator, "/ops").await.contains("/ops/operators"), "admins only in the navigation");

    let added = board.post(&admin, "/ops/operators", &[("name", "newbie"), ("role", "read_only")]).await;
    assert_eq!(added.status(), StatusCode::OK);
    let page = added.text().await.expect("page");
    let token = page
        .split(r#"<code id="new-token">"#)
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("token shown once");
    assert!(board.sign_in(token).await.csrf.len() > 10, "the new operator signs in with it");
    let taken = board.post(&admin, "/ops/operators", &[("name", "newbie"), ("role", "admin")]).await;
    assert_eq!(taken.status(), StatusCode::BAD_REQUEST);
    assert!(taken.text().await.expect("page").contains("an operator named `newbie` exists already"));
    let bad_role = board.post(&admin, "/ops/operators", &[("name", "x"), ("role", "root")]).await;
    assert_eq!(bad_role.status(), StatusCode::BAD_REQUEST);

    let disabled = board.post(&admin, "/ops/operators/reader/disable", &[]).await;
    assert_eq!(disabled.status(), StatusCode::SEE_OTHER);
    assert_eq!(board.get(&reader, "/ops/queues.json").await.status(), StatusCode::UNAUTHORIZED);
    let actors: Vec<String> = board.audited("operator.disabled").await.into_iter().map(|(actor, _)| actor).collect();
    assert_eq!(actors, ["operator:root"]);
    let myself = board.post(&admin, "/ops/operators/root/disable", &[]).await;
    assert_eq!(myself.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_database_that_cannot_be_reached_is_a_503_page_not_a_panic() {
    let app = spawn_app_with(|figment| {
        figment
            .merge(("database.url", "postgres://recete@127.0.0.1:1/nowhere"))
            .merge(("database.acquire_timeout_ms", 1000))
    })
    .await;
    let pool = db::connect_lazy(&app.settings.database).expect("lazy pool");
    let board =
        recete_ops::Board::build(&app.settings, "127.0.0.1:0".parse().expect("addr"), pool, app.keyring.clone())
            .await
            .expect("binds without the database");
    let address = format!("http://127.0.0.1:{}", board.port());
    let shutdown = tokio_util::sync::CancellationToken::new();
    let _server = tokio::spawn(board.run_until_stopped(shutdown.clone()));
    let client = super::no_redirects();
    let page =
        client.get(format!("{address}/ops")).bearer_auth(format!("rop_{}", "a".repeat(40))).send().await.expect("sent");
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.text().await.expect("page").contains("database cannot be reached"));
    let polled = client
        .get(format!("{address}/ops/queues.json"))
        .bearer_auth(format!("rop_{}", "a".repeat(40)))
        .send()
        .await
        .expect("sent");
    assert_eq!(polled.status(), StatusCode::SERVICE_UNAVAILABLE, "the polling script hears it too");
    let body: serde_json::Value = polled.json().await.expect("a JSON error");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("database cannot be reached")), "{body}");
    let sign_in = client
        .post(format!("{address}/ops/sign-in"))
        .form(&[("token", format!("rop_{}", "a".repeat(40)))])
        .send()
        .await
        .expect("sent");
    assert_eq!(sign_in.status(), StatusCode::SERVICE_UNAVAILABLE);
    shutdown.cancel();
}

#[tokio::test]
async fn operators_are_added_listed_and_disabled_from_the_command_line() {
    let board = spawn_board().await;
    let recete = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_recete"))
            .args(args)
            .env("DATABASE_URL", board.app.db.app_url())
            .env("RECETE__LOG__FILTER", "warn")
            .output()
            .expect("recete runs")
    };
    let added = recete(&["operators", "add", "--name", "ada", "--role", "admin"]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let added: serde_json::Value = serde_json::from_slice(&added.stdout).expect("one JSON object");
    assert_eq!((&added["name"], &added["role"]), (&"ada".into(), &"admin".into()));
    let token = added["token"].as_str().expect("the token, shown once").to_owned();
    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT token_hash FROM operators").fetch_one(&board.app.admin).await.expect("hash");
    assert_eq!(stored, recete_platform::crypto::sha256(token.as_bytes()).to_vec(), "only its hash is kept");
    let session = board.sign_in(&token).await;

    let bad_role = recete(&["operators", "add", "--name", "bob", "--role", "root"]);
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("no role is named `root`"));
    let duplicate = recete(&["operators", "add", "--name", "ada", "--role", "operator"]);
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("an operator named `ada` exists already"));

    let listed = recete(&["operators", "list"]);
    let line: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("one JSON line");
    assert_eq!(
        (&line["name"], &line["role"], &line["disabled_at"]),
        (&"ada".into(), &"admin".into(), &serde_json::Value::Null)
    );
    assert!(!String::from_utf8_lossy(&listed.stdout).contains(&token), "the list never shows tokens");

    let disabled = recete(&["operators", "disable", "--name", "ada"]);
    assert!(disabled.status.success(), "the last admin may be disabled from the command line");
    assert_eq!(board.get(&session, "/ops/queues.json").await.status(), StatusCode::UNAUTHORIZED);
    let refused =
        board.client.post(board.url("/ops/sign-in")).form(&[("token", token.as_str())]).send().await.expect("sent");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let missing = recete(&["operators", "disable", "--name", "nobody"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no operator is named `nobody`"));
}

//! The merchants' web console over real HTTP on the API's own listener: signing in by one-time
//! link and by password, rate limits, sessions, CSRF and cross-site refusals, roles, tenant
//! isolation, the audit trail, `recete users`, the inbox, and the orders and customers pages.

mod access;
mod analytics;
mod browser;
mod cli;
mod customers;
mod imports;
mod inbox;
mod knowledge;
mod orders;
mod sessions;
mod settings;
mod users;

use std::time::Duration;

use recete_console::users::Role;
use recete_platform::db;
use recete_platform::ids::MerchantId;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

pub const PASSWORD: &str = "a long enough passphrase";

pub struct ConsoleApp {
    pub app: TestApp,
    /// Follows no redirect, so tests see each 303 and its cookie.
    pub client: reqwest::Client,
}

/// A browser-like session: the cookie and the CSRF token its pages carry.
#[derive(Clone, Debug)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

pub async fn spawn_console() -> ConsoleApp {
    wrap(spawn_app().await)
}

pub async fn spawn_console_with(customize: impl FnOnce(figment::Figment) -> figment::Figment) -> ConsoleApp {
    wrap(spawn_app_with(customize).await)
}

/// A console client for an app a test spawned its own way.
pub fn wrap(app: TestApp) -> ConsoleApp {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    ConsoleApp { app, client }
}

pub fn location(response: &reqwest::Response) -> String {
    response.headers().get(LOCATION).and_then(|v| v.to_str().ok()).expect("a Location header").to_owned()
}

pub fn set_cookie(response: &reqwest::Response) -> String {
    response.headers().get(SET_COOKIE).and_then(|v| v.to_str().ok()).expect("a Set-Cookie header").to_owned()
}

/// The value of the first `name="csrf" value="…"` on a page.
pub fn form_csrf(page: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = page.find(marker).expect("the page carries a CSRF field") + marker.len();
    page[start..].split('"').next().expect("closing quote").to_owned()
}

impl ConsoleApp {
    pub fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    /// Invites `email` to `merchant` as `cli` would; the one-time link's path.
    pub async fn invite(&self, merchant: MerchantId, email: &str, role: Role) -> String {
        let mut tx = db::tenant_tx(&self.app.pool, merchant).await.expect("tenant transaction");
        let invited =
            recete_console::accounts::invite(&mut tx, merchant, email, role, "cli", Duration::from_secs(3600))
                .await
                .expect("user invited");
        tx.commit().await.expect("committed");
        recete_console::sign_in_links::path(&invited.link_token)
    }

    /// Opens a one-time link and chooses `password`; the raw response.
    pub async fn redeem(&self, link_path: &str, password: &str, repeat: &str) -> reqwest::Response {
        self.client
            .post(self.url(link_path))
            .form(&[("password", password), ("repeat", repeat)])
            .send()
            .await
            .expect("sent")
    }

    /// A session from a response that signed in, with the CSRF token read off the account page.
    pub async fn session_from(&self, response: reqwest::Response) -> Session {
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "signing in redirects");
        let cookie = set_cookie(&response).split(';').next().expect("name=value").to_owned();
        let page = self.get_html(&Session { cookie: cookie.clone(), csrf: String::new() }, "/console/account").await;
        Session { csrf: form_csrf(&page), cookie }
    }

    /// A new user of `merchant` with `role`, signed in through their link.
    pub async fn user(&self, merchant: MerchantId, email: &str, role: Role) -> Session {
        let link = self.invite(merchant, email, role).await;
        let response = self.redeem(&link, PASSWORD, PASSWORD).await;
        self.session_from(response).await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/console/sign-in"))
            .form(&[("email", email), ("password", password), ("next", "/console")])
            .send()
            .await
            .expect("sent")
    }

    pub async fn get(&self, session: &Session, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).header(COOKIE, &session.cookie).send().await.expect("sent")
    }

    pub async fn get_html(&self, session: &Session, path: &str) -> String {
        let response = self.get(session, path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.expect("page text")
    }

    /// POSTs a form with the session's CSRF token.
    pub async fn post(&self, session: &Session, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = vec![("csrf", session.csrf.as_str())];
        form.extend_from_slice(fields);
        self.client.post(self.url(path)).header(COOKIE, &session.cookie).form(&form).send().await.expect("sent")
    }

    /// Whether a session still opens a page (rather than being sent to sign in).
    pub async fn is_signed_in(&self, session: &Session) -> bool {
        let response = self.get(session, "/console/account").await;
        match response.status() {
            StatusCode::OK => true,
            StatusCode::SEE_OTHER => {
                assert!(location(&response).starts_with("/console/sign-in"), "sent to sign in");
                false
            }
            other => panic!("unexpected status {other}"),
        }
    }

    /// `audit_log` rows with this action, as (actor, merchant_id).
    pub async fn audited(&self, action: &str) -> Vec<(String, Option<uuid::Uuid>)> {
        sqlx::query_as("SELECT actor, merchant_id FROM audit_log WHERE action = $1 ORDER BY id")
            .bind(action)
            .fetch_all(&self.app.admin)
            .await
            .expect("audit rows")
    }

    pub async fn user_id(&self, email: &str) -> uuid::Uuid {
        sqlx::query_scalar("SELECT id FROM merchant_users WHERE email = $1")
            .bind(email)
            .fetch_one(&self.app.admin)
            .await
            .expect("user row")
    }

    pub async fn role_of(&self, email: &str) -> String {
        sqlx::query_scalar("SELECT role FROM merchant_users WHERE email = $1")
            .bind(email)
            .fetch_one(&self.app.admin)
            .await
            .expect("user row")
    }
}

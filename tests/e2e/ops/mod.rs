//! The queue board over real HTTP: sign-in and sessions, roles, CSRF, the queue list with
//! pausing, job search, detail and actions, bulk actions, and a real browser clicking through.

mod access;
mod browser;
mod bulk;
mod jobs;
mod process;
mod queues;
mod redaction;

use recete_ops::Board;
use recete_ops::operators::{self, Role};
use recete_platform::db;
use recete_platform::ids::MerchantId;
use recete_shared::integrations::IntegrationKind;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

/// A test app with the board served on a port of its own.
pub struct BoardApp {
    pub app: TestApp,
    pub address: String,
    /// Follows no redirect, so tests see each 303 and its cookie.
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    server: JoinHandle<anyhow::Result<()>>,
}

pub async fn spawn_board() -> BoardApp {
    let app = spawn_app().await;
    start_board(app).await
}

pub async fn start_board(app: TestApp) -> BoardApp {
    let pool = db::connect_lazy(&app.settings.database).expect("pool");
    let board = Board::build(&app.settings, "127.0.0.1:0".parse().expect("address"), pool, app.keyring.clone())
        .await
        .expect("the board binds a free port");
    let address = format!("http://127.0.0.1:{}", board.port());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(board.run_until_stopped(shutdown.clone()));
    BoardApp { app, address, client: no_redirects(), shutdown, server }
}

pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("client")
}

impl Drop for BoardApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.server.abort();
    }
}

/// A browser-like session: the cookie and the CSRF token its pages carry.
#[derive(Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

impl BoardApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Adds an operator and returns their token.
    pub async fn operator(&self, name: &str, role: Role) -> String {
        operators::add(&self.app.pool, name, role, "cli").await.expect("operator added").token
    }

    /// Signs in through the form and reads the CSRF token off the queue list.
    pub async fn sign_in(&self, token: &str) -> Session {
        let response = self
            .client
            .post(self.url("/ops/sign-in"))
            .form(&[("token", token), ("next", "/ops")])
            .send()
            .await
            .expect("sign-in sent");
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-in redirects");
        let set_cookie = response.headers().get(SET_COOKIE).and_then(|v| v.to_str().ok()).expect("a session cookie");
        let cookie = set_cookie.split(';').next().expect("name=value").to_owned();
        let page = self.get_html(&Session { cookie: cookie.clone(), csrf: String::new() }, "/ops").await;
        Session { csrf: meta_csrf(&page), cookie }
    }

    pub async fn get(&self, session: &Session, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).header(COOKIE, &session.cookie).send().await.expect("request sent")
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
        self.client.post(self.url(path)).header(COOKIE, &session.cookie).form(&form).send().await.expect("request sent")
    }

    /// `count` dead order events of one merchant (real sealed payloads with a name and phone).
    pub async fn dead_jobs(&self, count: usize) -> (MerchantId, Vec<Uuid>) {
        let (merchant, integration) = self.app.merchant_with(IntegrationKind::Generic).await;
        recete_testkit::orders::store_new_orders(
            &self.app.pool,
            self.app.keyring.clone(),
            merchant,
            integration.integration_id,
            count,
        )
        .await
        .expect("events stored");
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE external_events SET state = 'dead', attempts = 3, last_error = 'the store timed out'
             WHERE merchant_id = $1 RETURNING id",
        )
        .bind(merchant)
        .fetch_all(&self.app.admin)
        .await
        .expect("jobs dead-lettered");
        (merchant, ids)
    }

    pub async fn job_state(&self, id: Uuid) -> String {
        sqlx::query_scalar("SELECT state FROM external_events WHERE id = $1")
            .bind(id)
            .fetch_one(&self.app.admin)
            .await
            .expect("job row")
    }

    /// `audit_log` rows with this action, as (actor, subject_id).
    pub async fn audited(&self, action: &str) -> Vec<(String, Option<String>)> {
        sqlx::query_as("SELECT actor, subject_id FROM audit_log WHERE action = $1 ORDER BY id")
            .bind(action)
            .fetch_all(&self.app.admin)
            .await
            .expect("audit rows")
    }
}

pub fn location(response: &reqwest::Response) -> String {
    response.headers().get(LOCATION).and_then(|v| v.to_str().ok()).expect("a Location header").to_owned()
}

/// The value of `<meta name="csrf-token" content="…">`.
pub fn meta_csrf(page: &str) -> String {
    let start = page.find(r#"name="csrf-token" content=""#).expect("the page carries a CSRF token")
        + r#"name="csrf-token" content=""#.len();
    page[start..].split('"').next().expect("closing quote").to_owned()
}

/// A session for a new operator with `role`.
pub async fn signed_in(board: &BoardApp, name: &str, role: Role) -> Session {
    let token = board.operator(name, role).await;
    board.sign_in(&token).await
}

//! Local servers standing in for merchants' shops, and the settings tests scrape with.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use recete_scrape::ScrapeSettings;
use tokio::net::TcpListener;

pub const USER_AGENT: &str = "ReceteBot/0.1 (+https://recete.dev/bot)";

/// Production defaults, except that loopback is reachable when `allow_loopback` says so.
pub fn settings(allow_loopback: bool) -> ScrapeSettings {
    ScrapeSettings {
        connect_timeout_ms: 2_000,
        request_timeout_ms: 10_000,
        max_bytes: 5 * 1024 * 1024,
        max_redirects: 5,
        user_agent: USER_AGENT.to_owned(),
        allow_loopback,
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub user_agent: Option<String>,
    pub at: Instant,
}

pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().expect("request log is not poisoned").clone()
    }

    pub fn requests_to(&self, path: &str) -> usize {
        self.requests().iter().filter(|seen| seen.path == path).count()
    }
}

/// Serves `router` on an ephemeral port and records every request its routes receive.
pub async fn serve(router: Router) -> TestServer {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let router = router.layer(middleware::from_fn(move |request: Request, next: Next| {
        let log = Arc::clone(&log);
        async move {
            let user_agent =
                request.headers().get("user-agent").and_then(|value| value.to_str().ok()).map(str::to_owned);
            let entry = Seen { path: request.uri().path().to_owned(), user_agent, at: Instant::now() };
            log.lock().expect("request log is not poisoned").push(entry);
            next.run(request).await
        }
    }));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("an ephemeral port is free");
    let address = listener.local_addr().expect("a bound listener has an address");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("test server keeps serving") });
    TestServer { base: format!("http://{address}"), seen }
}

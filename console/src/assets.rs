//! The console's stylesheet, icon and small scripts of its own, compiled into the binary: nothing comes from elsewhere,
//! and no build step (no Node) makes them.

use axum::http::header;
use axum::response::IntoResponse;

const CSS: &str = include_str!("assets/console.css");
const ICON: &str = include_str!("assets/favicon.svg");
/// The inbox's live updates: a script of our own, so the CSP's `script-src 'self'` holds.
const INBOX_JS: &str = include_str!("assets/inbox.js");
/// Copy buttons beside webhook URLs and secrets; without it the values stay selectable text.
const COPY_SCRIPT: &str = include_str!("assets/copy.js");
/// The imports page's upload progress (drag and drop, bytes sent, rows read).
const IMPORTS_JS: &str = include_str!("assets/imports.js");
/// A product page refreshes itself while its page is being read.
const KNOWLEDGE_JS: &str = include_str!("assets/knowledge.js");

pub async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=300")], CSS)
}

pub async fn icon() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "max-age=86400")], ICON)
}

pub async fn inbox_js() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "max-age=300")], INBOX_JS)
}

pub async fn copy_script() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "max-age=300")], COPY_SCRIPT)
}

pub async fn imports_js() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "max-age=300")], IMPORTS_JS)
}

pub async fn knowledge_js() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "max-age=300")], KNOWLEDGE_JS)
}

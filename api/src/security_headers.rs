//! Security headers on every response of the API listener.
//!
//! - `X-Content-Type-Options: nosniff` and `X-Frame-Options: DENY` everywhere: no response is
//!   meant to be guessed at by a browser or framed by another site.
//! - `Content-Security-Policy`: the HTML reference at `/docs` may load only its own scripts,
//!   styles and images (all served from here); every other response may load nothing at all.
//! - `Cache-Control: no-store` on every request that presented credentials (and everything under
//!   `/api/`), so a merchant's data never sits in a shared or browser cache.
//! - `Strict-Transport-Security` when `app.public_url` is https: browsers then refuse to reach
//!   the API over plain HTTP.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The policy for the HTML reference: its own files, and the inline styles Swagger UI sets.
const HTML_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                           img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                           form-action 'self'; frame-ancestors 'none'";
/// The policy for everything else (JSON, CSV, text): nothing to load, never framed.
const DATA_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";
/// Two years, with subdomains, as HSTS preload lists expect.
const HSTS: &str = "max-age=63072000; includeSubDomains";

/// Whether the deployment is reached over https; part of the middleware's state.
#[derive(Debug, Clone, Copy)]
pub struct SecurityHeaders {
    pub https: bool,
}

impl SecurityHeaders {
    pub fn for_public_url(public_url: &str) -> Self {
        Self { https: public_url.trim().to_ascii_lowercase().starts_with("https://") }
    }
}

fn presents_credentials(headers: &HeaderMap) -> bool {
    headers.contains_key(header::AUTHORIZATION) || headers.contains_key("x-api-key")
}

pub async fn add(State(policy): State<SecurityHeaders>, request: Request, next: Next) -> Response {
    let authenticated = presents_credentials(request.headers()) || request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"));
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if is_html { HTML_POLICY } else { DATA_POLICY }),
    );
    if authenticated {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if policy.https {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_read_from_the_public_url() {
        assert!(SecurityHeaders::for_public_url("https://api.example.com").https);
        assert!(SecurityHeaders::for_public_url(" HTTPS://api.example.com").https);
        assert!(!SecurityHeaders::for_public_url("http://127.0.0.1:8080").https);
    }
}

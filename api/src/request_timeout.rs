//! The time a request may take: `api.request_timeout_ms` for everything but CSV uploads, which
//! get `imports.upload_timeout_secs` because 50 MB from a slow line takes minutes.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

#[derive(Clone, Copy)]
pub struct RequestTimeouts {
    pub default: Duration,
    pub upload: Duration,
}

impl RequestTimeouts {
    /// `None` for the event stream, which stays open as long as its client reads it.
    fn for_request(&self, request: &Request) -> Option<Duration> {
        let path = request.uri().path();
        if request.method() == Method::GET && path == crate::merchant::event_stream::PATH {
            return None;
        }
        let is_upload = request.method() == Method::POST
            && matches!(path.strip_prefix("/api/imports/"), Some("orders" | "products"));
        Some(if is_upload { self.upload } else { self.default })
    }
}

/// Answers 503 with `Retry-After` when the handler has not finished in time; the handler's
/// transaction is dropped and rolls back, so nothing is half-written.
pub async fn limit(State(timeouts): State<RequestTimeouts>, request: Request, next: Next) -> Response {
    let Some(allowed) = timeouts.for_request(&request) else {
        return next.run(request).await;
    };
    match tokio::time::timeout(allowed, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout_ms = allowed.as_millis() as u64, "request timed out");
            ApiError::unavailable(format!("the request took longer than {} ms; retry later", allowed.as_millis()))
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, path: &str) -> Request {
        Request::builder().method(method).uri(path).body(axum::body::Body::empty()).expect("request")
    }

    #[test]
    fn only_uploads_get_the_long_timeout() {
        let timeouts = RequestTimeouts { default: Duration::from_secs(10), upload: Duration::from_secs(600) };
        assert_eq!(timeouts.for_request(&request(Method::POST, "/api/imports/orders")), Some(timeouts.upload));
        assert_eq!(
            timeouts.for_request(&request(Method::POST, "/api/imports/products?plan_followups=true")),
            Some(timeouts.upload)
        );
        assert_eq!(timeouts.for_request(&request(Method::GET, "/api/imports/orders")), Some(timeouts.default));
        assert_eq!(timeouts.for_request(&request(Method::POST, "/api/products")), Some(timeouts.default));
        assert_eq!(timeouts.for_request(&request(Method::POST, "/api/imports/other")), Some(timeouts.default));
        assert_eq!(timeouts.for_request(&request(Method::GET, "/api/events/stream")), None);
    }
}

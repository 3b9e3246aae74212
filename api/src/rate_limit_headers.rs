//! The headers that tell a client where it stands against a rate limit (`RateLimit-Policy` and
//! `RateLimit`, draft-ietf-httpapi-ratelimit-headers) and the words of a refusal: what the
//! limiter in [`crate::rate_limit`] and the 429 problem in [`crate::error`] both write.

use axum::http::{HeaderMap, HeaderValue};
use recete_platform::rate_limit::LimitStatus;

pub const RATELIMIT: &str = "ratelimit";
pub const RATELIMIT_POLICY: &str = "ratelimit-policy";

/// `RateLimit-Policy: "ip";q=100;w=60` and `RateLimit: "ip";r=42;t=1`: the quota, what is left
/// of it now, and the seconds until one more request is earned (on a refusal, the same as
/// `Retry-After`).
pub fn insert_headers(headers: &mut HeaderMap, status: &LimitStatus) {
    let name = status.kind.as_str();
    let policy = format!("\"{name}\";q={};w={}", status.quota.quantity, status.quota.window.as_secs());
    let current = format!("\"{name}\";r={};t={}", status.available, status.wait_secs());
    for (header, value) in [(RATELIMIT_POLICY, policy), (RATELIMIT, current)] {
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(header, value);
        }
    }
}

/// The problem detail of a 429: which quota, how large, and when to retry.
pub fn refusal_detail(status: &LimitStatus) -> String {
    format!(
        "rate limit `{}` exceeded: at most {} requests per {} seconds per {}; retry in {} seconds",
        status.kind.as_str(),
        status.quota.quantity,
        status.quota.window.as_secs(),
        status.kind.counted_per(),
        status.wait_secs()
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use recete_platform::rate_limit::{LimitKind, Quota};

    use super::*;

    #[test]
    fn headers_follow_the_structured_field_syntax() {
        let status = LimitStatus {
            kind: LimitKind::Ip,
            quota: Quota { quantity: 100, window: Duration::from_secs(60) },
            refused: true,
            available: 0,
            wait: Duration::from_millis(11_200),
        };
        let mut headers = HeaderMap::new();
        insert_headers(&mut headers, &status);
        assert_eq!(headers[RATELIMIT_POLICY], "\"ip\";q=100;w=60");
        assert_eq!(headers[RATELIMIT], "\"ip\";r=0;t=12");
        let detail = refusal_detail(&status);
        assert!(detail.contains("`ip`") && detail.contains("100 requests per 60 seconds"), "{detail}");
        assert!(detail.ends_with("retry in 12 seconds"), "{detail}");
    }
}

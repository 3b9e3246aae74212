//! Rate limits at the HTTP edge: which quotas a request draws from, and the headers that tell the
//! client where it stands (`RateLimit-Policy` and `RateLimit`, draft-ietf-httpapi-ratelimit-headers).
//!
//! [`enforce`] wraps every route and charges, before the handler or any extractor runs:
//! - the sender's own quota for webhook deliveries: the integration named in a commerce webhook's
//!   path, or the business phone number of a WhatsApp notification (stores and Meta send from
//!   shared addresses, so an address says nothing about who is sending);
//! - the client address for everything else, so a flood of bad API keys is refused before any
//!   key is looked up;
//! - nothing for `/healthz`, `/livez`, `/readyz` and `/metrics`: a probe or a scraper refused by
//!   a limiter would take a healthy replica out of service.
//!
//! The `Merchant` extractor charges the API key and its merchant through [`charge_api_key`] once
//! the key is known. Every response carries the headers of the limit closest to refusing.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use recete_shared::events::whatsapp;
use recete_shared::ids::{ApiKeyId, IntegrationId, MerchantId};
use recete_shared::rate_limit::{self, Limit, LimitStatus, RateLimiter};

use crate::body::RawBody;
use crate::error::ApiError;
use crate::state::AppState;

pub const RATELIMIT: &str = "ratelimit";
pub const RATELIMIT_POLICY: &str = "ratelimit-policy";

/// Meta's phone number ids are numeric; anything else is left to the handler to refuse, so a
/// forged body cannot make keys of arbitrary names.
const MAX_PHONE_NUMBER_ID_LEN: usize = 32;

/// The statuses of every quota charged for one request, so the response can carry the tightest.
#[derive(Clone, Default)]
struct Charged(Arc<Mutex<Vec<LimitStatus>>>);

impl Charged {
    fn record(&self, statuses: &[LimitStatus]) {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).extend_from_slice(statuses);
    }

    fn tightest(&self) -> Option<LimitStatus> {
        rate_limit::tightest(self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).iter())
    }
}

/// Which quota a request draws from before its handler runs.
enum Subject {
    Unlimited,
    ClientAddress,
    Integration(IntegrationId),
    WhatsAppNotification,
}

fn subject(method: &Method, path: &str) -> Subject {
    match path {
        "/healthz" | "/livez" | "/readyz" | "/metrics" => return Subject::Unlimited,
        // Meta's verification handshake comes once per subscription and is where a verify token
        // could be guessed, so it is counted by address like the merchant API.
        "/webhooks/whatsapp" if method == Method::POST => return Subject::WhatsAppNotification,
        _ => {}
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["webhooks", "commerce", _platform, raw_id] => match raw_id.parse() {
            Ok(integration) => Subject::Integration(integration),
            // The handler answers 404 without a database lookup.
            Err(_) => Subject::Unlimited,
        },
        _ => Subject::ClientAddress,
    }
}

/// The middleware: charges the quota the request draws from before it is handled, and puts the
/// `RateLimit` headers on whatever the handler answers.
pub async fn enforce(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limiter = state.rate_limiter.clone();
    if !limiter.is_enabled() {
        return next.run(request).await;
    }
    let (mut request, limits) = match limits_of(&state, &limiter, request).await {
        Ok(found) => found,
        Err(error) => return error.into_response(),
    };
    let charged = Charged::default();
    request.extensions_mut().insert(charged.clone());
    if let Some(verdict) = limiter.check(&limits).await {
        if let Some(refusal) = verdict.refusal() {
            return ApiError::TooManyRequests(refusal).into_response();
        }
        charged.record(verdict.statuses());
    }
    let mut response = next.run(request).await;
    if !response.headers().contains_key(RATELIMIT)
        && let Some(tightest) = charged.tightest()
    {
        insert_headers(response.headers_mut(), &tightest);
    }
    response
}

/// The limits `request` draws from before its handler runs; a WhatsApp notification's body is
/// read (within the body limit) to find its phone number, and handed on untouched.
async fn limits_of(
    state: &AppState,
    limiter: &RateLimiter,
    request: Request,
) -> Result<(Request, Vec<Limit>), ApiError> {
    match subject(request.method(), request.uri().path()) {
        Subject::Unlimited => Ok((request, Vec::new())),
        Subject::Integration(integration) => Ok((request, vec![limiter.integration_limit(integration)])),
        Subject::ClientAddress => {
            let limits = client_address(&request, limiter).map(|ip| limiter.client_ip_limit(ip)).into_iter().collect();
            Ok((request, limits))
        }
        Subject::WhatsAppNotification => {
            let (parts, body) = request.into_parts();
            let mut probe = Request::new(body);
            *probe.headers_mut() = parts.headers.clone();
            let RawBody(bytes) = RawBody::from_request(probe, state).await?;
            let limits = whatsapp::phone_number_ids(&bytes)
                .ok()
                .and_then(|ids| ids.into_iter().next())
                .filter(|id| is_phone_number_id(id))
                .map(|id| limiter.whatsapp_number_limit(&id))
                .into_iter()
                .collect();
            Ok((Request::from_parts(parts, Body::from(bytes)), limits))
        }
    }
}

fn is_phone_number_id(candidate: &str) -> bool {
    !candidate.is_empty() && candidate.len() <= MAX_PHONE_NUMBER_ID_LEN && candidate.bytes().all(|b| b.is_ascii_digit())
}

/// The client's address, from the socket (and `X-Forwarded-For` when the socket is a trusted
/// proxy). A router served without connection info (as in some tests) has none.
fn client_address(request: &Request, limiter: &RateLimiter) -> Option<std::net::IpAddr> {
    let ConnectInfo(peer) = request.extensions().get::<ConnectInfo<SocketAddr>>()?;
    let forwarded = request.headers().get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok());
    Some(rate_limit::client_ip(peer.ip(), forwarded, limiter.trusted_proxies()))
}

/// Charges an authenticated request to its API key and merchant, both at once; called by the
/// `Merchant` extractor.
pub async fn charge_api_key(
    parts: &Parts,
    limiter: &RateLimiter,
    merchant: MerchantId,
    api_key: ApiKeyId,
) -> Result<(), ApiError> {
    let Some(verdict) = limiter.check(&limiter.api_key_limits(merchant, api_key)).await else {
        return Ok(());
    };
    if let Some(refusal) = verdict.refusal() {
        return Err(ApiError::TooManyRequests(refusal));
    }
    if let Some(charged) = parts.extensions.get::<Charged>() {
        charged.record(verdict.statuses());
    }
    Ok(())
}

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

    use recete_shared::rate_limit::{LimitKind, Quota};

    use super::*;

    #[test]
    fn requests_are_sorted_to_the_quota_they_draw_from() {
        let integration = "01a207ed-8965-7693-8efc-a111fff1b398";
        assert!(matches!(
            subject(&Method::POST, &format!("/webhooks/commerce/shopify/{integration}")),
            Subject::Integration(id) if id.to_string() == integration
        ));
        assert!(matches!(subject(&Method::POST, "/webhooks/commerce/shopify/not-an-id"), Subject::Unlimited));
        assert!(matches!(subject(&Method::POST, "/webhooks/whatsapp"), Subject::WhatsAppNotification));
        assert!(matches!(subject(&Method::GET, "/webhooks/whatsapp"), Subject::ClientAddress));
        assert!(matches!(subject(&Method::GET, "/api/conversations"), Subject::ClientAddress));
        assert!(matches!(subject(&Method::GET, "/openapi.json"), Subject::ClientAddress));
        assert!(matches!(subject(&Method::GET, "/no/such/route"), Subject::ClientAddress));
        for path in ["/healthz", "/livez", "/readyz", "/metrics"] {
            assert!(matches!(subject(&Method::GET, path), Subject::Unlimited), "{path}");
        }
    }

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

    #[test]
    fn only_numeric_phone_number_ids_name_a_quota() {
        assert!(is_phone_number_id("106540352242922"));
        assert!(!is_phone_number_id(""));
        assert!(!is_phone_number_id("12a"));
        assert!(!is_phone_number_id(&"1".repeat(33)));
    }
}

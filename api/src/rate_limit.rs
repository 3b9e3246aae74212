//! Rate limits at the HTTP edge: which quotas a request draws from, and the headers that tell the
//! client where it stands (`RateLimit-Policy` and `RateLimit`, draft-ietf-httpapi-ratelimit-headers).
//!
//! [`enforce`] wraps every route. Before the handler or any extractor runs, it charges:
//! - the client address for the merchant API and everything else that is not a webhook, so a
//!   flood of bad API keys is refused before any key is looked up;
//! - nothing for `/healthz`, `/livez`, `/readyz` and `/metrics`: a probe or a scraper refused by
//!   a limiter would take a healthy replica out of service.
//!
//! Webhook deliveries are counted by who sent them, which is known only once the signature
//! verifies: the handler charges the sender's own quota (the integration named in a commerce
//! webhook's path, or the business phone number of a WhatsApp notification) through
//! [`charge_sender`], after verifying and before storing. Stores and Meta send from shared
//! addresses, so an address says nothing about who is sending; and a forged delivery must not
//! spend a real sender's quota. What the address does say is who keeps failing to sign: a
//! delivery answered 401 is charged to its address's `webhook_auth_failures` quota, and an
//! address past that quota is refused before its deliveries are read ([`RateLimiter::peek`]).
//!
//! The `Merchant` extractor charges the API key and its merchant through [`charge_api_key`] once
//! the key is known. Every response carries the headers of the limit closest to refusing.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use recete_platform::ids::{ApiKeyId, MerchantId};
use recete_platform::rate_limit::{self, Limit, LimitStatus, RateLimiter};

use crate::error::ApiError;
pub use crate::rate_limit_headers::{RATELIMIT, RATELIMIT_POLICY, insert_headers};
use crate::state::AppState;

/// Meta's phone number ids are numeric; only such ids name a quota, so no body can make keys of
/// arbitrary names.
const MAX_PHONE_NUMBER_ID_LEN: usize = 32;

/// The statuses of every quota charged for one request, so the response can carry the tightest.
/// Every request carries one, limits on or off.
#[derive(Clone, Default)]
pub struct Charged(Arc<Mutex<Vec<LimitStatus>>>);

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
    /// A webhook delivery: its sender is charged by the handler once the signature verifies.
    Webhook,
}

fn subject(method: &Method, path: &str) -> Subject {
    match path {
        "/healthz" | "/livez" | "/readyz" | "/metrics" => return Subject::Unlimited,
        // Meta's verification handshake comes once per subscription and is where a verify token
        // could be guessed, so it is counted by address like the merchant API.
        "/webhooks/whatsapp" if method == Method::POST => return Subject::Webhook,
        _ => {}
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["webhooks", "commerce", _platform, _raw_id] => Subject::Webhook,
        _ => Subject::ClientAddress,
    }
}

/// The middleware: charges the quota the request draws from before it is handled, and puts the
/// `RateLimit` headers on whatever the handler answers.
pub async fn enforce(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let charged = Charged::default();
    request.extensions_mut().insert(charged.clone());
    let limiter = state.rate_limiter.clone();
    if !limiter.is_enabled() {
        return next.run(request).await;
    }
    let limits = match subject(request.method(), request.uri().path()) {
        Subject::Unlimited => Vec::new(),
        Subject::ClientAddress => {
            client_address(&request, &limiter).map(|ip| limiter.client_ip_limit(ip)).into_iter().collect()
        }
        Subject::Webhook => return webhook(&limiter, request, next, charged).await,
    };
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

/// A webhook delivery: refused at once when its address is past its failures quota; otherwise
/// handled (the handler charges the verified sender), and charged to the address's failures
/// quota when it is answered 401.
async fn webhook(limiter: &RateLimiter, request: Request, next: Next, charged: Charged) -> Response {
    let failures = client_address(&request, limiter).map(|ip| limiter.webhook_auth_failures_limit(ip));
    if let Some(failures) = &failures
        && let Some(verdict) = limiter.peek(std::slice::from_ref(failures)).await
        && let Some(refusal) = verdict.refusal()
    {
        return ApiError::TooManyRequests(refusal).into_response();
    }
    let mut response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        // Every failure answers alike, whatever failed, with the failures quota's headers.
        if let Some(failures) = failures
            && let Some(verdict) = limiter.check(std::slice::from_ref(&failures)).await
            && let Some(status) = verdict.statuses().first()
        {
            insert_headers(response.headers_mut(), status);
        }
        return response;
    }
    if !response.headers().contains_key(RATELIMIT)
        && let Some(tightest) = charged.tightest()
    {
        insert_headers(response.headers_mut(), &tightest);
    }
    response
}

/// Charges a webhook's sender (its integration, or its business phone number) once its
/// signature has verified; a refusal is the 429 the sender gets.
pub async fn charge_sender(limiter: &RateLimiter, charged: &Charged, limit: Limit) -> Result<(), ApiError> {
    let Some(verdict) = limiter.check(std::slice::from_ref(&limit)).await else {
        return Ok(());
    };
    if let Some(refusal) = verdict.refusal() {
        return Err(ApiError::TooManyRequests(refusal));
    }
    charged.record(verdict.statuses());
    Ok(())
}

/// Whether a phone number id may name a quota: Meta's ids are digits.
pub fn is_phone_number_id(candidate: &str) -> bool {
    !candidate.is_empty() && candidate.len() <= MAX_PHONE_NUMBER_ID_LEN && candidate.bytes().all(|b| b.is_ascii_digit())
}

/// The client's address, from the socket (and `X-Forwarded-For` when the socket is a trusted
/// proxy). A router served without connection info (as in some tests) has none.
fn client_address(request: &Request, limiter: &RateLimiter) -> Option<std::net::IpAddr> {
    let ConnectInfo(peer) = request.extensions().get::<ConnectInfo<SocketAddr>>()?;
    let forwarded = request.headers().get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok());
    Some(recete_platform::client_ip::client_ip(peer.ip(), forwarded, limiter.trusted_proxies()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_sorted_to_the_quota_they_draw_from() {
        let integration = "01a207ed-8965-7693-8efc-a111fff1b398";
        assert!(matches!(
            subject(&Method::POST, &format!("/webhooks/commerce/shopify/{integration}")),
            Subject::Webhook
        ));
        assert!(matches!(subject(&Method::POST, "/webhooks/commerce/shopify/not-an-id"), Subject::Webhook));
        assert!(matches!(subject(&Method::POST, "/webhooks/whatsapp"), Subject::Webhook));
        assert!(matches!(subject(&Method::GET, "/webhooks/whatsapp"), Subject::ClientAddress));
        assert!(matches!(subject(&Method::GET, "/api/conversations"), Subject::ClientAddress));
        assert!(matches!(subject(&Method::GET, "/openapi.json"), Subject::ClientAddress));
        assert!(matches!(subject(&Method::GET, "/no/such/route"), Subject::ClientAddress));
        for path in ["/healthz", "/livez", "/readyz", "/metrics"] {
            assert!(matches!(subject(&Method::GET, path), Subject::Unlimited), "{path}");
        }
    }

    #[test]
    fn only_numeric_phone_number_ids_name_a_quota() {
        assert!(is_phone_number_id("106540352242922"));
        assert!(!is_phone_number_id(""));
        assert!(!is_phone_number_id("12a"));
        assert!(!is_phone_number_id(&"1".repeat(33)));
    }
}

//! Merchant API keys: `Authorization: Bearer <key>` or `X-Api-Key: <key>`.
//!
//! A key is checked for our shape and checksum first (no database round trip for garbage), then
//! found by its SHA-256, which is compared again in constant time. Revoked and expired keys are
//! refused; every refusal is a 401 problem that says what to send. A found key is then charged to
//! its own and its merchant's rate limits (429 when either is spent), and must hold the scope the
//! route needs ([`required_scope`]: 403 otherwise).

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::Method;
use axum::http::request::Parts;
use recete_platform::crypto::sha256;
use recete_platform::ids::{ApiKeyId, MerchantId};
use recete_platform::rate_limit::RateLimiter;
use recete_shared::api_keys::{self, Scope, ScopeSet};
use sqlx::PgPool;
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// The merchant a request acts for, proven by its API key.
#[derive(Debug, Clone, Copy)]
pub struct Merchant {
    pub merchant_id: MerchantId,
    pub api_key_id: ApiKeyId,
    /// What the key may do; the route's own scope is already checked.
    pub scopes: ScopeSet,
}

/// The scope a merchant route needs: credentials (API keys, and changes to integrations and
/// webhook endpoints, which create and rotate webhook secrets) need `admin`; other reads need `read`, other writes `write`.
pub fn required_scope(method: &Method, path: &str) -> Scope {
    let is_read = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
    let holds_credentials = under("/api/integrations") || under("/api/webhook-endpoints");
    if under("/api/api-keys") || (holds_credentials && !is_read) {
        Scope::Admin
    } else if is_read {
        Scope::Read
    } else {
        Scope::Write
    }
}

fn presented_key(parts: &Parts) -> Option<&str> {
    let bearer = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    bearer.or_else(|| parts.headers.get("x-api-key").and_then(|v| v.to_str().ok())).map(str::trim)
}

impl<S> FromRequestParts<S> for Merchant
where
    S: Send + Sync,
    PgPool: FromRef<S>,
    Arc<RateLimiter>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Authenticated (and charged) once per request, however many extractors ask.
        if let Some(merchant) = parts.extensions.get::<Self>() {
            return Ok(*merchant);
        }
        let Some(key) = presented_key(parts) else {
            return Err(ApiError::Unauthorized(
                "send the API key as `Authorization: Bearer <key>` or `X-Api-Key: <key>`".into(),
            ));
        };
        if !api_keys::is_well_formed(key) {
            return Err(ApiError::Unauthorized(
                "the API key is malformed (check for a truncated or mistyped key)".into(),
            ));
        }
        let hash = sha256(key.as_bytes());
        let pool = PgPool::from_ref(state);
        let found = api_keys::authenticate(&pool, &hash).await?;
        let Some(found) = found.filter(|found| bool::from(found.key_hash.as_slice().ct_eq(&hash[..]))) else {
            return Err(ApiError::Unauthorized("the API key is not valid, revoked or expired".into()));
        };
        let limiter = Arc::<RateLimiter>::from_ref(state);
        crate::rate_limit::charge_api_key(parts, &limiter, found.merchant_id, found.id).await?;
        let needed = required_scope(&parts.method, parts.uri.path());
        if !found.scopes.contains(needed) {
            let held: Vec<&str> = found.scopes.to_vec().into_iter().map(Scope::as_str).collect();
            return Err(ApiError::Forbidden(format!(
                "this API key lacks the `{}` scope this request needs (its scopes: {})",
                needed.as_str(),
                held.join(", ")
            )));
        }
        let merchant = Self { merchant_id: found.merchant_id, api_key_id: found.id, scopes: found.scopes };
        parts.extensions.insert(merchant);
        Ok(merchant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_need_read_write_or_admin() {
        let cases = [
            (Method::GET, "/api/orders", Scope::Read),
            (Method::GET, "/api/integrations", Scope::Read),
            (Method::POST, "/api/products", Scope::Write),
            (Method::PATCH, "/api/settings", Scope::Write),
            (Method::DELETE, "/api/products/1", Scope::Write),
            (Method::POST, "/api/imports/orders", Scope::Write),
            (Method::GET, "/api/api-keys", Scope::Admin),
            (Method::POST, "/api/api-keys", Scope::Admin),
            (Method::DELETE, "/api/api-keys/1", Scope::Admin),
            (Method::POST, "/api/integrations", Scope::Admin),
            (Method::POST, "/api/integrations/1/rotate-secret", Scope::Admin),
            (Method::POST, "/api/api-keysmith", Scope::Write),
            (Method::GET, "/api/conversations/1/messages", Scope::Read),
            (Method::POST, "/api/conversations/1/messages", Scope::Write),
            (Method::POST, "/api/conversations/1/take-over", Scope::Write),
            (Method::GET, "/api/webhook-endpoints", Scope::Read),
            (Method::POST, "/api/webhook-endpoints", Scope::Admin),
            (Method::POST, "/api/webhook-endpoints/1/deliveries/2/retry", Scope::Admin),
        ];
        for (method, path, scope) in cases {
            assert_eq!(required_scope(&method, path), scope, "{method} {path}");
        }
    }
}

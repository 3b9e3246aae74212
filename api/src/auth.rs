//! Merchant API keys: `Authorization: Bearer <key>` or `X-Api-Key: <key>`.
//!
//! A key is checked for our shape and checksum first (no database round trip for garbage), then
//! found by its SHA-256, which is compared again in constant time. Revoked and expired keys are
//! refused; every refusal is a 401 problem that says what to send. A found key is then charged to
//! its own and its merchant's rate limits (429 when either is spent).

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use recete_shared::api_keys;
use recete_shared::crypto::sha256;
use recete_shared::db;
use recete_shared::ids::{ApiKeyId, MerchantId};
use recete_shared::rate_limit::RateLimiter;
use sqlx::PgPool;
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// The merchant a request acts for, proven by its API key.
#[derive(Debug, Clone, Copy)]
pub struct Merchant {
    pub merchant_id: MerchantId,
    pub api_key_id: ApiKeyId,
}

impl Merchant {
    /// A transaction that sees and writes only this merchant's rows: how every merchant handler
    /// touches the database.
    pub async fn transaction(&self, pool: &PgPool) -> Result<db::Tx, ApiError> {
        db::tenant_tx(pool, self.merchant_id).await.map_err(ApiError::from_database)
    }
}

/// Commits a merchant handler's transaction; an unreachable database is a 503 like any other.
pub async fn commit(tx: db::Tx) -> Result<(), ApiError> {
    tx.commit().await.map_err(ApiError::from_database)
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
        // Finding the key is what tells whose it is, so no merchant scope exists yet.
        let mut tx = db::system_tx(&pool).await.map_err(ApiError::from_database)?;
        let found: Option<(ApiKeyId, MerchantId, Vec<u8>)> = sqlx::query_as(
            "UPDATE api_keys SET last_used_at = now()
             WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
             RETURNING id, merchant_id, key_hash",
        )
        .bind(&hash[..])
        .fetch_optional(&mut *tx)
        .await
        .map_err(ApiError::from_database)?;
        tx.commit().await.map_err(ApiError::from_database)?;
        match found {
            Some((api_key_id, merchant_id, stored)) if bool::from(stored.as_slice().ct_eq(&hash[..])) => {
                let limiter = Arc::<RateLimiter>::from_ref(state);
                crate::rate_limit::charge_api_key(parts, &limiter, merchant_id, api_key_id).await?;
                Ok(Self { merchant_id, api_key_id })
            }
            _ => Err(ApiError::Unauthorized("the API key is not valid, revoked or expired".into())),
        }
    }
}

//! The merchant's row-level-security transaction as an extractor: a handler takes a
//! [`TenantTx`], opens it with [`TenantTx::begin`], and [`commit_on_success`] commits it once the
//! handler has answered with success. An error answer (or a dropped request) rolls it back, so no
//! handler commits by hand and none can forget to.
//!
//! The transaction opens at `begin`, not in the extractor: a handler checks its parameters and
//! reads its body first, so a bad parameter or a slow upload never holds a database connection.

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{FromRef, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use recete_platform::db::{self, Tx};
use recete_platform::ids::MerchantId;
use recete_platform::rate_limit::RateLimiter;
use sqlx::PgPool;

use crate::auth::Merchant;
use crate::error::ApiError;

/// Where a handler's transaction waits, once the handler is done with it, for the answer.
#[derive(Clone, Default)]
struct Pending(Arc<Mutex<Option<Tx>>>);

impl Pending {
    fn put(&self, tx: Tx) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(tx);
    }

    fn take(&self) -> Option<Tx> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// The transaction of the request's merchant (see the module docs): it sees and writes only that
/// merchant's rows.
pub struct TenantTx {
    pool: PgPool,
    merchant_id: MerchantId,
    tx: Option<Tx>,
    pending: Pending,
}

impl TenantTx {
    /// The transaction, opened at the first call.
    pub async fn begin(&mut self) -> Result<&mut Tx, ApiError> {
        let tx = match self.tx.take() {
            Some(tx) => tx,
            None => db::tenant_tx(&self.pool, self.merchant_id).await?,
        };
        Ok(self.tx.insert(tx))
    }

    /// Commits now, for a handler that must act once the change is visible to others (such as
    /// dropping a cached copy of what it changed); the answer then commits nothing.
    pub async fn commit(mut self) -> Result<(), ApiError> {
        if let Some(tx) = self.tx.take() {
            tx.commit().await?;
        }
        Ok(())
    }
}

impl Drop for TenantTx {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            self.pending.put(tx);
        }
    }
}

impl<S> FromRequestParts<S> for TenantTx
where
    S: Send + Sync,
    PgPool: FromRef<S>,
    Arc<RateLimiter>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Some(pending) = parts.extensions.get::<Pending>().cloned() else {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "a handler takes a TenantTx on a route without the commit_on_success layer"
            )));
        };
        let merchant = Merchant::from_request_parts(parts, state).await?;
        Ok(Self { pool: PgPool::from_ref(state), merchant_id: merchant.merchant_id, tx: None, pending })
    }
}

/// The layer of every merchant route: commits the handler's transaction when the answer is not
/// an error, and rolls it back otherwise. A commit that fails is the answer instead (503 when the
/// database is unreachable).
pub async fn commit_on_success(mut request: Request, next: Next) -> Response {
    let pending = Pending::default();
    request.extensions_mut().insert(pending.clone());
    let response = next.run(request).await;
    let Some(tx) = pending.take() else {
        return response;
    };
    if response.status().is_client_error() || response.status().is_server_error() {
        return response;
    }
    match tx.commit().await {
        Ok(()) => response,
        Err(error) => ApiError::from(error).into_response(),
    }
}

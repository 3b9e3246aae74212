//! `api.metrics_token`, kept apart from the health routes that check it so the application state
//! can hold it without depending on them.

use std::sync::Arc;

use axum::http::{HeaderMap, header};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// `api.metrics_token`: what opens `/metrics` and the detailed `/readyz` on the public listener.
#[derive(Clone, Default)]
pub struct MetricsToken(Option<Arc<SecretString>>);

impl MetricsToken {
    /// An empty token means none: nothing is opened publicly.
    pub fn new(token: &SecretString) -> Self {
        let set = !token.expose_secret().trim().is_empty();
        Self(set.then(|| Arc::new(token.clone())))
    }

    pub(crate) fn is_set(&self) -> bool {
        self.0.is_some()
    }

    /// Whether the request carries the token (compared in constant time).
    pub(crate) fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.0 else {
            return false;
        };
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .unwrap_or_default();
        bool::from(presented.as_bytes().ct_eq(token.expose_secret().as_bytes()))
    }
}

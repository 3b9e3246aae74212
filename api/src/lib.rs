//! The Recete HTTP API: webhook ingestion, health and metrics.
//!
//! HTTP only: routes, extractors, signatures, errors. What a webhook means is decided in
//! `recete_shared::events`; what happens next is the workers' business.
//!
//! # Layout
//! - [`startup`]: [`Application`], which binds, serves and shuts down.
//! - [`webhooks`]: one module per sender, plus the signature header parsers.
//! - [`merchant`]: the merchant API, authenticated by [`auth`], documented by [`openapi`]
//!   (`/openapi.json`, `/docs`); each handler's database work is one [`tenant_tx`] transaction,
//!   committed when it answers with success.
//! - [`health`]: `/healthz`, `/livez`, `/readyz`, `/metrics`.
//! - [`demo_pages`]: the demo store's product pages (`/demo/products/...`), development only.
//! - [`error`]: the problem-details error type.
//! - [`body`], [`request_id`], [`http_metrics`]: extractors and middleware.
//! - [`rate_limit`]: quotas per client address, API key, merchant and webhook sender;
//!   [`rate_limit_headers`]: the headers and words that tell a client where it stands.
//! - [`security_headers`]: `nosniff`, `no-store`, HSTS and content security policies.
#![forbid(unsafe_code)]

pub mod auth;
pub mod body;
pub mod demo_pages;
pub mod error;
pub mod extract;
pub mod health;
pub mod http_metrics;
pub mod merchant;
pub mod metrics_token;
pub mod openapi;
pub mod rate_limit;
pub mod rate_limit_headers;
pub mod request_id;
pub mod request_timeout;
pub mod security_headers;
pub mod startup;
pub mod state;
pub mod tenant_tx;
pub mod webhooks;

pub use startup::{Application, Dependencies};

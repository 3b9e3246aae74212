//! The platform every Recete crate stands on, and nothing of the domain: how the one
//! configuration file loads, the database pool and the transactions row-level security relies
//! on, the crypto keyring, typed identifiers, the Redis connection, request quotas, readiness
//! checks and telemetry.
//!
//! # Layout
//! - [`config`]: layered, validated settings (`config/default.toml`, then `RECETE__…` variables).
//! - [`crypto`]: AES-256-GCM sealing of personal data with rotating keys, keyed lookup hashes,
//!   HMAC helpers and random secrets.
//! - [`db`]: the connection pool, migrations and tenant- or system-scoped transactions that
//!   row-level security relies on.
//! - [`ids`]: typed identifiers.
//! - [`redis_client`]: the shared Redis connection.
//! - [`rate_limit`]: request quotas per client address, API key, merchant and webhook sender,
//!   shared by every API replica through one GCRA script in Redis.
//! - [`client_ip`]: which address a request comes from, and which proxies may say so.
//! - [`browser_requests`]: whether a web page's form post comes from our own pages (origin, CSRF token).
//! - [`health`]: readiness checks of PostgreSQL and Redis.
//! - [`telemetry`]: JSON logs and the one Prometheus recorder.
#![forbid(unsafe_code)]

pub mod browser_requests;
pub mod client_ip;
pub mod config;
pub mod crypto;
pub mod db;
pub mod health;
pub mod ids;
pub mod rate_limit;
pub mod redis_client;
pub mod telemetry;

//! Everything the Recete API and workers share: configuration, database access, crypto,
//! domain types and the normalization of incoming events.
//!
//! # Layout
//! - [`config`]: layered, validated settings (`config/default.toml`, then `RECETE__…` variables).
//! - [`crypto`]: AES-256-GCM sealing of personal data with rotating keys, keyed lookup hashes,
//!   HMAC helpers and random secrets.
//! - [`db`]: the connection pool, migrations and tenant- or system-scoped transactions that
//!   row-level security relies on.
//! - [`ids`]: typed identifiers.
//! - [`imports`]: CSV imports: the stored upload, progress, failed rows.
//! - [`merchants`], [`integrations`], [`api_keys`]: the accounts that own every other row;
//!   [`api_key_expiry`]: the daily record of keys that lapsed.
//! - [`customers`], [`phone`]: customers found by keyed hashes of E.164 phones and emails;
//!   [`phone_country`]: the country local numbers are read in, from the setting or the time zone.
//! - [`orders`]: the order state machine and how commerce events move it.
//! - [`audit`]: the audit trail of state changes.
//! - [`browser_requests`]: whether a web page's form post comes from our own pages (origin, CSRF token).
//! - [`message_bodies`]: sealing and opening message texts; [`messages`]: the `messages` rows the
//!   workers store, send and move by Meta's statuses.
//! - [`conversations`]: WhatsApp conversations, their threads, hand-over and a person's replies.
//! - [`idempotency`]: `Idempotency-Key` answers of merchant API writes.
//! - [`events`]: the canonical event every webhook is normalized into, one module per platform,
//!   and the group-committing writer that stores them.
//! - [`privacy`]: customers' data exports and erasures, from the API or a store's privacy webhooks.
//! - [`tasks`]: scheduling scrape, embedding and answer tasks, and ending any task.
//! - [`rate_limit`]: request quotas per client address, API key, merchant and webhook sender,
//!   shared by every API replica through one GCRA script in Redis.
//! - [`merchant_events`]: what a merchant's systems are told of (hand-overs, opt-outs, failed
//!   messages, finished imports and privacy requests), raised with the change that caused it;
//!   [`webhooks`]: their delivery to merchants' endpoints as Standard Webhooks.
//! - [`analytics`]: the rollup of figures per merchant and day.
//! - [`periodic`]: periodic jobs that run once per period across the fleet.
//! - [`health`]: readiness checks of PostgreSQL and Redis.
//! - [`redis_client`]: the shared Redis connection.
//! - [`telemetry`]: JSON logs and the one Prometheus recorder.
#![forbid(unsafe_code)]

pub mod analytics;
pub mod api_key_expiry;
pub mod api_keys;
pub mod audit;
pub mod browser_requests;
pub mod config;
pub mod consent;
pub mod conversations;
pub mod crypto;
pub mod customers;
pub mod db;
pub mod events;
pub mod followups;
pub mod health;
pub mod idempotency;
pub mod ids;
pub mod imports;
pub mod integrations;
pub mod key_rotation;
pub mod languages;
pub mod merchant_events;
pub mod merchants;
pub mod message_bodies;
pub mod messages;
pub mod orders;
pub mod periodic;
pub mod phone;
pub mod phone_country;
pub mod privacy;
pub mod rate_limit;
pub mod redis_client;
pub mod tasks;
pub mod telemetry;
pub mod webhooks;
pub mod whatsapp;

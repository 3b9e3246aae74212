//! The domain of Recete: the tables of merchants and what they own (integrations, API keys,
//! customers, consent, orders, follow-ups, conversations, imports, privacy requests, merchant
//! events and their webhooks, analytics), their row types and their SQL. The platform it stands
//! on (configuration, database access, crypto, ids, Redis, quotas, telemetry) is
//! `recete-platform`; the `messages` rows the workers send and the WhatsApp client are
//! `recete-messaging`, above this crate.
//!
//! # Layout
//! - [`imports`]: CSV imports: the stored upload, progress, failed rows.
//! - [`merchants`], [`integrations`], [`api_keys`]: the accounts that own every other row;
//!   [`api_key_expiry`]: the daily record of keys that lapsed.
//! - [`customers`], [`phone`]: customers found by keyed hashes of E.164 phones and emails;
//!   [`phone_country`]: the country local numbers are read in, from the setting or the time zone;
//!   [`consent`]: their WhatsApp consent; [`languages`]: the languages customers write in.
//! - [`orders`]: the order state machine and how commerce events move it.
//! - [`followups`]: follow-up plans, their timing and the planned messages.
//! - [`audit`]: the audit trail of state changes.
//! - [`message_bodies`]: sealing and opening message texts.
//! - [`conversations`]: WhatsApp conversations, their threads, hand-over and a person's replies.
//! - [`idempotency`]: `Idempotency-Key` answers of merchant API writes.
//! - [`events`]: the canonical event every webhook is normalized into, one module per platform,
//!   and the group-committing writer that stores them.
//! - [`privacy`]: customers' data exports and erasures, from the API or a store's privacy webhooks.
//! - [`tasks`]: scheduling scrape, embedding and answer tasks, and ending any task.
//! - [`merchant_events`]: what a merchant's systems are told of (hand-overs, opt-outs, failed
//!   messages, finished imports and privacy requests), raised with the change that caused it;
//!   [`webhooks`]: their delivery to merchants' endpoints as Standard Webhooks.
//! - [`analytics`]: the rollup of figures per merchant and day.
//! - [`periodic`]: periodic jobs that run once per period across the fleet.
//! - [`key_rotation`]: re-sealing every sealed column under the newest key.
#![forbid(unsafe_code)]

pub mod analytics;
pub mod api_key_expiry;
pub mod api_keys;
pub mod audit;
pub mod consent;
pub mod conversations;
pub mod customers;
pub mod events;
pub mod followups;
pub mod idempotency;
pub mod imports;
pub mod integrations;
pub mod key_rotation;
pub mod languages;
pub mod merchant_events;
pub mod merchants;
pub mod message_bodies;
pub mod orders;
pub mod periodic;
pub mod phone;
pub mod phone_country;
pub mod privacy;
pub mod tasks;
pub mod webhooks;

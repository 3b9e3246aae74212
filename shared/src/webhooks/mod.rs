//! Outbound webhooks: merchant events delivered to the merchant's own endpoints, signed as
//! Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64
//! HMAC-SHA256 of "id.timestamp.body">`, secrets `whsec_<base64>`).
//!
//! Each event ([`crate::merchant_events`]) becomes one `webhook_deliveries` row per subscribed,
//! enabled endpoint, in the transaction that raised it, together with a `webhook` scheduled task
//! of the same id. The task carries the attempts, the exponential backoff and the dead-letter
//! state (`pools.webhooks`) like every other job; the delivery row keeps what the merchant sees:
//! the last status code, error and duration, when it was delivered, when it is tried next. The
//! event's id is the `webhook-id` of every attempt and every replay, so a receiver deduplicates.
//!
//! # Layout
//! - [`secret`]: `whsec_` secrets and the signature header.
//! - [`endpoints`]: `webhook_endpoints`: registration, secrets sealed at rest, rotation with an
//!   overlap, disabling by the merchant or after days of failures.
//! - [`deliveries`]: `webhook_deliveries`: fan-out, the record of attempts, listing and replay.

pub mod deliveries;
pub mod endpoints;
pub mod secret;

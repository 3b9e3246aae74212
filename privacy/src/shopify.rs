//! Shopify's mandatory privacy webhooks (`customers/data_request`, `customers/redact`,
//! `shop/redact`) as events. Normalizing them is pure and lives beside the other Shopify topics
//! in `recete_events::shopify::privacy`; carrying them out is [`super::store_requests`].

pub use recete_events::shopify::privacy::{TOPICS, normalize};

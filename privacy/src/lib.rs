//! Customers' privacy rights: everything held about a customer exported as one document, or
//! erased, on the merchant's request through the API or through a store's privacy webhook; and
//! keeping every sealed value under the newest key. This crate owns `privacy_requests`; what it
//! exports and erases lives in the tables of `recete-shared`, read and changed through its
//! functions and its row types.
//!
//! Erasure keeps what aggregate figures need and removes what names the person. The customer row
//! stays as an anonymous shell, so orders, conversations and message counts still add up; message
//! texts, WhatsApp ids, error texts and agent details go; pending follow-ups are cancelled; every
//! stored webhook that named the customer keeps its row with a sealed tombstone for a payload.
//! An erasure runs in one transaction and may run again: a second run finds less to do and does
//! it, so an interrupted erasure is finished by repeating it.
//!
//! # Layout
//! - [`subject`]: the customers a request means (by id, phone, email, or a store's own ids).
//! - [`export`]: the export document.
//! - [`erase`]: erasing customers, and a whole shop in batches.
//! - [`traces`]: stored webhooks that name a customer: found, opened, tombstoned.
//! - [`imports`]: rows of failed CSV imports that name a customer.
//! - [`customer_requests`]: a merchant's export or erasure of customers (API and console alike),
//!   and the counts an erasure would have, for a confirmation.
//! - [`requests`]: `privacy_requests` rows, with the sealed document of a store's data request.
//! - [`shopify`]: Shopify's mandatory privacy webhooks as events.
//! - [`store_requests`]: carrying out a store's privacy request from the event pipeline.
//! - [`key_rotation`]: `recete keys rotate`, re-sealing every sealed column (customers' and the
//!   rest: integration and webhook secrets, stored webhooks, messages, imports, task payloads)
//!   under the newest key and re-hashing every lookup hash.
#![forbid(unsafe_code)]

pub mod customer_requests;
pub mod erase;
pub mod export;
pub mod imports;
pub mod key_rotation;
pub mod requests;
pub mod shopify;
pub mod store_requests;
pub mod subject;
pub mod traces;

use serde::{Deserialize, Serialize};

use recete_platform::crypto::KeyringError;
use recete_platform::ids::{ApiKeyId, EventId};
use recete_shared::events::store::OpenError;
use recete_shared::message_bodies::BodyError;

pub use store_requests::{StoreCustomer, StoreRequest, StoreRequestKind};

#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("a sealed customer field does not open: {0}")]
    Sealed(#[from] KeyringError),
    #[error("a stored webhook payload does not open: {0}")]
    Payload(#[from] OpenError),
    #[error(transparent)]
    Body(#[from] BodyError),
    #[error("a stored document is not what was sealed: {0}")]
    Document(#[from] serde_json::Error),
    #[error("a failed import row does not open: {0}")]
    ImportRow(#[from] recete_shared::imports::ErrorRowError),
}

/// How a request reached us; recorded with the request and in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    /// The merchant API, with the key that asked.
    Api { api_key_id: ApiKeyId },
    /// A Shopify privacy webhook, stored as this event.
    Shopify { event_id: EventId },
    /// The merchants' web console, with the audit actor of the user who asked (`user:<email>`).
    Console { actor: String },
}

impl Channel {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Api { .. } => "api",
            Self::Shopify { .. } => "shopify",
            Self::Console { .. } => "console",
        }
    }

    /// Who acted, in the audit trail's words.
    pub fn actor(&self) -> String {
        match self {
            Self::Api { api_key_id } => format!("api-key:{api_key_id}"),
            Self::Shopify { .. } => "shopify:privacy-webhook".to_owned(),
            Self::Console { actor } => actor.clone(),
        }
    }

    pub fn event_id(&self) -> Option<EventId> {
        match self {
            Self::Api { .. } | Self::Console { .. } => None,
            Self::Shopify { event_id } => Some(*event_id),
        }
    }
}

/// How much a request exported or erased, by kind of record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct Counts {
    /// Customers exported, or erased (their rows kept as anonymous shells).
    pub customers: u64,
    /// Orders exported, or left without anyone to link them to.
    pub orders: u64,
    pub conversations: u64,
    /// Messages exported, or stripped to what aggregate figures need.
    pub messages: u64,
    /// Scheduled follow-ups and replies exported, or pending ones cancelled.
    pub follow_ups: u64,
    /// Consent changes exported (erasure keeps the consent trail, which names no one).
    pub consent_changes: u64,
    /// Stored webhooks exported, or tombstoned.
    pub events: u64,
    /// Rows of failed imports exported, or deleted.
    pub import_errors: u64,
    /// Export documents kept for a store's data request, deleted by an erasure.
    pub documents: u64,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.customers += other.customers;
        self.orders += other.orders;
        self.conversations += other.conversations;
        self.messages += other.messages;
        self.follow_ups += other.follow_ups;
        self.consent_changes += other.consent_changes;
        self.events += other.events;
        self.import_errors += other.import_errors;
        self.documents += other.documents;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_name_their_actor_without_personal_data() {
        let key: ApiKeyId = "01a207ed-8965-7693-8efc-a111fff1b398".parse().expect("uuid");
        let api = Channel::Api { api_key_id: key };
        assert_eq!((api.as_str(), api.actor().as_str()), ("api", "api-key:01a207ed-8965-7693-8efc-a111fff1b398"));
        assert_eq!(api.event_id(), None);
        let event = EventId::generate();
        let shopify = Channel::Shopify { event_id: event };
        assert_eq!((shopify.as_str(), shopify.actor().as_str()), ("shopify", "shopify:privacy-webhook"));
        assert_eq!(shopify.event_id(), Some(event));
        let console = Channel::Console { actor: "user:owner@shop.example".into() };
        assert_eq!((console.as_str(), console.actor().as_str()), ("console", "user:owner@shop.example"));
        assert_eq!(console.event_id(), None);
    }

    #[test]
    fn counts_add_up_and_read_back_with_missing_fields_as_zero() {
        let mut total = Counts { customers: 1, messages: 3, ..Counts::default() };
        total.add(&Counts { customers: 2, events: 4, ..Counts::default() });
        assert_eq!(total, Counts { customers: 3, messages: 3, events: 4, ..Counts::default() });
        let read: Counts = serde_json::from_str(r#"{"customers": 5}"#).expect("partial counts");
        assert_eq!(read, Counts { customers: 5, ..Counts::default() });
    }
}

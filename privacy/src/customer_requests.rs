//! A merchant's own request about customers it named (through the API or the console): export
//! everything held about them as one document, or erase them. Each is recorded as a
//! `privacy_requests` row of its channel and audited under the channel's actor.
//!
//! [`preview_erasure`] tells what an erasure would do before anyone confirms it: it runs the
//! erasure itself in a transaction that is then rolled back, so the counts it gives are the very
//! counts the erasure reports, never an estimate that could drift from it.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::erase::{self, Erasure, Webhooks};
use super::export::{self, ExportDocument};
use super::requests::{self, NewRequest, RequestKind, RequestStatus, Scope};
use super::subject::Matched;
use super::{Channel, Counts, PrivacyError};
use recete_platform::crypto::Keyring;
use recete_platform::db::{self, Tx};
use recete_platform::ids::{CustomerId, MerchantId};
use recete_shared::audit::{self, AuditEntry};

pub enum ExportOutcome {
    Exported {
        request_id: Uuid,
        counts: Counts,
        /// Boxed: a document is large beside the other outcome.
        document: Box<ExportDocument>,
    },
    /// Every customer matched was erased (the latest erasure's time): nothing names them.
    Erased { on: Option<DateTime<Utc>> },
}

/// Exports the customers `matched` (not yet erased) as one document, recorded and audited
/// (`customer.exported`, one row per customer, counts only).
pub async fn export(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    channel: &Channel,
    matched: &[Matched],
) -> Result<ExportOutcome, PrivacyError> {
    let live: Vec<CustomerId> = matched.iter().filter(|m| m.erased_at.is_none()).map(|m| m.id).collect();
    if live.is_empty() {
        return Ok(ExportOutcome::Erased { on: matched.iter().filter_map(|m| m.erased_at).max() });
    }
    let document = export::build(tx, keyring, merchant, &live, &[]).await?;
    let counts = document.counts();
    let request_id = Uuid::now_v7();
    let request = NewRequest {
        id: request_id,
        merchant,
        kind: RequestKind::Export,
        scope: Scope::Customer,
        channel,
        platform_request_id: None,
        status: RequestStatus::Completed,
        customer_ids: &live,
        counts,
        document: None,
    };
    requests::record(tx, keyring, &request).await?;
    for customer in &live {
        audit::record(
            tx,
            AuditEntry {
                merchant_id: Some(merchant),
                actor: &channel.actor(),
                action: "customer.exported",
                subject_type: "customer",
                subject_id: customer.to_string(),
                event_id: channel.event_id(),
                before: None,
                after: Some(json!({
                    "channel": channel.as_str(),
                    "privacy_request_id": request_id,
                    "counts": counts,
                })),
            },
        )
        .await?;
    }
    Ok(ExportOutcome::Exported { request_id, counts, document: Box::new(document) })
}

pub struct Erased {
    pub request_id: Uuid,
    /// Earlier requests had erased every customer matched; anything that arrived since was
    /// erased too.
    pub already_erased: bool,
    /// The customers erased; their rows stay as anonymous shells.
    pub customers: Vec<CustomerId>,
    pub counts: Counts,
}

/// Erases the customers `matched` (see [`super::erase`]), recorded as one request; each erasure
/// is audited as `customer.erased` by the erasure itself.
pub async fn erase(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    channel: &Channel,
    matched: &[Matched],
) -> Result<Erased, PrivacyError> {
    let request_id = Uuid::now_v7();
    let erasure = Erasure { merchant, channel, request_id, extra_orders: &[], webhooks: Webhooks::Tombstone };
    let mut counts = Counts::default();
    let mut customers = Vec::with_capacity(matched.len());
    for customer in matched {
        if let Some(outcome) = erase::erase_customer(tx, keyring, &erasure, customer.id).await? {
            counts.add(&outcome.counts);
            customers.push(customer.id);
        }
    }
    let request = NewRequest {
        id: request_id,
        merchant,
        kind: RequestKind::Erase,
        scope: Scope::Customer,
        channel,
        platform_request_id: None,
        status: RequestStatus::Completed,
        customer_ids: &customers,
        counts,
        document: None,
    };
    requests::record(tx, keyring, &request).await?;
    let already_erased = matched.iter().all(|m| m.erased_at.is_some());
    Ok(Erased { request_id, already_erased, customers, counts })
}

/// What erasing `customer` would clear, counted by the erasure itself in a transaction that is
/// rolled back; `None` when the merchant has no such customer. Nothing changes.
pub async fn preview_erasure(
    pool: &PgPool,
    keyring: &Keyring,
    merchant: MerchantId,
    channel: &Channel,
    customer: CustomerId,
) -> Result<Option<Counts>, PrivacyError> {
    let mut tx = db::tenant_tx(pool, merchant).await?;
    let erasure =
        Erasure { merchant, channel, request_id: Uuid::now_v7(), extra_orders: &[], webhooks: Webhooks::Tombstone };
    let erased = erase::erase_customer(&mut tx, keyring, &erasure, customer).await?;
    tx.rollback().await?;
    Ok(erased.map(|erased| erased.counts))
}

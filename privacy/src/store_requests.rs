//! A store's privacy request, as it travels through the event pipeline: stored like any webhook
//! (so nothing is lost if a worker dies), then carried out by the order-events worker inside the
//! transaction that marks the event processed. The stored delivery names the customer itself, so
//! it is tombstoned as soon as the request is carried out.
//!
//! A shop erasure may be large: each run erases one batch and hands the event back to the queue
//! until nothing is left, so no run outlives the job timeout and a crash loses one batch at most.

pub use recete_events::store_request::{StoreCustomer, StoreRequest, StoreRequestKind};
use uuid::Uuid;

use super::erase::{self, Erasure, Webhooks};
use super::requests::{self, NewRequest, RequestKind, RequestStatus, Scope};
use super::{Channel, Counts, PrivacyError, export, subject, traces};
use recete_platform::crypto::Keyring;
use recete_platform::db::Tx;
use recete_platform::ids::{CustomerId, EventId, MerchantId};
use recete_shared::audit::{self, AuditEntry};

/// The stored delivery a request arrived as.
pub struct Delivered<'a> {
    pub merchant: MerchantId,
    pub event_id: EventId,
    pub request: &'a StoreRequest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Carried out: mark the event processed.
    Finished,
    /// A shop erasure with more to do: the event has been handed back to the queue.
    MoreToDo,
}

/// Carries out a store's request inside `tx`, which holds the claimed event row.
pub async fn carry_out(tx: &mut Tx, keyring: &Keyring, delivered: &Delivered<'_>) -> Result<Progress, PrivacyError> {
    let channel = Channel::Shopify { event_id: delivered.event_id };
    match delivered.request.kind {
        StoreRequestKind::DataRequest => {
            let customers = matched(tx, keyring, delivered).await?;
            let document =
                export::build(tx, keyring, delivered.merchant, &customers, &delivered.request.orders).await?;
            let counts = document.counts();
            let found = counts.customers > 0 || counts.orders > 0 || counts.events > 0;
            let request = NewRequest {
                id: Uuid::now_v7(),
                merchant: delivered.merchant,
                kind: RequestKind::Export,
                scope: Scope::Customer,
                channel: &channel,
                platform_request_id: delivered.request.request_id.as_deref(),
                status: if found { RequestStatus::Completed } else { RequestStatus::NotFound },
                customer_ids: &customers,
                counts,
                document: found.then_some(&document),
            };
            requests::record(tx, keyring, &request).await?;
            traces::tombstone(tx, keyring, &[delivered.event_id]).await?;
            Ok(Progress::Finished)
        }
        StoreRequestKind::CustomerRedact => {
            let customers = matched(tx, keyring, delivered).await?;
            let request_id = Uuid::now_v7();
            let erasure = Erasure {
                merchant: delivered.merchant,
                channel: &channel,
                request_id,
                extra_orders: &delivered.request.orders,
                webhooks: Webhooks::Tombstone,
            };
            let mut counts = Counts::default();
            for customer in &customers {
                if let Some(erased) = erase::erase_customer(tx, keyring, &erasure, *customer).await? {
                    counts.add(&erased.counts);
                }
            }
            if customers.is_empty() && !delivered.request.orders.is_empty() {
                // Orders placed without a customer we know (a guest checkout) still name them.
                let none = traces::Identifiers::default();
                counts.events +=
                    erase::tombstone_webhooks(tx, keyring, delivered.merchant, &[], &none, &delivered.request.orders)
                        .await?;
            }
            let found = counts.customers > 0 || counts.events > 0;
            let request = NewRequest {
                id: request_id,
                merchant: delivered.merchant,
                kind: RequestKind::Erase,
                scope: Scope::Customer,
                channel: &channel,
                platform_request_id: delivered.request.request_id.as_deref(),
                status: if found { RequestStatus::Completed } else { RequestStatus::NotFound },
                customer_ids: &customers,
                counts,
                document: None,
            };
            requests::record(tx, keyring, &request).await?;
            traces::tombstone(tx, keyring, &[delivered.event_id]).await?;
            Ok(Progress::Finished)
        }
        StoreRequestKind::ShopRedact => erase_shop(tx, keyring, delivered, &channel).await,
    }
}

async fn matched(tx: &mut Tx, keyring: &Keyring, delivered: &Delivered<'_>) -> Result<Vec<CustomerId>, PrivacyError> {
    let Some(customer) = &delivered.request.customer else {
        return Ok(Vec::new());
    };
    let found = subject::find_store_customer(tx, keyring, delivered.merchant, customer).await?;
    Ok(found.into_iter().filter(|m| m.erased_at.is_none()).map(|m| m.id).collect())
}

async fn erase_shop(
    tx: &mut Tx,
    keyring: &Keyring,
    delivered: &Delivered<'_>,
    channel: &Channel,
) -> Result<Progress, PrivacyError> {
    let (request_id, mut total) = match requests::for_event(tx, delivered.event_id).await? {
        Some(running) => running,
        None => {
            let id = Uuid::now_v7();
            let request = NewRequest {
                id,
                merchant: delivered.merchant,
                kind: RequestKind::Erase,
                scope: Scope::Shop,
                channel,
                platform_request_id: None,
                status: RequestStatus::Running,
                customer_ids: &[],
                counts: Counts::default(),
                document: None,
            };
            requests::record(tx, keyring, &request).await?;
            (id, Counts::default())
        }
    };
    let erasure =
        Erasure { merchant: delivered.merchant, channel, request_id, extra_orders: &[], webhooks: Webhooks::Leave };
    let (batch, finished) = erase::erase_shop_batch(tx, keyring, &erasure, Some(delivered.event_id)).await?;
    total.add(&batch);
    requests::progress(tx, request_id, &total, finished).await?;
    if !finished {
        sqlx::query("UPDATE external_events SET next_attempt_at = now(), enqueued_at = NULL WHERE id = $1")
            .bind(delivered.event_id)
            .execute(&mut **tx)
            .await?;
        return Ok(Progress::MoreToDo);
    }
    audit::record(
        tx,
        AuditEntry {
            merchant_id: Some(delivered.merchant),
            actor: &channel.actor(),
            action: "shop.customer_data_erased",
            subject_type: "merchant",
            subject_id: delivered.merchant.to_string(),
            event_id: Some(delivered.event_id),
            before: None,
            after: Some(serde_json::json!({ "privacy_request_id": request_id, "counts": total })),
        },
    )
    .await?;
    traces::tombstone(tx, keyring, &[delivered.event_id]).await?;
    Ok(Progress::Finished)
}

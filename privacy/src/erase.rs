//! Erasing customers: what names them goes, what aggregate figures need stays.
//!
//! - The customer row stays as an anonymous shell (`erased_at` set): phone, email, name, lookup
//!   hashes, the store's id, country, time zone and consent source are cleared; the consent state
//!   stays for opt-in figures.
//! - Orders and their items stay, linked to the shell: they hold amounts and products, not people.
//! - Messages keep direction, kind, status, timestamps, template name, error code and follow-up
//!   step; texts, WhatsApp ids, error texts and agent details go.
//! - Pending follow-ups and replies are cancelled (`cancel_reason = 'erased'`); every task of the
//!   customer loses its sealed reply text, agent details and error texts.
//! - Stored webhooks that named the customer are tombstoned ([`super::traces`]).
//! - The agent's tool arguments and guardrail details in the audit trail go; rows of failed
//!   imports that named the customer are deleted; export documents kept for a store are deleted.
//! - One `customer.erased` audit row records the request: the channel and the counts, no one's
//!   phone, email or name.
//!
//! Every step only clears, so running an erasure again (after an interruption, or for a message
//! that arrived meanwhile) finishes the job and changes nothing else.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::FromRow;

use super::traces::{self, Identifiers};
use super::{Channel, Counts, PrivacyError, export, imports};
use recete_platform::crypto::Keyring;
use recete_platform::db::Tx;
use recete_platform::ids::{CustomerId, EventId, MerchantId};
use recete_shared::audit::{self, AuditEntry};

/// What happens to the stored webhooks that named the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Webhooks {
    /// Found and tombstoned with the customer.
    Tombstone,
    /// Left for the caller, which tombstones every event of the shop afterwards.
    Leave,
}

pub struct Erasure<'a> {
    pub merchant: MerchantId,
    pub channel: &'a Channel,
    /// The request this erasure belongs to, for the audit trail.
    pub request_id: uuid::Uuid,
    /// The store's orders a store's request named, tombstoned even when linked to no customer.
    pub extra_orders: &'a [String],
    pub webhooks: Webhooks,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erased {
    pub counts: Counts,
    /// An earlier request had erased the customer; this one cleared only what came later.
    pub already_erased: bool,
}

#[derive(FromRow)]
struct Locked {
    erased_at: Option<DateTime<Utc>>,
}

/// Erases one customer inside `tx`; `None` when the merchant has no such customer.
pub async fn erase_customer(
    tx: &mut Tx,
    keyring: &Keyring,
    erasure: &Erasure<'_>,
    customer: CustomerId,
) -> Result<Option<Erased>, PrivacyError> {
    let merchant = erasure.merchant;
    let locked: Option<Locked> =
        sqlx::query_as("SELECT erased_at FROM customers WHERE merchant_id = $1 AND id = $2 FOR UPDATE")
            .bind(merchant)
            .bind(customer)
            .fetch_optional(&mut **tx)
            .await?;
    let Some(locked) = locked else {
        return Ok(None);
    };
    let customers = [customer];
    let mut counts = Counts { customers: 1, ..Counts::default() };
    counts.events = match erasure.webhooks {
        Webhooks::Tombstone => {
            let (_, identifiers) = export::customers(tx, keyring, merchant, &customers).await?;
            tombstone_webhooks(tx, keyring, merchant, &customers, &identifiers, erasure.extra_orders).await?
        }
        Webhooks::Leave => 0,
    };
    counts.orders = count(tx, "SELECT count(*) FROM orders WHERE customer_id = $1", customer).await?;
    counts.conversations = count(tx, "SELECT count(*) FROM conversations WHERE customer_id = $1", customer).await?;
    counts.messages = strip_messages(tx, customer).await?;
    counts.follow_ups = cancel_and_strip_tasks(tx, customer).await?;
    strip_agent_audit(tx, customer).await?;
    let lookups = imports::lookups_of(tx, keyring, &customers).await?;
    counts.import_errors = imports::delete_naming(tx, merchant, &lookups).await?;
    counts.documents = sqlx::query(
        "UPDATE privacy_requests SET document_sealed = NULL, document_key_id = NULL, document_erased_at = now()
         WHERE merchant_id = $1 AND customer_ids @> ARRAY[$2]::uuid[] AND document_sealed IS NOT NULL",
    )
    .bind(merchant)
    .bind(customer)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    sqlx::query(
        "UPDATE customers SET external_id = NULL, pii_key_id = NULL, phone_sealed = NULL, phone_lookup = NULL,
             email_sealed = NULL, email_lookup = NULL, name_sealed = NULL, country_code = NULL, timezone = NULL,
             consent_source = NULL, erased_at = coalesce(erased_at, now())
         WHERE id = $1",
    )
    .bind(customer)
    .execute(&mut **tx)
    .await?;
    let already_erased = locked.erased_at.is_some();
    audit::record(
        tx,
        AuditEntry {
            merchant_id: Some(merchant),
            actor: &erasure.channel.actor(),
            action: "customer.erased",
            subject_type: "customer",
            subject_id: customer.to_string(),
            event_id: erasure.channel.event_id(),
            before: None,
            after: Some(json!({
                "channel": erasure.channel.as_str(),
                "privacy_request_id": erasure.request_id,
                "already_erased": already_erased,
                "counts": counts,
            })),
        },
    )
    .await?;
    Ok(Some(Erased { counts, already_erased }))
}

/// Tombstones the stored webhooks about `customers` and the store's orders `extra_orders`.
pub async fn tombstone_webhooks(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    customers: &[CustomerId],
    identifiers: &Identifiers,
    extra_orders: &[String],
) -> Result<u64, PrivacyError> {
    let events = traces::naming(tx, keyring, merchant, customers, identifiers, extra_orders).await?;
    traces::tombstone(tx, keyring, &events).await
}

async fn count(tx: &mut Tx, sql: &str, customer: CustomerId) -> Result<u64, sqlx::Error> {
    let count: i64 = sqlx::query_scalar(sql).bind(customer).fetch_one(&mut **tx).await?;
    Ok(u64::try_from(count).unwrap_or_default())
}

/// Leaves each message of the customer what aggregate figures need; returns how many there are.
async fn strip_messages(tx: &mut Tx, customer: CustomerId) -> Result<u64, sqlx::Error> {
    // Inbound idempotency keys carry WhatsApp's message id; outbound ones are our task ids and
    // keep a retried send from going out twice.
    let stripped = sqlx::query(
        "UPDATE messages SET body_sealed = NULL, pii_key_id = NULL, wa_message_id = NULL, error_reason = NULL,
             idempotency_key = CASE WHEN idempotency_key LIKE 'task:%' THEN idempotency_key END,
             metadata = CASE WHEN metadata ? 'step' THEN jsonb_build_object('step', metadata -> 'step')
                             ELSE '{}'::jsonb END
         WHERE customer_id = $1 OR conversation_id IN (SELECT id FROM conversations WHERE customer_id = $1)",
    )
    .bind(customer)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(stripped)
}

/// Cancels the customer's pending tasks and strips every task of theirs; returns how many were
/// cancelled.
async fn cancel_and_strip_tasks(tx: &mut Tx, customer: CustomerId) -> Result<u64, sqlx::Error> {
    let cancelled = sqlx::query(
        "UPDATE scheduled_tasks SET state = 'cancelled', cancel_reason = 'erased', finished_at = now()
         WHERE customer_id = $1 AND state IN ('pending', 'failed')",
    )
    .bind(customer)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    // A reply's key is the WhatsApp message it answers; reasons may quote an error text or the
    // customer's time zone.
    sqlx::query(
        "UPDATE scheduled_tasks SET payload = payload - 'text_sealed' - 'metadata', last_error = NULL,
             status_reason = CASE WHEN cancel_reason = 'erased' THEN 'erased' END,
             unique_key = CASE WHEN kind = 'reply' THEN 'erased:' || id ELSE unique_key END
         WHERE customer_id = $1",
    )
    .bind(customer)
    .execute(&mut **tx)
    .await?;
    Ok(cancelled)
}

/// The agent's tool arguments and guardrail details may quote what the customer wrote. The
/// application role may not rewrite `audit_log`; the owner's function does exactly this one
/// redaction, within the transaction's merchant.
async fn strip_agent_audit(tx: &mut Tx, customer: CustomerId) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT recete_strip_agent_audit($1)").bind(customer).execute(&mut **tx).await?;
    Ok(())
}

/// Customers erased per batch of a shop erasure, and events tombstoned per batch after them.
pub const SHOP_CUSTOMER_BATCH: i64 = 100;
pub const SHOP_EVENT_BATCH: i64 = 500;

/// One batch of erasing every customer of a shop: customers first, then every stored webhook of
/// the shop, then rows of failed imports and kept export documents. Returns the batch's counts and
/// whether nothing is left; each batch commits on its own, and a repeated batch finds only what
/// is left.
pub async fn erase_shop_batch(
    tx: &mut Tx,
    keyring: &Keyring,
    erasure: &Erasure<'_>,
    except_event: Option<EventId>,
) -> Result<(Counts, bool), PrivacyError> {
    let merchant = erasure.merchant;
    let mut counts = Counts::default();
    let customers: Vec<CustomerId> = sqlx::query_scalar(
        "SELECT id FROM customers WHERE merchant_id = $1 AND erased_at IS NULL ORDER BY id LIMIT $2",
    )
    .bind(merchant)
    .bind(SHOP_CUSTOMER_BATCH)
    .fetch_all(&mut **tx)
    .await?;
    if !customers.is_empty() {
        let per_customer = Erasure { webhooks: Webhooks::Leave, ..*erasure };
        for customer in customers {
            if let Some(erased) = erase_customer(tx, keyring, &per_customer, customer).await? {
                counts.add(&erased.counts);
            }
        }
        return Ok((counts, false));
    }
    counts.events = traces::tombstone_some(tx, keyring, merchant, except_event, SHOP_EVENT_BATCH).await?;
    if counts.events > 0 {
        return Ok((counts, false));
    }
    counts.import_errors = imports::delete_all(tx, merchant).await?;
    counts.documents = sqlx::query(
        "UPDATE privacy_requests SET document_sealed = NULL, document_key_id = NULL, document_erased_at = now()
         WHERE merchant_id = $1 AND document_sealed IS NOT NULL",
    )
    .bind(merchant)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok((counts, true))
}

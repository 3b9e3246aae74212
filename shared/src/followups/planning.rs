//! Planning follow-ups when an order is delivered, and cancelling them when they no longer
//! apply. One `scheduled_tasks` row per (order, step): planning twice plans once.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::merchants::MerchantSettings;
use recete_platform::db::Tx;
use recete_platform::ids::{CustomerId, EventId, MerchantId, OrderId, TaskId};

pub const FOLLOW_UP: &str = "follow_up";
pub const REPLY: &str = "reply";

/// Why follow-ups cancelled by a customer's opt-out (STOP, the "Stop promotions" button, marketing
/// stopped in WhatsApp's settings) were cancelled: [`resume_for_order`] puts back only these.
pub const OPTED_OUT: &str = "customer opted out";
/// Why follow-ups were cancelled when Meta refused a send because the customer stopped
/// marketing messages (error 131050); undone by a resume like [`OPTED_OUT`].
pub const STOPPED_MARKETING: &str = "customer stopped marketing messages (131050)";

pub struct Delivery<'a> {
    pub merchant_id: MerchantId,
    pub order_id: OrderId,
    pub customer_id: Option<CustomerId>,
    pub delivered_at: DateTime<Utc>,
    pub actor: &'a str,
    pub event_id: Option<EventId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanOutcome {
    Planned { steps: usize },
    NoCustomer,
    StaleDelivery,
}

pub async fn plan_after_delivery(
    tx: &mut Tx,
    delivery: &Delivery<'_>,
    settings: &MerchantSettings,
    now: DateTime<Utc>,
) -> Result<PlanOutcome, sqlx::Error> {
    let Some(customer_id) = delivery.customer_id else {
        return Ok(PlanOutcome::NoCustomer);
    };
    if now - delivery.delivered_at > Duration::hours(i64::from(settings.stale_delivery_hours)) {
        audit::record(
            tx,
            AuditEntry {
                merchant_id: Some(delivery.merchant_id),
                actor: delivery.actor,
                action: "follow_ups.not_planned",
                subject_type: "order",
                subject_id: delivery.order_id.to_string(),
                event_id: delivery.event_id,
                before: None,
                after: Some(json!({ "reason": format!("delivery older than {} h", settings.stale_delivery_hours) })),
            },
        )
        .await?;
        return Ok(PlanOutcome::StaleDelivery);
    }
    // A newer delivered order restarts the plan: what is pending for older orders goes.
    cancel_where(
        tx,
        "customer_id = $1 AND order_id <> $2 AND kind = 'follow_up'",
        customer_id.as_uuid(),
        Some(delivery.order_id.as_uuid()),
        "superseded by a newer order from the same customer",
    )
    .await?;
    let mut planned = 0;
    for step in &settings.follow_up_plan {
        let due_at = delivery.delivered_at + Duration::hours(i64::from(step.offset_hours));
        let inserted = sqlx::query(
            "INSERT INTO scheduled_tasks (id, merchant_id, kind, order_id, customer_id, unique_key, step, due_at, payload)
             VALUES ($1, $2, 'follow_up', $3, $4, $5, $6, $7, $8)
             ON CONFLICT ON CONSTRAINT scheduled_tasks_merchant_id_unique_key_key DO NOTHING",
        )
        .bind(TaskId::generate())
        .bind(delivery.merchant_id)
        .bind(delivery.order_id)
        .bind(customer_id)
        .bind(format!("follow_up:{}:{}", delivery.order_id, step.key))
        .bind(&step.key)
        .bind(due_at)
        .bind(json!({ "step": step.key }))
        .execute(&mut **tx)
        .await?;
        planned += inserted.rows_affected() as usize;
    }
    if planned > 0 {
        audit::record(
            tx,
            AuditEntry {
                merchant_id: Some(delivery.merchant_id),
                actor: delivery.actor,
                action: "follow_ups.planned",
                subject_type: "order",
                subject_id: delivery.order_id.to_string(),
                event_id: delivery.event_id,
                before: None,
                after: Some(json!({ "steps": planned })),
            },
        )
        .await?;
    }
    Ok(PlanOutcome::Planned { steps: planned })
}

/// Whether follow-ups were ever planned for the order, whatever became of them since (sent,
/// cancelled by an opt-out): a plan is made once per order.
pub async fn ever_planned(tx: &mut Tx, order_id: OrderId) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM scheduled_tasks WHERE order_id = $1 AND kind = 'follow_up')")
        .bind(order_id)
        .fetch_one(&mut **tx)
        .await
}

/// Puts back the order's follow-ups that an opt-out cancelled, when none of its follow-ups is
/// pending: a customer opting back in gets the rest of the plan they stopped, once, each step at
/// its own time (a step whose time passed meanwhile goes at once, within quiet hours and the
/// cap, as it would for a delivery reported late). Steps sent before the opt-out and steps
/// cancelled for any other reason stay as they are. Returns how many were put back.
pub async fn resume_for_order(tx: &mut Tx, order_id: OrderId) -> Result<u64, sqlx::Error> {
    let resumed = sqlx::query(
        "UPDATE scheduled_tasks SET state = 'pending', attempts = 0, last_error = NULL, cancel_reason = NULL,
                status_reason = 'resumed: the customer opted back in', finished_at = NULL, enqueued_at = NULL,
                updated_at = now()
         WHERE order_id = $1 AND kind = 'follow_up' AND state = 'cancelled' AND cancel_reason = ANY($2)
           AND NOT EXISTS (SELECT 1 FROM scheduled_tasks pending
                           WHERE pending.order_id = $1 AND pending.kind = 'follow_up'
                             AND pending.state IN ('pending', 'running', 'failed'))",
    )
    .bind(order_id)
    .bind([OPTED_OUT, STOPPED_MARKETING])
    .execute(&mut **tx)
    .await?;
    Ok(resumed.rows_affected())
}

/// Cancels an order's pending follow-ups (cancelled or refunded order); returns how many.
pub async fn cancel_for_order(tx: &mut Tx, order_id: OrderId, reason: &str) -> Result<u64, sqlx::Error> {
    cancel_where(tx, "order_id = $1 AND kind = 'follow_up' AND $2::uuid IS NULL", order_id.as_uuid(), None, reason)
        .await
}

/// Cancels a customer's pending follow-ups (opt-out); returns how many.
pub async fn cancel_for_customer(tx: &mut Tx, customer_id: CustomerId, reason: &str) -> Result<u64, sqlx::Error> {
    cancel_where(
        tx,
        "customer_id = $1 AND kind = 'follow_up' AND $2::uuid IS NULL",
        customer_id.as_uuid(),
        None,
        reason,
    )
    .await
}

async fn cancel_where(
    tx: &mut Tx,
    condition: &str,
    subject: uuid::Uuid,
    except: Option<uuid::Uuid>,
    reason: &str,
) -> Result<u64, sqlx::Error> {
    let cancelled = sqlx::query(&format!(
        "UPDATE scheduled_tasks SET state = 'cancelled', cancel_reason = $3, status_reason = $3, finished_at = now()
         WHERE state IN ('pending', 'failed') AND {condition}"
    ))
    .bind(subject)
    .bind(except)
    .bind(reason)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(cancelled)
}

/// A reply's place in a conversation and what the merchant sees beside it (the agent's
/// citations, intent and guardrail verdict), copied onto the message when it is sent.
#[derive(Debug, Clone, Default)]
pub struct ReplyContext {
    pub conversation_id: Option<uuid::Uuid>,
    pub metadata: serde_json::Value,
}

/// Schedules a reply to go out at once (replies skip quiet hours and the frequency cap). The
/// text is sealed in the task: it may quote the customer's order.
pub async fn schedule_reply(
    tx: &mut Tx,
    keyring: &recete_platform::crypto::Keyring,
    merchant_id: MerchantId,
    customer_id: CustomerId,
    unique_key: &str,
    text: &str,
    context: &ReplyContext,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO scheduled_tasks (id, merchant_id, kind, customer_id, unique_key, due_at, payload)
         VALUES ($1, $2, 'reply', $3, $4, now(), $5)
         ON CONFLICT ON CONSTRAINT scheduled_tasks_merchant_id_unique_key_key DO NOTHING",
    )
    .bind(TaskId::generate())
    .bind(merchant_id)
    .bind(customer_id)
    .bind(unique_key)
    .bind(json!({
        "text_sealed": crate::message_bodies::seal_for_payload(keyring, merchant_id, text),
        "conversation_id": context.conversation_id,
        "metadata": context.metadata,
    }))
    .execute(&mut **tx)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

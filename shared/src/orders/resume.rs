//! Follow-ups given back when a customer's WhatsApp consent is granted again (START, a `resume`
//! of marketing messages in WhatsApp's settings, the store reporting consent): the customer's
//! newest delivered order, when its delivery is not stale and nothing of its plan is pending,
//! gets back the steps their opt-out cancelled. A second grant finds them pending and changes
//! nothing, so a grant re-plans once.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::consent::ConsentChange;
use crate::followups::planning;
use crate::merchants;
use crate::orders::OrderStatus;
use recete_platform::db::Tx;
use recete_platform::ids::OrderId;

/// Puts back the follow-ups an opt-out cancelled for the customer of `grant` (see the module
/// docs), auditing it; returns how many steps were put back.
pub async fn after_consent_granted(
    tx: &mut Tx,
    grant: &ConsentChange<'_>,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let newest: Option<(OrderId, DateTime<Utc>)> = sqlx::query_as(
        "SELECT id, delivered_at FROM orders
         WHERE merchant_id = $1 AND customer_id = $2 AND status = $3 AND delivered_at IS NOT NULL
         ORDER BY delivered_at DESC, id DESC LIMIT 1",
    )
    .bind(grant.merchant_id)
    .bind(grant.customer_id)
    .bind(OrderStatus::Delivered.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    let Some((order_id, delivered_at)) = newest else {
        return Ok(0);
    };
    let settings = merchants::settings(tx, grant.merchant_id).await?;
    if now - delivered_at > Duration::hours(i64::from(settings.stale_delivery_hours)) {
        return Ok(0);
    }
    let resumed = planning::resume_for_order(tx, order_id).await?;
    if resumed > 0 {
        audit::record(
            tx,
            AuditEntry {
                merchant_id: Some(grant.merchant_id),
                actor: grant.actor,
                action: "follow_ups.resumed",
                subject_type: "order",
                subject_id: order_id.to_string(),
                event_id: grant.event_id,
                before: None,
                after: Some(json!({ "steps": resumed, "consent_source": grant.source })),
            },
        )
        .await?;
    }
    Ok(resumed)
}

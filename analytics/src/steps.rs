//! Figures per follow-up step (`t3`, `t14`...): what each step's messages did.
//!
//! Counted over the follow-ups whose send was confirmed in the range (`sent_at`, the merchant's
//! days), by the step that planned them (`scheduled_tasks.step`):
//! - `sent`; `delivered`: of those, the ones that reached the phone (a read one included);
//!   `read`: the ones read.
//! - `replied`: the ones the customer answered (any message) within 24 hours after the send, as
//!   the daily `replied` figure counts them.
//! - `opt_outs`: the ones followed within 24 hours by the customer revoking WhatsApp consent
//!   (a STOP, Meta's buttons, the store), from the audit trail.
//! - `hand_overs`: the ones followed within 24 hours by one of the customer's conversations
//!   being handed to a person, from the audit trail.
//!
//! Each figure counts messages, so a customer who opts out within a day of two follow-ups counts
//! for both. Every step of the merchant's current plan is listed, zeros included, in the plan's
//! order; steps since removed from the plan follow by key.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

use super::range::{DayRange, MerchantCalendar};
use recete_platform::db::Tx;
use recete_platform::ids::MerchantId;
use recete_shared::merchants;

/// What one step's follow-ups did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow, ToSchema)]
pub struct StepFigures {
    /// The step's key in the follow-up plan; null for messages whose task no longer exists (an
    /// erased customer's).
    pub step: Option<String>,
    /// Hours after delivery, when the step is in the current plan.
    #[sqlx(skip)]
    pub offset_hours: Option<u32>,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub replied: i64,
    pub opt_outs: i64,
    pub hand_overs: i64,
}

impl StepFigures {
    fn zero(step: String, offset_hours: u32) -> Self {
        Self {
            step: Some(step),
            offset_hours: Some(offset_hours),
            sent: 0,
            delivered: 0,
            read: 0,
            replied: 0,
            opt_outs: 0,
            hand_overs: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StepsReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The merchant's IANA time zone, in which the days are counted.
    pub timezone: String,
    pub steps: Vec<StepFigures>,
    pub generated_at: DateTime<Utc>,
}

/// The figures of every step over `range`, in one set-based query in the merchant's
/// transaction. `calendar` is the merchant's, as the range was made with.
pub async fn report(
    tx: &mut Tx,
    merchant: MerchantId,
    calendar: &MerchantCalendar,
    range: DayRange,
) -> Result<StepsReport, sqlx::Error> {
    let plan = merchants::settings(tx, merchant).await?.follow_up_plan;
    let counted: Vec<StepFigures> = sqlx::query_as(
        "WITH bounds AS (
             SELECT $2::date::timestamp AT TIME ZONE mer.timezone AS range_start,
                    ($3::date + 1)::timestamp AT TIME ZONE mer.timezone AS range_end
             FROM merchants mer WHERE mer.id = $1
         ), sent AS (
             SELECT m.customer_id, m.sent_at, m.delivered_at, m.status, t.step
             FROM messages m CROSS JOIN bounds b
             LEFT JOIN scheduled_tasks t ON t.id = m.scheduled_task_id
             WHERE m.merchant_id = $1 AND m.direction = 'outbound' AND m.proactive AND m.sent_at IS NOT NULL
               AND m.sent_at >= b.range_start AND m.sent_at < b.range_end
         )
         SELECT s.step, count(*) AS sent,
                count(*) FILTER (WHERE s.delivered_at IS NOT NULL OR s.status IN ('delivered', 'read')) AS delivered,
                count(*) FILTER (WHERE s.status = 'read') AS read,
                count(*) FILTER (WHERE EXISTS (
                    SELECT 1 FROM messages answer
                    WHERE answer.customer_id = s.customer_id AND answer.direction = 'inbound'
                      AND answer.status_at > s.sent_at AND answer.status_at <= s.sent_at + interval '24 hours'
                )) AS replied,
                count(*) FILTER (WHERE EXISTS (
                    SELECT 1 FROM audit_log l
                    WHERE l.subject_type = 'customer' AND l.subject_id = s.customer_id::text
                      AND l.merchant_id = $1 AND l.action = 'customer.consent_changed'
                      AND l.after->>'whatsapp_consent' = 'revoked'
                      AND l.created_at > s.sent_at AND l.created_at <= s.sent_at + interval '24 hours'
                )) AS opt_outs,
                count(*) FILTER (WHERE EXISTS (
                    SELECT 1 FROM conversations c
                    JOIN audit_log l ON l.subject_type = 'conversation' AND l.subject_id = c.id::text
                    WHERE c.customer_id = s.customer_id
                      AND l.merchant_id = $1 AND l.action = 'conversation.handed_over'
                      AND l.created_at > s.sent_at AND l.created_at <= s.sent_at + interval '24 hours'
                )) AS hand_overs
         FROM sent s
         GROUP BY s.step
         ORDER BY s.step NULLS LAST",
    )
    .bind(merchant)
    .bind(range.from())
    .bind(range.to())
    .fetch_all(&mut **tx)
    .await?;
    let mut steps: Vec<StepFigures> =
        plan.iter().map(|step| StepFigures::zero(step.key.clone(), step.offset_hours)).collect();
    for figures in counted {
        match steps.iter_mut().find(|planned| figures.step.is_some() && planned.step == figures.step) {
            Some(planned) => *planned = StepFigures { offset_hours: planned.offset_hours, ..figures },
            None => steps.push(figures),
        }
    }
    Ok(StepsReport {
        from: range.from(),
        to: range.to(),
        timezone: calendar.timezone.clone(),
        steps,
        generated_at: Utc::now(),
    })
}

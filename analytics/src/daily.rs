//! The rollup's figures for a range of days, every day present (zeros included), and how fresh
//! they are. [`super::rollup`] says what each figure counts.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

use super::range::{DayRange, MerchantCalendar};
use super::rollup::JOB;
use recete_platform::db::Tx;
use recete_platform::ids::MerchantId;
use recete_shared::periodic;

/// The counts of one day, or of a whole range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, FromRow, ToSchema)]
pub struct AnalyticsFigures {
    /// Outbound messages (follow-ups and replies) whose send was confirmed that day.
    pub messages_sent: i64,
    /// Of those, the messages that have since reached the phone (read ones included).
    pub messages_delivered: i64,
    /// Of those, the messages the customer has since read.
    pub messages_read: i64,
    /// Outbound messages that failed for good that day.
    pub messages_failed: i64,
    /// Follow-ups among the messages sent.
    pub follow_ups_sent: i64,
    /// Of those follow-ups, the ones the customer answered (any message) within 24 hours.
    pub replied: i64,
    /// Messages customers wrote.
    pub inbound_messages: i64,
    /// Customers who revoked WhatsApp consent: a STOP, the "Stop promotions" button, marketing
    /// stopped in WhatsApp's settings or refused by Meta (131050), or through the store.
    pub opt_outs: i64,
    /// Conversations handed to a person.
    pub hand_overs: i64,
    pub orders_delivered: i64,
    /// Follow-ups planned (after deliveries), whatever became of them.
    pub follow_ups_planned: i64,
}

impl AnalyticsFigures {
    fn add(&mut self, other: &Self) {
        self.messages_sent += other.messages_sent;
        self.messages_delivered += other.messages_delivered;
        self.messages_read += other.messages_read;
        self.messages_failed += other.messages_failed;
        self.follow_ups_sent += other.follow_ups_sent;
        self.replied += other.replied;
        self.inbound_messages += other.inbound_messages;
        self.opt_outs += other.opt_outs;
        self.hand_overs += other.hand_overs;
        self.orders_delivered += other.orders_delivered;
        self.follow_ups_planned += other.follow_ups_planned;
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AnalyticsDay {
    pub day: NaiveDate,
    #[serde(flatten)]
    pub figures: AnalyticsFigures,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AnalyticsSummary {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The merchant's IANA time zone, in which the days are counted.
    pub timezone: String,
    pub totals: AnalyticsFigures,
    /// Every day from `from` to `to`, oldest first; days with nothing to count hold zeros.
    pub days: Vec<AnalyticsDay>,
    pub generated_at: DateTime<Utc>,
    /// The figures include what was recorded before this time (the start of the last rollup,
    /// which runs every few minutes); absent before the first rollup.
    pub fresh_as_of: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct StoredDay {
    day: NaiveDate,
    #[sqlx(flatten)]
    figures: AnalyticsFigures,
}

/// The stored figures of every day in `range` and their totals, read in the merchant's
/// transaction. `calendar` is the merchant's, as the range was made with.
pub async fn summary(
    tx: &mut Tx,
    merchant: MerchantId,
    calendar: &MerchantCalendar,
    range: DayRange,
) -> Result<AnalyticsSummary, sqlx::Error> {
    let stored: Vec<StoredDay> = sqlx::query_as(
        "SELECT day, messages_sent, messages_delivered, messages_read, messages_failed, follow_ups_sent, replied,
                inbound_messages, opt_outs, hand_overs, orders_delivered, follow_ups_planned
         FROM analytics_daily
         WHERE merchant_id = $1 AND day BETWEEN $2 AND $3
         ORDER BY day",
    )
    .bind(merchant)
    .bind(range.from())
    .bind(range.to())
    .fetch_all(&mut **tx)
    .await?;
    let last_rollup = periodic::last_success(&mut **tx, JOB.name).await?;

    let mut stored = stored.into_iter().peekable();
    let mut totals = AnalyticsFigures::default();
    let mut days = Vec::with_capacity(range.len());
    for day in range.days() {
        let figures = match stored.next_if(|row| row.day == day) {
            Some(row) => row.figures,
            None => AnalyticsFigures::default(),
        };
        totals.add(&figures);
        days.push(AnalyticsDay { day, figures });
    }
    Ok(AnalyticsSummary {
        from: range.from(),
        to: range.to(),
        timezone: calendar.timezone.clone(),
        totals,
        days,
        generated_at: Utc::now(),
        fresh_as_of: last_rollup.map(|last| last.started_at),
    })
}

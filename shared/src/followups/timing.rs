//! When a due message may go out: a pure function of the task, the customer, the merchant's
//! rules and the clock, so every rule is tested with a clock the test controls.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::plan::{FrequencyCap, QuietHours};
use crate::orders::OrderStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    Granted,
    Revoked,
    Unknown,
}

impl Consent {
    pub fn from_column(value: &str) -> Self {
        match value {
            "granted" => Self::Granted,
            "revoked" => Self::Revoked,
            _ => Self::Unknown,
        }
    }
}

pub struct TimingInput<'a> {
    pub now: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// Follow-ups are proactive; replies inside a conversation are exempt from quiet hours and
    /// the frequency cap (and from consent, so an opt-out can be confirmed).
    pub proactive: bool,
    pub order_status: Option<OrderStatus>,
    pub consent: Consent,
    pub customer_zone: Tz,
    pub quiet_hours: QuietHours,
    pub cap: FrequencyCap,
    /// When this customer's earlier proactive messages went out (any order).
    pub recent_proactive_sends: &'a [DateTime<Utc>],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    SendNow,
    Defer { until: DateTime<Utc>, reason: String },
    Cancel { reason: String },
}

pub fn decide(input: &TimingInput<'_>) -> Decision {
    if !input.proactive {
        return Decision::SendNow;
    }
    match input.order_status {
        Some(OrderStatus::Cancelled) => return Decision::Cancel { reason: "order cancelled".into() },
        Some(OrderStatus::Refunded) => return Decision::Cancel { reason: "order refunded".into() },
        _ => {}
    }
    match input.consent {
        Consent::Revoked => return Decision::Cancel { reason: "customer opted out of WhatsApp messages".into() },
        Consent::Unknown => return Decision::Cancel { reason: "no WhatsApp consent on record".into() },
        Consent::Granted => {}
    }
    if input.now < input.due_at {
        return Decision::Defer { until: input.due_at, reason: "not due yet".into() };
    }
    let mut at = input.now;
    let mut reasons: Vec<String> = Vec::new();
    // Each rule can push the time into the other's range; a few rounds always settle it.
    for _ in 0..4 {
        let mut moved = false;
        if let Some(free_at) = cap_frees_at(at, input.cap, input.recent_proactive_sends) {
            at = free_at;
            moved = true;
            push_once(
                &mut reasons,
                format!("frequency cap of {} per {} h", input.cap.max_messages, input.cap.per_hours),
            );
        }
        if in_quiet_hours(at, input.customer_zone, input.quiet_hours) {
            at = quiet_hours_end_after(at, input.customer_zone, input.quiet_hours);
            moved = true;
            push_once(
                &mut reasons,
                format!("quiet hours until {} {}", input.quiet_hours.end.format("%H:%M"), input.customer_zone.name()),
            );
        }
        if !moved {
            break;
        }
    }
    if at <= input.now { Decision::SendNow } else { Decision::Defer { until: at, reason: reasons.join("; ") } }
}

fn push_once(reasons: &mut Vec<String>, reason: String) {
    if !reasons.contains(&reason) {
        reasons.push(reason);
    }
}

/// When the cap allows another message, if it does not allow one at `at`.
fn cap_frees_at(at: DateTime<Utc>, cap: FrequencyCap, sends: &[DateTime<Utc>]) -> Option<DateTime<Utc>> {
    if cap.max_messages == 0 {
        return None;
    }
    let window = Duration::hours(i64::from(cap.per_hours));
    let mut inside: Vec<DateTime<Utc>> =
        sends.iter().copied().filter(|sent| *sent > at - window && *sent <= at).collect();
    if inside.len() < cap.max_messages as usize {
        return None;
    }
    inside.sort_unstable_by(|a, b| b.cmp(a));
    // The cap frees up when the max-th most recent send leaves the window.
    Some(inside[cap.max_messages as usize - 1] + window)
}

pub fn in_quiet_hours(at: DateTime<Utc>, zone: Tz, quiet: QuietHours) -> bool {
    let local = at.with_timezone(&zone).time();
    if quiet.start == quiet.end {
        false
    } else if quiet.start > quiet.end {
        local >= quiet.start || local < quiet.end
    } else {
        local >= quiet.start && local < quiet.end
    }
}

/// The first moment after `at` at which quiet hours end, in `zone`, across daylight-saving
/// changes: a local end time that does not exist that day (a spring-forward gap) moves to the
/// first minute that does; one that exists twice takes the earlier.
pub fn quiet_hours_end_after(at: DateTime<Utc>, zone: Tz, quiet: QuietHours) -> DateTime<Utc> {
    let local_date = at.with_timezone(&zone).date_naive();
    for day_offset in 0..3 {
        let date = local_date + Duration::days(day_offset);
        if let Some(candidate) = resolve_local(zone, date.and_time(quiet.end))
            && candidate > at
        {
            return candidate;
        }
    }
    at + Duration::hours(24)
}

fn resolve_local(zone: Tz, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    let mut probe = naive;
    // A gap is at most a few hours; step forward a minute at a time until local time exists.
    for _ in 0..(3 * 60) {
        if let Some(resolved) = zone.from_local_datetime(&probe).earliest() {
            return Some(resolved.with_timezone(&Utc));
        }
        probe += Duration::minutes(1);
    }
    None
}

/// A local wall-clock time in `zone` as UTC (test and planning helper).
pub fn local(zone: Tz, date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    resolve_local(zone, date.and_hms_opt(hour, minute, 0).expect("valid time")).expect("resolvable")
}

#[cfg(test)]
mod tests {
    use chrono::NaiveTime;
    use chrono_tz::America::New_York;
    use chrono_tz::Europe::Istanbul;

    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn input(now: DateTime<Utc>, zone: Tz) -> TimingInput<'static> {
        TimingInput {
            now,
            due_at: now - Duration::minutes(1),
            proactive: true,
            order_status: Some(OrderStatus::Delivered),
            consent: Consent::Granted,
            customer_zone: zone,
            quiet_hours: QuietHours::default(),
            cap: FrequencyCap::default(),
            recent_proactive_sends: &[],
        }
    }

    #[test]
    fn a_message_due_in_the_afternoon_goes_now() {
        let now = local(Istanbul, day(2026, 11, 26), 15, 0);
        assert_eq!(decide(&input(now, Istanbul)), Decision::SendNow);
    }

    #[test]
    fn a_message_due_at_night_waits_for_the_morning_in_the_customers_zone() {
        let now = local(Istanbul, day(2026, 11, 26), 22, 30);
        let Decision::Defer { until, reason } = decide(&input(now, Istanbul)) else { panic!("deferred") };
        assert_eq!(until, local(Istanbul, day(2026, 11, 27), 9, 0));
        assert!(reason.contains("quiet hours until 09:00 Europe/Istanbul"), "{reason}");
        // 15:00 in Istanbul is 07:00 in New York: quiet for a customer there.
        let Decision::Defer { until, .. } = decide(&input(now - Duration::hours(7) - Duration::minutes(30), New_York))
        else {
            panic!("deferred in New York")
        };
        assert_eq!(until, local(New_York, day(2026, 11, 26), 9, 0));
    }

    #[test]
    fn quiet_hours_end_correctly_across_daylight_saving_changes() {
        // New York springs forward on 2026-03-08 (02:00 → 03:00) and falls back on 2026-11-01.
        let early = QuietHours {
            start: NaiveTime::from_hms_opt(22, 0, 0).expect("t"),
            end: NaiveTime::from_hms_opt(2, 30, 0).expect("t"),
        };
        let before_gap = local(New_York, day(2026, 3, 7), 23, 0);
        let end = quiet_hours_end_after(before_gap, New_York, early);
        assert_eq!(end.with_timezone(&New_York).format("%Y-%m-%d %H:%M %Z").to_string(), "2026-03-08 03:00 EDT");

        let morning = QuietHours::default();
        let night = local(New_York, day(2026, 3, 7), 23, 0);
        let Decision::Defer { until, .. } = decide(&input(night, New_York)) else { panic!("deferred") };
        assert_eq!(until.with_timezone(&New_York).format("%Y-%m-%d %H:%M %Z").to_string(), "2026-03-08 09:00 EDT");
        assert_eq!(until - night, Duration::hours(9), "one hour of that night does not exist");

        let fall_back = QuietHours {
            start: NaiveTime::from_hms_opt(23, 0, 0).expect("t"),
            end: NaiveTime::from_hms_opt(1, 30, 0).expect("t"),
        };
        let end = quiet_hours_end_after(local(New_York, day(2026, 10, 31), 23, 30), New_York, fall_back);
        assert_eq!(end.with_timezone(&New_York).format("%Y-%m-%d %H:%M %Z").to_string(), "2026-11-01 01:30 EDT");
        assert!(!in_quiet_hours(local(New_York, day(2026, 11, 1), 12, 0), New_York, morning));
    }

    #[test]
    fn the_frequency_cap_defers_and_can_push_into_quiet_hours() {
        let now = local(Istanbul, day(2026, 11, 26), 15, 0);
        let earlier = [now - Duration::hours(3)];
        let mut capped = input(now, Istanbul);
        capped.recent_proactive_sends = &earlier;
        // Free again at 12:00 the next day, which is not quiet.
        let Decision::Defer { until, reason } = decide(&capped) else { panic!("deferred") };
        assert_eq!(until, now + Duration::hours(21));
        assert!(reason.contains("frequency cap"), "{reason}");

        // Sent at 23:30 yesterday (a reply, say, would not count, but a follow-up does): free at
        // 23:30 today, which is quiet, so 09:00 tomorrow.
        let late = [local(Istanbul, day(2026, 11, 25), 23, 30)];
        capped.recent_proactive_sends = &late;
        let Decision::Defer { until, reason } = decide(&capped) else { panic!("deferred") };
        assert_eq!(until, local(Istanbul, day(2026, 11, 27), 9, 0));
        assert!(reason.contains("frequency cap") && reason.contains("quiet hours"), "{reason}");
    }

    #[test]
    fn cancellations_and_exemptions() {
        let now = local(Istanbul, day(2026, 11, 26), 23, 0);
        let mut case = input(now, Istanbul);
        case.order_status = Some(OrderStatus::Refunded);
        assert_eq!(decide(&case), Decision::Cancel { reason: "order refunded".into() });
        case.order_status = Some(OrderStatus::Delivered);
        case.consent = Consent::Revoked;
        assert!(matches!(decide(&case), Decision::Cancel { .. }));
        case.consent = Consent::Unknown;
        assert!(matches!(decide(&case), Decision::Cancel { .. }));
        // A reply at 23:00 to a customer who just wrote STOP still goes out at once.
        case.proactive = false;
        assert_eq!(decide(&case), Decision::SendNow);
        let mut early = input(now, Istanbul);
        early.due_at = now + Duration::hours(1);
        assert_eq!(decide(&early), Decision::Defer { until: now + Duration::hours(1), reason: "not due yet".into() });
    }
}

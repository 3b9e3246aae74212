use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::events::EventKind;

/// Where an order is. `Created → Paid → Fulfilled → Delivered` only moves forward; `Cancelled`
/// and `Refunded` end the happy path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum OrderStatus {
    Created,
    Paid,
    Fulfilled,
    Delivered,
    Cancelled,
    Refunded,
}

impl OrderStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Paid => "paid",
            Self::Fulfilled => "fulfilled",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
            Self::Refunded => "refunded",
        }
    }

    /// The status an event moves an order towards; `None` for events that carry data only.
    pub fn target_of(kind: EventKind) -> Option<Self> {
        match kind {
            EventKind::OrderCreated => Some(Self::Created),
            EventKind::OrderPaid => Some(Self::Paid),
            EventKind::OrderFulfilled => Some(Self::Fulfilled),
            EventKind::OrderDelivered => Some(Self::Delivered),
            EventKind::OrderCancelled => Some(Self::Cancelled),
            EventKind::OrderRefunded => Some(Self::Refunded),
            EventKind::OrderUpdated
            | EventKind::MessageInbound
            | EventKind::MessageStatus
            | EventKind::MarketingPreference
            | EventKind::PrivacyDataRequest
            | EventKind::PrivacyCustomerRedact
            | EventKind::PrivacyShopRedact => None,
        }
    }

    fn progress(&self) -> Option<u8> {
        match self {
            Self::Created => Some(0),
            Self::Paid => Some(1),
            Self::Fulfilled => Some(2),
            Self::Delivered => Some(3),
            Self::Cancelled | Self::Refunded => None,
        }
    }

    /// The status after an event targeting `target`, or `None` when the order stays as it is.
    ///
    /// `is_newer` says whether the event's platform time is after the newest change already
    /// applied. Progress never goes backwards, whatever the timestamps say (a retried `paid`
    /// after `delivered` changes nothing); leaving `Cancelled` (a restored order) or cancelling
    /// a delivered order needs a newer event; `Refunded` is final.
    pub fn next(self, target: Self, is_newer: bool) -> Option<Self> {
        if self == target || self == Self::Refunded {
            return None;
        }
        match (self, target) {
            (_, Self::Refunded) => Some(Self::Refunded),
            (Self::Delivered, Self::Cancelled) => is_newer.then_some(Self::Cancelled),
            (_, Self::Cancelled) => Some(Self::Cancelled),
            (Self::Cancelled, _) => is_newer.then_some(target),
            (current, target) => match (current.progress(), target.progress()) {
                (Some(from), Some(to)) if to > from => Some(target),
                _ => None,
            },
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "created" => Ok(Self::Created),
            "paid" => Ok(Self::Paid),
            "fulfilled" => Ok(Self::Fulfilled),
            "delivered" => Ok(Self::Delivered),
            "cancelled" => Ok(Self::Cancelled),
            "refunded" => Ok(Self::Refunded),
            other => Err(format!("unknown order status `{other}`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::{self, *};

    #[test]
    fn transitions_follow_the_rules() {
        let cases: &[(OrderStatus, OrderStatus, bool, Option<OrderStatus>)] = &[
            (Created, Paid, true, Some(Paid)),
            (Created, Delivered, false, Some(Delivered)),
            (Paid, Fulfilled, false, Some(Fulfilled)),
            (Delivered, Paid, true, None),
            (Fulfilled, Created, true, None),
            (Delivered, Delivered, true, None),
            (Paid, Cancelled, false, Some(Cancelled)),
            (Delivered, Cancelled, false, None),
            (Delivered, Cancelled, true, Some(Cancelled)),
            (Cancelled, Paid, false, None),
            (Cancelled, Paid, true, Some(Paid)),
            (Delivered, Refunded, false, Some(Refunded)),
            (Cancelled, Refunded, false, Some(Refunded)),
            (Refunded, Delivered, true, None),
            (Refunded, Cancelled, true, None),
        ];
        for &(current, target, newer, expected) in cases {
            assert_eq!(current.next(target, newer), expected, "{current} -> {target} (newer: {newer})");
        }
    }
}

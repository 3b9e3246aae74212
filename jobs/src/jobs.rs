//! Queue payloads. They outlive deploys while they wait in Redis, so each is a tagged, versioned
//! type: a new shape is added as `V2` beside `V1`, never by changing `V1`.

use std::fmt;

use serde::{Deserialize, Serialize};

use recete_platform::ids::{EventId, TaskId};

/// "Work on this `external_events` row."
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum EventJob {
    #[serde(rename = "1")]
    V1 { event_id: EventId },
}

impl EventJob {
    pub fn event_id(&self) -> EventId {
        match self {
            Self::V1 { event_id } => *event_id,
        }
    }
}

/// "Work on this `scheduled_tasks` row."
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum TaskJob {
    #[serde(rename = "1")]
    V1 { task_id: TaskId },
}

impl TaskJob {
    pub fn task_id(&self) -> TaskId {
        match self {
            Self::V1 { task_id } => *task_id,
        }
    }
}

/// A queue: one apalis-redis namespace under the deployment's key prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueName {
    /// Commerce events becoming customers and orders.
    OrderEvents,
    /// WhatsApp messages and statuses from Meta.
    WhatsAppEvents,
    /// Scheduled messages (follow-ups and replies) going out.
    Messages,
    /// Product pages scraped and product knowledge embedded.
    Knowledge,
    /// Customers' questions answered by the agent.
    Conversations,
    /// Uploaded CSV files read into orders and products.
    Imports,
    /// Events delivered to merchants' webhook endpoints.
    Webhooks,
}

impl QueueName {
    pub const ALL: &'static [QueueName] = &[
        QueueName::OrderEvents,
        QueueName::WhatsAppEvents,
        QueueName::Messages,
        QueueName::Knowledge,
        QueueName::Conversations,
        QueueName::Imports,
        QueueName::Webhooks,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::OrderEvents => "order-events",
            Self::WhatsAppEvents => "whatsapp-events",
            Self::Messages => "messages",
            Self::Knowledge => "knowledge",
            Self::Conversations => "conversations",
            Self::Imports => "imports",
            Self::Webhooks => "webhooks",
        }
    }

    /// The rows this queue works on: `external_events.source` values, or `scheduled_tasks.kind`.
    pub fn feeds_on(&self) -> &'static [&'static str] {
        match self {
            Self::OrderEvents => &["shopify", "woocommerce", "generic", "csv"],
            Self::WhatsAppEvents => &["whatsapp"],
            Self::Messages => &["follow_up", "reply"],
            Self::Knowledge => &[recete_shared::tasks::SCRAPE, recete_shared::tasks::EMBED],
            Self::Conversations => &[recete_shared::tasks::ANSWER],
            Self::Imports => &[recete_shared::tasks::IMPORT],
            Self::Webhooks => &[recete_shared::tasks::WEBHOOK],
        }
    }
}

impl fmt::Display for QueueName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_keep_their_wire_shape() {
        let id: EventId = "01a207ed-8965-7693-8efc-a111fff1b398".parse().expect("uuid");
        let json = serde_json::to_string(&EventJob::V1 { event_id: id }).expect("serializes");
        assert_eq!(json, r#"{"v":"1","event_id":"01a207ed-8965-7693-8efc-a111fff1b398"}"#);
        let back: EventJob = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back.event_id(), id);
    }
}

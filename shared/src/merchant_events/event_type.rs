//! The kinds of event a merchant's endpoints subscribe to, by the names the webhooks carry.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The kinds of event a merchant can subscribe an endpoint to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    /// The agent could not answer and handed the conversation to a person.
    #[serde(rename = "conversation.handed_over")]
    ConversationHandedOver,
    /// The customer wrote while the conversation is with a person.
    #[serde(rename = "conversation.message_received")]
    ConversationMessageReceived,
    /// The customer withdrew consent to WhatsApp messages (STOP, a button, Meta, the store).
    #[serde(rename = "customer.opted_out")]
    CustomerOptedOut,
    /// Meta refused or failed a message for good, or every attempt to send it failed.
    #[serde(rename = "message.failed")]
    MessageFailed,
    /// An uploaded CSV file was read to its end, or could not be.
    #[serde(rename = "import.completed")]
    ImportCompleted,
    /// A data export or erasure finished.
    #[serde(rename = "privacy_request.completed")]
    PrivacyRequestCompleted,
}

impl EventType {
    pub const ALL: &'static [EventType] = &[
        EventType::ConversationHandedOver,
        EventType::ConversationMessageReceived,
        EventType::CustomerOptedOut,
        EventType::MessageFailed,
        EventType::ImportCompleted,
        EventType::PrivacyRequestCompleted,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ConversationHandedOver => "conversation.handed_over",
            Self::ConversationMessageReceived => "conversation.message_received",
            Self::CustomerOptedOut => "customer.opted_out",
            Self::MessageFailed => "message.failed",
            Self::ImportCompleted => "import.completed",
            Self::PrivacyRequestCompleted => "privacy_request.completed",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.iter().find(|kind| kind.as_str() == s).copied().ok_or_else(|| {
            format!(
                "unknown event type `{s}`; known types: {}",
                Self::ALL.iter().map(EventType::as_str).collect::<Vec<_>>().join(", ")
            )
        })
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for EventType {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
        Ok(text.parse()?)
    }
}

impl sqlx::Type<sqlx::Postgres> for EventType {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <&str as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

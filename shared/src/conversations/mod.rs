//! WhatsApp conversations and their messages as the merchant sees and acts on them: the list, a
//! conversation's thread, handing a conversation back to the agent or taking it over from it, and
//! a person's reply.
//!
//! The agent answers a conversation while it is `open`; once `handed_over` (by the agent, when it
//! cannot answer, or by the merchant taking it over) it stays silent until the merchant resolves
//! it. A merchant's reply goes out through the same `scheduled_tasks` row and messages pool as
//! every other reply, so exactly-once sending, the per-number rate limit, statuses and error
//! classes are the ones follow-ups have.
//!
//! # Layout
//! - [`store`]: the `conversations` rows: list, find, resolve, take over.
//! - [`inbox`]: the console's inbox: handed-over conversations first, with their customers.
//! - [`thread`]: a conversation's messages, opened, with who wrote each.
//! - [`replies`]: a merchant's text or template reply, checked against the 24-hour window.

pub mod inbox;
pub mod replies;
pub mod store;
pub mod thread;

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use store::{ConversationState, ConversationSummary};

/// Why a conversation could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    /// Unknown to this merchant (another merchant's id looks the same).
    #[error("no conversation {0}")]
    NotFound(Uuid),
    /// The conversation is not in a state that allows the change; the text says which.
    #[error("{0}")]
    Conflict(String),
    /// A free-form text outside the customer's 24-hour service window.
    #[error("{}", window_closed_detail(*.closed_at))]
    WindowClosed { closed_at: Option<DateTime<Utc>> },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Body(#[from] crate::message_bodies::BodyError),
}

fn window_closed_detail(closed_at: Option<DateTime<Utc>>) -> String {
    let when = match closed_at {
        Some(at) => format!("closed at {}", at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        None => "never opened (the customer has not written)".to_owned(),
    };
    format!(
        "the customer's 24-hour window {when}; only an approved template can be sent now: \
         send `{{\"template\": {{\"name\", \"language\", \"parameters\"}}}}` instead of `text`"
    )
}

/// Who wrote a message, as stored in `messages.author`.
pub mod author {
    pub const CUSTOMER: &str = "customer";
    pub const AGENT: &str = "agent";
    pub const SYSTEM: &str = "system";

    /// A person replying with an API key: `merchant:<key id>`.
    pub fn merchant(api_key_id: impl std::fmt::Display) -> String {
        format!("merchant:{api_key_id}")
    }

    /// A person replying in the console: `user:<console user id>`.
    pub fn user(user_id: impl std::fmt::Display) -> String {
        format!("user:{user_id}")
    }

    /// The console user behind an author written by [`user`].
    pub fn user_id(author: &str) -> Option<uuid::Uuid> {
        author.strip_prefix("user:").and_then(|id| uuid::Uuid::parse_str(id).ok())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_closed_window_names_when_and_what_to_send() {
        let at = Utc.with_ymd_and_hms(2026, 12, 6, 9, 30, 0).single().expect("valid time");
        let detail = ConversationError::WindowClosed { closed_at: Some(at) }.to_string();
        assert!(detail.contains("closed at 2026-12-06T09:30:00Z"), "{detail}");
        assert!(detail.contains("template"), "{detail}");
        let never = ConversationError::WindowClosed { closed_at: None }.to_string();
        assert!(never.contains("never opened"), "{never}");
    }
}

//! Sending WhatsApp messages: the Cloud API client, the local outbox that stands in for it when
//! no credentials are configured, error classification and throughput limits.
//!
//! # Layout
//! - [`client`]: the Graph API client (`POST /{version}/{phone_number_id}/messages`).
//! - [`errors`]: which failures to retry and which end a message, with a human reason.
//! - [`limits`]: per phone number and per customer throughput, shared by all workers in Redis.

pub mod client;
pub mod errors;
pub mod limits;

use serde::Serialize;

pub use client::CloudClient;
pub use errors::SendError;

/// What to send, already decided and rendered.
#[derive(Debug, Clone, Serialize)]
pub struct OutgoingMessage {
    /// Meta's id of the sending business number.
    pub phone_number_id: String,
    /// The recipient's WhatsApp id (E.164 without `+`).
    pub to: String,
    /// Our message id, echoed back in status webhooks as `biz_opaque_callback_data`.
    pub callback_data: String,
    pub content: Content,
}

#[derive(Debug, Clone, Serialize)]
pub enum Content {
    Text { body: String },
    Template { name: String, language: String, parameters: Vec<String> },
}

/// Where messages go: Meta's Cloud API, or the local outbox (stored and logged as sent) so the
/// whole flow runs on a machine with no account.
#[derive(Clone)]
pub enum Sender {
    Cloud(CloudClient),
    Outbox,
}

impl Sender {
    pub fn from_settings(settings: &recete_platform::config::WhatsAppSettings) -> Result<Self, reqwest::Error> {
        use secrecy::ExposeSecret;
        if settings.access_token.expose_secret().is_empty() {
            Ok(Self::Outbox)
        } else {
            Ok(Self::Cloud(CloudClient::new(settings)?))
        }
    }

    /// Sends and returns Meta's message id (an `outbox-…` id for the outbox).
    pub async fn send(&self, message: &OutgoingMessage) -> Result<String, SendError> {
        match self {
            Self::Cloud(client) => client.send(message).await,
            Self::Outbox => {
                let id = format!("outbox-{}", uuid::Uuid::now_v7());
                let kind = match &message.content {
                    Content::Text { .. } => "text",
                    Content::Template { .. } => "template",
                };
                // The recipient and body are personal data: the outbox logs only ids.
                tracing::info!(message_id = %message.callback_data, wa_message_id = %id, kind, "message sent to the local outbox");
                Ok(id)
            }
        }
    }

    pub fn is_outbox(&self) -> bool {
        matches!(self, Self::Outbox)
    }
}

//! The WhatsApp Cloud API client. Every request has a timeout; a timeout after the request was
//! sent is reported as ambiguous, never as a plain failure, so the caller does not resend blindly.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::errors::{SendError, classify};
use super::{Content, OutgoingMessage};
use recete_platform::config::WhatsAppSettings;

#[derive(Clone)]
pub struct CloudClient {
    http: reqwest::Client,
    base_url: String,
    api_version: String,
    access_token: SecretString,
}

#[derive(Deserialize)]
struct Accepted {
    messages: Vec<AcceptedMessage>,
}

#[derive(Deserialize)]
struct AcceptedMessage {
    id: String,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    code: Option<i64>,
    message: Option<String>,
    error_data: Option<ErrorData>,
}

#[derive(Deserialize)]
struct ErrorData {
    details: Option<String>,
}

impl CloudClient {
    pub fn new(settings: &WhatsAppSettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
            .timeout(Duration::from_millis(settings.request_timeout_ms))
            .build()?;
        Ok(Self {
            http,
            base_url: settings.graph_base_url.trim_end_matches('/').to_owned(),
            api_version: settings.api_version.clone(),
            access_token: settings.access_token.clone(),
        })
    }

    /// The request body Meta documents for a text or template message.
    pub fn body(message: &OutgoingMessage) -> Value {
        let mut body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": message.to,
            "biz_opaque_callback_data": message.callback_data,
        });
        match &message.content {
            Content::Text { body: text } => {
                body["type"] = "text".into();
                body["text"] = json!({ "preview_url": false, "body": text });
            }
            Content::Template { name, language, parameters } => {
                let mut template = json!({ "name": name, "language": { "code": language } });
                if !parameters.is_empty() {
                    let parameters: Vec<Value> =
                        parameters.iter().map(|text| json!({ "type": "text", "text": text })).collect();
                    template["components"] = json!([{ "type": "body", "parameters": parameters }]);
                }
                body["type"] = "template".into();
                body["template"] = template;
            }
        }
        body
    }

    pub async fn send(&self, message: &OutgoingMessage) -> Result<String, SendError> {
        let url = format!("{}/{}/{}/messages", self.base_url, self.api_version, message.phone_number_id);
        let response = self
            .http
            .post(&url)
            .bearer_auth(self.access_token.expose_secret())
            .json(&Self::body(message))
            .send()
            .await
            .map_err(|error| {
                if error.is_connect() {
                    SendError::Retryable { code: "connect".into(), reason: "could not connect to the Cloud API".into() }
                } else if error.is_timeout() {
                    SendError::Ambiguous("the Cloud API did not answer in time".into())
                } else {
                    SendError::Ambiguous(format!("the request failed midway: {error}"))
                }
            })?;
        let status = response.status().as_u16();
        let text =
            response.text().await.map_err(|_| SendError::Ambiguous("the Cloud API's answer was cut off".into()))?;
        if (200..300).contains(&status) {
            let accepted: Accepted = serde_json::from_str(&text)
                .map_err(|_| SendError::Ambiguous(format!("unexpected success body from the Cloud API ({status})")))?;
            return accepted
                .messages
                .into_iter()
                .next()
                .map(|m| m.id)
                .ok_or_else(|| SendError::Ambiguous("the Cloud API accepted without a message id".into()));
        }
        let error = serde_json::from_str::<ErrorEnvelope>(&text).ok().map(|e| e.error);
        let details =
            error.as_ref().and_then(|e| e.error_data.as_ref().and_then(|d| d.details.clone()).or(e.message.clone()));
        Err(classify(status, error.and_then(|e| e.code), details.as_deref()))
    }
}

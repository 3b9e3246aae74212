//! WhatsApp Business Cloud API webhooks: `field: "messages"` (messages and statuses) and
//! `field: "user_preferences"` (a customer stopping or resuming marketing messages in WhatsApp's
//! own settings). Other fields (`message_template_status_update`...) carry nothing about a
//! customer and are skipped.
//!
//! One POST can carry several entries and changes, each with messages and statuses; every
//! message, status and preference becomes its own event. Statuses are unique per message and
//! status, because Meta sends `sent`, `delivered` and `read` for one message, in any order.

use std::collections::BTreeSet;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::parse::{non_empty, unix_seconds};
use crate::{
    EventBody, EventKind, EventSource, InboundMessage, MarketingPreference, MessageStatusUpdate, NormalizeError,
    NormalizedEvent, StatusError, from_json,
};

/// Only what routing needs, read before the signature is checked: the phone number ids that
/// tell which integration's app secret signs the body.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    entry: Vec<EnvelopeEntry>,
}

#[derive(Deserialize)]
struct EnvelopeEntry {
    #[serde(default)]
    changes: Vec<EnvelopeChange>,
}

#[derive(Deserialize)]
struct EnvelopeChange {
    #[serde(default)]
    field: String,
    /// Read only for the fields acted on: each field has its own shape.
    #[serde(default)]
    value: serde_json::Value,
}

/// The change fields that become events; routing reads only these, as [`normalize`] does, so a
/// change of another shape (a template status update has no `metadata`) routes nowhere.
const FIELDS_ACTED_ON: [&str; 2] = ["messages", "user_preferences"];

#[derive(Deserialize)]
struct EnvelopeValue {
    metadata: Option<Metadata>,
}

/// The distinct `metadata.phone_number_id`s in a body, in order of first appearance.
pub fn phone_number_ids(body: &[u8]) -> Result<Vec<String>, NormalizeError> {
    let envelope: Envelope = from_json(body)?;
    let mut seen = BTreeSet::new();
    let mut ids = Vec::new();
    for (entry_index, entry) in envelope.entry.into_iter().enumerate() {
        for (change_index, change) in entry.changes.into_iter().enumerate() {
            if !FIELDS_ACTED_ON.contains(&change.field.as_str()) {
                continue;
            }
            let path = format!("entry[{entry_index}].changes[{change_index}].value");
            let value: Option<EnvelopeValue> = read_value(&path, change.value)?;
            if let Some(id) = value.and_then(|value| value.metadata).map(|metadata| metadata.phone_number_id)
                && seen.insert(id.clone())
            {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

#[derive(Deserialize)]
struct Notification {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    field: String,
    /// Read by `field`: each field has its own shape (a template status update has no
    /// `metadata`, for one).
    value: serde_json::Value,
}

#[derive(Deserialize)]
struct Value {
    metadata: Metadata,
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default)]
    messages: Vec<Message>,
    #[serde(default)]
    statuses: Vec<Status>,
}

#[derive(Deserialize)]
struct PreferencesValue {
    metadata: Metadata,
    #[serde(default)]
    user_preferences: Vec<Preference>,
}

#[derive(Deserialize)]
struct Preference {
    wa_id: String,
    category: String,
    value: String,
    detail: Option<String>,
    /// Unix seconds, as a number in Meta's reference (a string is read too).
    timestamp: serde_json::Value,
}

#[derive(Deserialize)]
struct Metadata {
    phone_number_id: String,
}

#[derive(Deserialize)]
struct Contact {
    wa_id: Option<String>,
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    name: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    id: String,
    from: String,
    timestamp: String,
    #[serde(rename = "type")]
    message_type: String,
    text: Option<Text>,
    button: Option<Button>,
    interactive: Option<Interactive>,
    context: Option<Context>,
    image: Option<Media>,
    video: Option<Media>,
    document: Option<Media>,
    location: Option<Location>,
}

/// An image, video or document; audio and stickers carry no words.
#[derive(Deserialize)]
struct Media {
    caption: Option<String>,
    filename: Option<String>,
}

#[derive(Deserialize)]
struct Location {
    name: Option<String>,
    address: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
}

impl Message {
    /// The words beside a media message's media, if any.
    fn caption(&self) -> Option<String> {
        let media = [&self.image, &self.video, &self.document].into_iter().flatten().next();
        if let Some(media) = media {
            return non_empty(media.caption.clone()).or_else(|| non_empty(media.filename.clone()));
        }
        let location = self.location.as_ref()?;
        let named: Vec<String> =
            [&location.name, &location.address].into_iter().filter_map(|part| non_empty(part.clone())).collect();
        if !named.is_empty() {
            return Some(named.join(", "));
        }
        match (location.latitude, location.longitude) {
            (Some(latitude), Some(longitude)) => Some(format!("{latitude}, {longitude}")),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct Text {
    body: String,
}

#[derive(Deserialize)]
struct Button {
    text: Option<String>,
    payload: Option<String>,
}

#[derive(Deserialize)]
struct Interactive {
    button_reply: Option<Reply>,
    list_reply: Option<Reply>,
}

#[derive(Deserialize)]
struct Reply {
    title: Option<String>,
}

#[derive(Deserialize)]
struct Context {
    id: Option<String>,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    status: String,
    timestamp: String,
    recipient_id: Option<String>,
    biz_opaque_callback_data: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorDetail>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: i64,
    title: Option<String>,
    error_data: Option<ErrorData>,
}

#[derive(Deserialize)]
struct ErrorData {
    details: Option<String>,
}

/// Every message and status in the body, each tagged with its change's phone number id.
pub fn normalize(body: &[u8]) -> Result<Vec<NormalizedEvent>, NormalizeError> {
    let notification: Notification = from_json(body)?;
    if notification.object != "whatsapp_business_account" {
        return Err(NormalizeError::invalid(
            "object",
            format!("expected `whatsapp_business_account`, got `{}`", notification.object),
        ));
    }
    let mut events = Vec::new();
    for (entry_index, entry) in notification.entry.into_iter().enumerate() {
        for (change_index, change) in entry.changes.into_iter().enumerate() {
            let path = format!("entry[{entry_index}].changes[{change_index}].value");
            match change.field.as_str() {
                "messages" => collect_change(&path, read_value(&path, change.value)?, &mut events)?,
                "user_preferences" => collect_preferences(&path, read_value(&path, change.value)?, &mut events)?,
                _ => {}
            }
        }
    }
    Ok(events)
}

fn read_value<T: serde::de::DeserializeOwned>(path: &str, value: serde_json::Value) -> Result<T, NormalizeError> {
    serde_json::from_value(value).map_err(|error| NormalizeError::invalid(path, error.to_string()))
}

fn collect_preferences(
    path: &str,
    value: PreferencesValue,
    events: &mut Vec<NormalizedEvent>,
) -> Result<(), NormalizeError> {
    for (index, preference) in value.user_preferences.into_iter().enumerate() {
        let seconds = match &preference.timestamp {
            serde_json::Value::Number(number) => number.as_i64().map(|n| n.to_string()),
            serde_json::Value::String(text) => Some(text.clone()),
            _ => None,
        };
        let occurred_at = seconds.as_deref().and_then(unix_seconds).ok_or_else(|| {
            NormalizeError::invalid(format!("{path}.user_preferences[{index}].timestamp"), "must be unix seconds")
        })?;
        if preference.wa_id.trim().is_empty() {
            return Err(NormalizeError::invalid(
                format!("{path}.user_preferences[{index}].wa_id"),
                "must not be empty",
            ));
        }
        events.push(NormalizedEvent {
            source: EventSource::WhatsApp,
            kind: EventKind::MarketingPreference,
            topic: format!("user_preferences.{}", preference.value),
            // One customer's change at one moment. Meta gives it no id; the key is a digest, so the
            // customer's number is not written in clear beside the sealed payload.
            dedup_key: format!(
                "preference:{}",
                hex::encode(Sha256::digest(format!(
                    "{}\n{}\n{}\n{}\n{}",
                    value.metadata.phone_number_id,
                    preference.wa_id,
                    preference.category,
                    preference.value,
                    occurred_at.timestamp()
                )))
            ),
            platform_event_id: None,
            occurred_at,
            body: EventBody::MarketingPreference(MarketingPreference {
                phone_number_id: value.metadata.phone_number_id.clone(),
                wa_id: preference.wa_id,
                category: preference.category,
                value: preference.value,
                detail: non_empty(preference.detail),
            }),
        });
    }
    Ok(())
}

fn collect_change(path: &str, value: Value, events: &mut Vec<NormalizedEvent>) -> Result<(), NormalizeError> {
    let phone_number_id = value.metadata.phone_number_id;
    for (index, message) in value.messages.into_iter().enumerate() {
        let occurred_at = unix_seconds(&message.timestamp).ok_or_else(|| {
            NormalizeError::invalid(format!("{path}.messages[{index}].timestamp"), "must be unix seconds")
        })?;
        let profile_name = value
            .contacts
            .iter()
            .find(|c| c.wa_id.as_deref() == Some(message.from.as_str()))
            .or(value.contacts.first())
            .and_then(|c| c.profile.as_ref())
            .and_then(|p| non_empty(p.name.clone()));
        let button_payload = message.button.as_ref().and_then(|b| non_empty(b.payload.clone()));
        let caption = message.caption();
        let text = message
            .text
            .map(|t| t.body)
            .or_else(|| message.button.and_then(|b| non_empty(b.text).or(non_empty(b.payload))))
            .or_else(|| message.interactive.and_then(|i| i.button_reply.or(i.list_reply)).and_then(|r| r.title));
        events.push(NormalizedEvent {
            source: EventSource::WhatsApp,
            kind: EventKind::MessageInbound,
            topic: format!("message.{}", message.message_type),
            dedup_key: format!("message:{}", message.id),
            platform_event_id: Some(message.id.clone()),
            occurred_at,
            body: EventBody::InboundMessage(InboundMessage {
                phone_number_id: phone_number_id.clone(),
                message_id: message.id,
                from: message.from,
                profile_name,
                message_type: message.message_type,
                text,
                button_payload,
                context_message_id: message.context.and_then(|c| c.id),
                caption,
            }),
        });
    }
    for (index, status) in value.statuses.into_iter().enumerate() {
        let occurred_at = unix_seconds(&status.timestamp).ok_or_else(|| {
            NormalizeError::invalid(format!("{path}.statuses[{index}].timestamp"), "must be unix seconds")
        })?;
        events.push(NormalizedEvent {
            source: EventSource::WhatsApp,
            kind: EventKind::MessageStatus,
            topic: format!("status.{}", status.status),
            dedup_key: format!("status:{}:{}", status.id, status.status),
            platform_event_id: Some(status.id.clone()),
            occurred_at,
            body: EventBody::MessageStatus(MessageStatusUpdate {
                phone_number_id: phone_number_id.clone(),
                message_id: status.id,
                recipient_id: status.recipient_id,
                status: status.status,
                callback_data: status.biz_opaque_callback_data,
                errors: status
                    .errors
                    .into_iter()
                    .map(|e| StatusError {
                        code: e.code,
                        title: e.title,
                        details: e.error_data.and_then(|d| d.details),
                    })
                    .collect(),
            }),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_reads_only_the_fields_that_become_events() {
        // A template status update has no metadata; a misspelt field's value is not read at all.
        let body = br#"{"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
            {"field": "message_template_status_update", "value": {"event": "APPROVED", "message_template_id": 1}},
            {"field": "messates", "value": {"metadata": {"phone_numberUid": "x"}}},
            {"field": "messages", "value": {"metadata": {"phone_number_id": "106540352242922"}}}
        ]}]}"#;
        assert_eq!(phone_number_ids(body).expect("routing"), ["106540352242922"]);
        assert!(normalize(body).expect("normalizes").is_empty());
    }

    const INBOUND_AND_STATUS: &str = r#"{
      "object": "whatsapp_business_account",
      "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
          "messaging_product": "whatsapp",
          "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
          "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
          "messages": [{"from": "16505551234", "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                        "timestamp": "1749416383", "type": "text", "text": {"body": "Does it shorten the cycle?"}}],
          "statuses": [{"id": "wamid.OUT1", "status": "failed", "timestamp": "1749416400", "recipient_id": "16505551234",
                        "biz_opaque_callback_data": "msg_42",
                        "errors": [{"code": 131047, "title": "Re-engagement message", "error_data": {"details": "Message failed to send because more than 24 hours have passed"}}]}]
      }}]}]
    }"#;

    #[test]
    fn messages_and_statuses_become_separate_events() {
        assert_eq!(phone_number_ids(INBOUND_AND_STATUS.as_bytes()).expect("ok"), vec!["106540352242922".to_owned()]);
        let events = normalize(INBOUND_AND_STATUS.as_bytes()).expect("valid");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].kind, EventKind::MessageInbound);
        let EventBody::InboundMessage(message) = &events[0].body else { panic!("inbound") };
        assert_eq!(message.text.as_deref(), Some("Does it shorten the cycle?"));
        assert_eq!(message.profile_name.as_deref(), Some("Sheena Nelson"));
        assert_eq!(events[1].dedup_key, "status:wamid.OUT1:failed");
        let EventBody::MessageStatus(status) = &events[1].body else { panic!("status") };
        assert_eq!(status.errors[0].code, 131047);
        assert_eq!(status.callback_data.as_deref(), Some("msg_42"));
    }

    #[test]
    fn malformed_parts_are_named() {
        let bad_time = INBOUND_AND_STATUS.replace("1749416383", "soon");
        match normalize(bad_time.as_bytes()) {
            Err(NormalizeError::InvalidField { field, .. }) => {
                assert_eq!(field, "entry[0].changes[0].value.messages[0].timestamp")
            }
            other => panic!("{other:?}"),
        }
        let wrong_object = INBOUND_AND_STATUS.replace("whatsapp_business_account", "page");
        assert!(
            matches!(normalize(wrong_object.as_bytes()), Err(NormalizeError::InvalidField { field, .. }) if field == "object")
        );
    }

    #[test]
    fn preferences_become_events_and_other_fields_are_skipped() {
        let body = r#"{"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
            {"field": "user_preferences", "value": {"messaging_product": "whatsapp",
              "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
              "user_preferences": [{"wa_id": "16505551234", "detail": "User requested to stop marketing messages",
                                    "category": "marketing_messages", "value": "stop", "timestamp": 1731705721}]}},
            {"field": "message_template_status_update", "value": {"event": "APPROVED", "message_template_id": 1,
              "message_template_name": "recete_how_to_use", "message_template_language": "en", "reason": "NONE"}}]}]}"#;
        let events = normalize(body.as_bytes()).expect("valid");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, EventKind::MarketingPreference);
        assert!(!events[0].dedup_key.contains("16505551234"), "the number is not written in clear");
        let EventBody::MarketingPreference(preference) = &events[0].body else { panic!("preference") };
        assert_eq!((preference.wa_id.as_str(), preference.value.as_str()), ("16505551234", "stop"));
        assert_eq!(events[0].occurred_at.timestamp(), 1731705721);
        let as_text = body.replace("1731705721", "\"1731705721\"");
        assert_eq!(normalize(as_text.as_bytes()).expect("valid")[0].dedup_key, events[0].dedup_key);
    }

    #[test]
    fn media_messages_carry_their_caption_and_locations_their_place() {
        let cases = [
            (
                r#""type": "image", "image": {"caption": "Is this rash normal?", "mime_type": "image/jpeg", "id": "1"}"#,
                Some("Is this rash normal?"),
            ),
            (
                r#""type": "document", "document": {"filename": "invoice.pdf", "mime_type": "application/pdf", "id": "2"}"#,
                Some("invoice.pdf"),
            ),
            (r#""type": "audio", "audio": {"mime_type": "audio/ogg; codecs=opus", "voice": true, "id": "3"}"#, None),
            (r#""type": "sticker", "sticker": {"mime_type": "image/webp", "animated": false, "id": "4"}"#, None),
            (
                r#""type": "location", "location": {"latitude": 41.0, "longitude": 29.0, "name": "Home", "address": "Kadikoy"}"#,
                Some("Home, Kadikoy"),
            ),
            (r#""type": "location", "location": {"latitude": 41.5, "longitude": 29.25}"#, Some("41.5, 29.25")),
        ];
        for (shape, caption) in cases {
            let body =
                INBOUND_AND_STATUS.replace(r#""type": "text", "text": {"body": "Does it shorten the cycle?"}"#, shape);
            let events = normalize(body.as_bytes()).expect("valid");
            let EventBody::InboundMessage(message) = &events[0].body else { panic!("inbound") };
            assert_eq!(message.caption.as_deref(), caption, "{shape}");
            assert_eq!(message.text, None, "a caption is not a question to answer: {shape}");
        }
    }

    #[test]
    fn buttons_and_replies_carry_their_words() {
        let button = INBOUND_AND_STATUS.replace(
            r#""type": "text", "text": {"body": "Does it shorten the cycle?"}"#,
            r#""type": "button", "button": {"payload": "STOP_PROMO", "text": "Stop promotions"}"#,
        );
        let events = normalize(button.as_bytes()).expect("valid");
        let EventBody::InboundMessage(message) = &events[0].body else { panic!("inbound") };
        assert_eq!(message.text.as_deref(), Some("Stop promotions"));
        assert_eq!(message.button_payload.as_deref(), Some("STOP_PROMO"));
        let list = INBOUND_AND_STATUS.replace(
            r#""type": "text", "text": {"body": "Does it shorten the cycle?"}"#,
            r#""type": "interactive", "interactive": {"type": "list_reply", "list_reply": {"id": "a", "title": "Evening use"}}"#,
        );
        let events = normalize(list.as_bytes()).expect("valid");
        let EventBody::InboundMessage(message) = &events[0].body else { panic!("inbound") };
        assert_eq!(message.text.as_deref(), Some("Evening use"));
    }
}

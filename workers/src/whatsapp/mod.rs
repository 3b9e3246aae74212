//! The whatsapp-events pool: delivery statuses update our messages, inbound messages open the
//! 24-hour service window, STOP or START (or Meta's "Stop promotions" button) change consent at
//! once, and any other text is handed to the conversations queue to be answered. Media messages
//! are stored as their kind with their caption, shown to the merchant, never answered. A customer
//! stopping marketing messages in WhatsApp's own settings opts out the same way; resuming them
//! undoes that opt-out. Opting back in (START, a resume) gives back, once, the follow-ups the
//! opt-out cancelled.

use std::sync::Arc;

use anyhow::Context;
use apalis::prelude::{BoxDynError, Data};
use chrono::{DateTime, Utc};
use recete_jobs::EventJob;
use recete_jobs::execution::{self as jobs, JobContext, JobRow, Outcome};
use recete_messaging::messages::{self, NewInbound, StatusReport};
use recete_platform::config::PoolSettings;
use recete_platform::crypto::Keyring;
use recete_platform::db::{self, Tx};
use recete_platform::ids::{CustomerId, EventId, MerchantId};
use recete_shared::audit::{self, AuditEntry};
use recete_shared::consent::{self, ConsentChange, ConsentCommand};
use recete_shared::conversations::{ConversationState, store};
use recete_shared::customers::{self, PHONE_LOOKUP_DOMAIN, lookup};
use recete_shared::events::{EventBody, InboundMessage, MarketingPreference, MessageStatusUpdate};
use recete_shared::followups::planning;
use recete_shared::languages::say;
use recete_shared::merchant_events::{self, MerchantEvent, MessageFailed, MessageReceived};
use recete_shared::merchants;
use recete_shared::orders::resume;
use recete_shared::phone::PhoneNumber;
use recete_shared::tasks;
use sqlx::PgPool;
use uuid::Uuid;

use crate::WorkerDeps;

const ACTOR: &str = "worker:whatsapp-events";

#[derive(Clone)]
pub struct WhatsAppDeps {
    pub pool: PgPool,
    pub keyring: Arc<Keyring>,
    pub settings: PoolSettings,
}

impl WhatsAppDeps {
    pub fn new(deps: &WorkerDeps, settings: PoolSettings) -> Self {
        Self { pool: deps.pool.clone(), keyring: deps.keyring.clone(), settings }
    }
}

pub async fn process(job: EventJob, deps: Data<WhatsAppDeps>, context: Data<JobContext>) -> Result<(), BoxDynError> {
    let event_id = job.event_id();
    jobs::run(&context, JobRow::Event(event_id), handle_event(event_id, &deps)).await;
    Ok(())
}

pub async fn handle_event(event_id: EventId, deps: &WhatsAppDeps) -> anyhow::Result<Outcome> {
    let mut tx = db::system_tx(&deps.pool).await.context("Failed to begin the event transaction")?;
    let Some(claimed) = jobs::claim_event(&mut tx, event_id, &deps.keyring).await? else {
        return Ok(Outcome::Skipped);
    };
    match &claimed.event.body {
        EventBody::MessageStatus(status) => apply_status(&mut tx, status, claimed.event.occurred_at).await?,
        EventBody::InboundMessage(message) => {
            receive(&mut tx, &deps.keyring, claimed.merchant_id, event_id, message, claimed.event.occurred_at).await?
        }
        EventBody::MarketingPreference(preference) => {
            apply_preference(
                &mut tx,
                &deps.keyring,
                claimed.merchant_id,
                event_id,
                preference,
                claimed.event.occurred_at,
            )
            .await?
        }
        EventBody::Order(_) | EventBody::Privacy(_) => {
            anyhow::bail!("a store's event reached the whatsapp-events queue")
        }
    }
    jobs::mark_event_processed(&mut tx, event_id).await?;
    tx.commit().await.context("Failed to commit the event")?;
    Ok(Outcome::Done)
}

/// Applies a delivery status ([`messages::apply_status`] says how statuses move a message); a
/// message it fails is told to its merchant.
async fn apply_status(tx: &mut Tx, status: &MessageStatusUpdate, at: DateTime<Utc>) -> anyhow::Result<()> {
    let first_error = status.errors.first();
    let report = StatusReport {
        wa_message_id: &status.message_id,
        callback_id: status.callback_data.as_deref().and_then(|id| Uuid::parse_str(id).ok()),
        status: &status.status,
        at,
        error_code: first_error.map(|e| e.code.to_string()),
        error_reason: first_error
            .map(|e| [e.title.as_deref(), e.details.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(": ")),
    };
    let updated = messages::apply_status(tx, &report).await.context("Failed to apply the message status")?;
    if status.status == "failed" {
        for failed in &updated {
            let event = MerchantEvent::MessageFailed(MessageFailed {
                message_id: failed.id,
                customer_id: failed.customer_id.map(|id| id.as_uuid()),
                conversation_id: failed.conversation_id,
                code: failed.error_code.clone(),
                reason: failed.reason.clone(),
            });
            merchant_events::raise(tx, failed.merchant_id, &event).await?;
        }
    }
    if updated.is_empty() {
        tracing::debug!(status = %status.status, "status changed nothing (unknown message, repeated or older status)");
    }
    Ok(())
}

async fn receive(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    event_id: EventId,
    message: &InboundMessage,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let phone = match PhoneNumber::from_wa_id(&message.from) {
        Ok(phone) => phone,
        Err(error) => {
            // Nobody to answer, but the merchant sees that a message came and why it went
            // unanswered.
            tracing::warn!(%event_id, %error, "inbound message from a WhatsApp id that is not a phone number");
            audit::record(
                tx,
                AuditEntry {
                    merchant_id: Some(merchant),
                    actor: ACTOR,
                    action: "whatsapp.message_unanswerable",
                    subject_type: "external_event",
                    subject_id: event_id.to_string(),
                    event_id: Some(event_id),
                    before: None,
                    after: Some(serde_json::json!({
                        "reason": format!("the sender's WhatsApp id is {error}"),
                        "message_type": message.message_type,
                        "wa_message_id": message.message_id,
                    })),
                },
            )
            .await?;
            return Ok(());
        }
    };
    let customer_id = find_or_create_customer(tx, keyring, merchant, &phone, message.profile_name.as_deref()).await?;
    let conversation_id =
        store::open_for_customer(tx, merchant, customer_id).await.context("Failed to find the conversation")?;
    store::customer_wrote(tx, conversation_id, at).await?;
    // A media message is kept as its kind with its caption, so the merchant sees what came.
    let shown = message.text.as_deref().or(message.caption.as_deref());
    let body = shown.map(|text| keyring.seal(text.as_bytes(), &message_context(merchant)));
    let inbound_id = Uuid::now_v7();
    let inbound = NewInbound {
        id: inbound_id,
        merchant_id: merchant,
        conversation_id,
        customer_id,
        kind: inbound_kind(message),
        pii_key_id: body.as_ref().map(|b| b.key_id.clone()),
        body_sealed: body.map(|b| b.bytes),
        wa_message_id: &message.message_id,
        received_at: at,
    };
    let stored = messages::record_inbound(tx, inbound).await.context("Failed to store the inbound message")?;
    if !stored {
        // Meta delivered this message before: it was answered then.
        return Ok(());
    }
    let conversation = store::find(tx, conversation_id).await.context("Failed to read the conversation's state")?;
    if conversation.state == ConversationState::HandedOver {
        let event = MerchantEvent::MessageReceived(MessageReceived {
            conversation_id,
            customer_id: customer_id.as_uuid(),
            message_id: inbound_id,
            message_type: message.message_type.clone(),
            received_at: at,
        });
        merchant_events::raise(tx, merchant, &event).await?;
    }

    let opt_out_button = message.message_type == "button"
        && consent::is_opt_out_button(message.text.as_deref(), message.button_payload.as_deref());
    let command = if opt_out_button {
        Some(ConsentCommand::OptOut)
    } else {
        message.text.as_deref().and_then(consent::command_in)
    };
    let Some(command) = command else {
        if message.text.as_deref().is_some_and(|text| !text.trim().is_empty()) {
            tasks::schedule_answer(tx, merchant, customer_id, inbound_id).await?;
        }
        return Ok(());
    };
    let granted = command == ConsentCommand::OptIn;
    let source = match (granted, opt_out_button) {
        (true, _) => "whatsapp:START",
        (false, true) => "whatsapp:button",
        (false, false) => "whatsapp:STOP",
    };
    let change = ConsentChange {
        merchant_id: merchant,
        customer_id,
        granted,
        source,
        at,
        actor: ACTOR,
        event_id: Some(event_id),
    };
    let changed = consent::record(tx, &change).await?;
    if changed && granted {
        resume::after_consent_granted(tx, &change, Utc::now()).await?;
    }
    let (merchant_name, store_language) =
        merchants::voice(tx, merchant).await?.context("the merchant is not visible to its own event")?;
    // Confirmed in the language of the words the customer used ("DUR": Turkish), else the store's.
    let said = [message.text.as_deref(), message.button_payload.as_deref()];
    let phrases = said.into_iter().flatten().find_map(consent::language_of).unwrap_or(store_language).phrases();
    let confirmation = if granted {
        say(phrases.opted_in, &merchant_name)
    } else {
        planning::cancel_for_customer(tx, customer_id, planning::OPTED_OUT).await?;
        say(phrases.opted_out, &merchant_name)
    };
    let context = planning::ReplyContext {
        conversation_id: Some(conversation_id),
        metadata: serde_json::json!({ "in_reply_to": inbound_id, "consent": source }),
    };
    planning::schedule_reply(
        tx,
        keyring,
        merchant,
        customer_id,
        &format!("reply:{}", message.message_id),
        &confirmation,
        &context,
    )
    .await?;
    Ok(())
}

/// A customer stopping (`stop`) or resuming (`resume`) marketing messages in WhatsApp's own
/// settings. A stop opts the customer out and cancels pending follow-ups, as STOP does, and is
/// remembered for a number we have not met yet; a resume undoes an opt-out and gives back the
/// follow-ups it cancelled. Either one older than the customer's latest recorded consent change
/// (a late delivery) changes nothing. No confirmation is sent: the customer wrote nothing, and
/// WhatsApp shows them the change itself.
async fn apply_preference(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    event_id: EventId,
    preference: &MarketingPreference,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let stop = match (preference.category.as_str(), preference.value.as_str()) {
        ("marketing_messages", "stop") => true,
        ("marketing_messages", "resume") => false,
        (category, value) => {
            tracing::info!(%event_id, category, value, "user preference of no consequence for us");
            return Ok(());
        }
    };
    let phone = match PhoneNumber::from_wa_id(&preference.wa_id) {
        Ok(phone) => phone,
        Err(error) => {
            tracing::warn!(%event_id, %error, "user preference for a WhatsApp id that is not a phone number");
            audit::record(
                tx,
                AuditEntry {
                    merchant_id: Some(merchant),
                    actor: ACTOR,
                    action: "whatsapp.preference_unapplied",
                    subject_type: "external_event",
                    subject_id: event_id.to_string(),
                    event_id: Some(event_id),
                    before: None,
                    after: Some(serde_json::json!({
                        "reason": format!("the customer's WhatsApp id is {error}"),
                        "value": preference.value,
                    })),
                },
            )
            .await?;
            return Ok(());
        }
    };
    let customer_id = find_or_create_customer(tx, keyring, merchant, &phone, None).await?;
    let change = ConsentChange {
        merchant_id: merchant,
        customer_id,
        granted: !stop,
        source: "whatsapp:user_preferences",
        at,
        actor: ACTOR,
        event_id: Some(event_id),
    };
    if stop {
        if consent::record_unless_outdated(tx, &change).await? {
            planning::cancel_for_customer(tx, customer_id, planning::OPTED_OUT).await?;
        } else {
            tracing::info!(%event_id, "marketing stop changed nothing (already out, or a later change is recorded)");
        }
    } else if consent::restore(tx, &change).await? {
        resume::after_consent_granted(tx, &change, Utc::now()).await?;
    }
    Ok(())
}

/// `messages.kind` of a customer's message: text (typed or tapped), a media kind, or `other`
/// (reactions, unsupported messages).
fn inbound_kind(message: &InboundMessage) -> &'static str {
    if message.text.is_some() {
        return "text";
    }
    match message.message_type.as_str() {
        "image" => "image",
        "document" => "document",
        "audio" => "audio",
        "video" => "video",
        "sticker" => "sticker",
        "location" => "location",
        _ => "other",
    }
}

/// The context message bodies are sealed with.
pub fn message_context(merchant: MerchantId) -> Vec<u8> {
    recete_shared::message_bodies::context(merchant)
}

async fn find_or_create_customer(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    phone: &PhoneNumber,
    profile_name: Option<&str>,
) -> anyhow::Result<CustomerId> {
    let lookups = keyring.lookup_hashes(PHONE_LOOKUP_DOMAIN, phone.as_e164());
    let existing = lookup::find_by_phone(tx, merchant, &lookups).await?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let snapshot = recete_shared::events::CustomerSnapshot {
        phone: Some(phone.as_e164().to_owned()),
        name: profile_name.map(str::to_owned),
        ..Default::default()
    };
    let provenance = customers::Provenance { actor: ACTOR, event_id: None, occurred_at: Utc::now() };
    customers::upsert_with_phone(tx, keyring, merchant, &snapshot, Some(phone.clone()), &provenance)
        .await?
        .map(|customer| customer.id)
        .context("a customer with a phone number is always created")
}

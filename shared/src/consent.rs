//! WhatsApp consent from what customers write: STOP and its variants opt out at once, START opts
//! back in, in every language of `crate::languages` (one table each). Every change is recorded
//! with its source and time.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::languages::{Language, Phrases, fold};
use crate::merchant_events::{self, MerchantEvent, OptedOut};
use recete_platform::db::Tx;
use recete_platform::ids::{CustomerId, EventId, MerchantId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentCommand {
    OptOut,
    OptIn,
}

/// A consent command when the whole message is one (a question that mentions "stop" is not).
/// The words of every language count whatever language the store speaks: a customer who writes
/// DUR to an English store has opted out.
pub fn command_in(text: &str) -> Option<ConsentCommand> {
    let folded = fold(text);
    let said = |words: fn(&Phrases) -> &'static [&'static str]| {
        Language::ALL.iter().any(|language| words(language.phrases()).contains(&folded.as_str()))
    };
    if said(|phrases| phrases.stop_words) {
        Some(ConsentCommand::OptOut)
    } else if said(|phrases| phrases.start_words) {
        Some(ConsentCommand::OptIn)
    } else {
        None
    }
}

/// The language whose opt-out or opt-in words (or opt-out button) `text` is, as a whole message.
pub fn language_of(text: &str) -> Option<Language> {
    let folded = fold(text);
    Language::ALL.into_iter().find(|language| {
        let phrases = language.phrases();
        [phrases.stop_words, phrases.start_words, phrases.stop_buttons]
            .iter()
            .any(|words| words.contains(&folded.as_str()))
    })
}

/// Whether a tapped quick-reply button (its label and payload) is an opt-out: Meta's own
/// "Stop promotions" button, or a button that says STOP in any of its common forms.
pub fn is_opt_out_button(text: Option<&str>, payload: Option<&str>) -> bool {
    [text, payload].into_iter().flatten().any(|words| {
        let folded = fold(words);
        Language::ALL.iter().any(|language| language.phrases().stop_buttons.contains(&folded.as_str()))
            || command_in(words) == Some(ConsentCommand::OptOut)
    })
}

#[derive(Clone, Copy)]
pub struct ConsentChange<'a> {
    pub merchant_id: MerchantId,
    pub customer_id: CustomerId,
    pub granted: bool,
    /// `whatsapp:STOP`, `whatsapp:131050`, `shopify:sms_marketing_consent`...
    pub source: &'a str,
    pub at: DateTime<Utc>,
    pub actor: &'a str,
    pub event_id: Option<EventId>,
}

/// Sets the customer's consent and audits the change; returns false when it was already so.
pub async fn record(tx: &mut Tx, change: &ConsentChange<'_>) -> Result<bool, sqlx::Error> {
    apply(tx, change, false, false).await
}

/// Like [`record`] for a change reported with its own time that may arrive late (Meta's
/// `user_preferences`): applied only when no later change is recorded already.
pub async fn record_unless_outdated(tx: &mut Tx, change: &ConsentChange<'_>) -> Result<bool, sqlx::Error> {
    apply(tx, change, false, true).await
}

/// Grants consent back only to a customer who had revoked it: a customer resuming marketing
/// messages in WhatsApp's settings undoes an opt-out, and grants nothing a customer never gave.
/// Returns false when nothing changed.
/// A restore is never older than the change it undoes: a late one changes nothing.
pub async fn restore(tx: &mut Tx, change: &ConsentChange<'_>) -> Result<bool, sqlx::Error> {
    apply(tx, &ConsentChange { granted: true, ..*change }, true, true).await
}

async fn apply(
    tx: &mut Tx,
    change: &ConsentChange<'_>,
    only_if_revoked: bool,
    only_if_newer: bool,
) -> Result<bool, sqlx::Error> {
    let state = if change.granted { "granted" } else { "revoked" };
    let before: Option<String> = sqlx::query_scalar(
        "UPDATE customers c SET whatsapp_consent = $2, consent_source = $3, consent_updated_at = $4
         FROM (SELECT whatsapp_consent, consent_updated_at FROM customers WHERE id = $1 FOR UPDATE) AS old
         WHERE c.id = $1 AND old.whatsapp_consent <> $2 AND (NOT $5 OR old.whatsapp_consent = 'revoked')
           AND (NOT $6 OR old.consent_updated_at IS NULL OR old.consent_updated_at <= $4)
         RETURNING old.whatsapp_consent",
    )
    .bind(change.customer_id)
    .bind(state)
    .bind(change.source)
    .bind(change.at)
    .bind(only_if_revoked)
    .bind(only_if_newer)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(before) = before else {
        return Ok(false);
    };
    audit::record(
        tx,
        AuditEntry {
            merchant_id: Some(change.merchant_id),
            actor: change.actor,
            action: "customer.consent_changed",
            subject_type: "customer",
            subject_id: change.customer_id.to_string(),
            event_id: change.event_id,
            before: Some(json!({ "whatsapp_consent": before })),
            after: Some(json!({ "whatsapp_consent": state, "source": change.source, "recorded_at": change.at })),
        },
    )
    .await?;
    if !change.granted {
        let event = MerchantEvent::OptedOut(OptedOut {
            customer_id: change.customer_id.as_uuid(),
            source: change.source.to_owned(),
            opted_out_at: change.at,
        });
        merchant_events::raise(tx, change.merchant_id, &event).await?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_and_start_are_recognised_in_their_common_forms() {
        for text in [
            "STOP",
            "stop",
            " Stop! ",
            "Unsubscribe",
            "CANCEL",
            "end",
            "Quit",
            "opt out",
            "OPT-OUT",
            "Stop messaging me",
            "stop 🛑",
            "İPTAL",
            "dur",
            "Abonelikten çık",
            "Abmelden",
            "Keine Nachrichten mehr",
            "BAJA",
            "¡Alto!",
            "إيقاف",
            "ايقاف",
            "إِيقَاف",
            "توقّف",
            "الغاء الاشتراك",
            "إلغاء الاشتراك.",
            "لا أريد رسائل",
            "لا اريد رسايل",
        ] {
            assert_eq!(command_in(text), Some(ConsentCommand::OptOut), "{text}");
        }
        for text in ["START", "start", "Unstop", "opt in", "Başlat", "Anmelden", "ALTA", "ابدأ", "ابدا", "بدء"]
        {
            assert_eq!(command_in(text), Some(ConsentCommand::OptIn), "{text}");
        }
        for (text, language) in [
            ("STOP", Language::English),
            ("Dur", Language::Turkish),
            ("Promosyonları durdur", Language::Turkish),
            ("STOPP", Language::German),
            ("Abmelden", Language::German),
            ("BAJA", Language::Spanish),
            ("إيقاف", Language::Arabic),
            ("ابدأ", Language::Arabic),
            ("إيقاف العروض الترويجية", Language::Arabic),
        ] {
            assert_eq!(language_of(text), Some(language), "{text}");
        }
        assert_eq!(language_of("hello"), None);
        for text in ["How do I stop the serum from pilling?", "when will it end?", "hello", "", "متى يصل طلبي؟"]
        {
            assert_eq!(command_in(text), None, "{text}");
        }
    }

    #[test]
    fn meta_opt_out_buttons_are_recognised_by_label_or_payload() {
        assert!(is_opt_out_button(Some("Stop promotions"), None));
        assert!(is_opt_out_button(Some("Promosyonları durdur"), Some("")));
        assert!(is_opt_out_button(Some("Not now"), Some("STOP")));
        assert!(!is_opt_out_button(Some("Yes, tell me more"), Some("more-info")));
        assert!(!is_opt_out_button(None, None));
    }
}

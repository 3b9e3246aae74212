//! Stored webhooks that name a customer: the raw payload and the normalized event of every
//! delivery about their orders or their WhatsApp messages, and of any delivery not yet processed
//! whose content names them (it would otherwise recreate an erased customer once processed).
//!
//! Erasure keeps such a row (a redelivery still deduplicates against it, audit rows still point
//! at it) but replaces both payloads with a sealed tombstone and drops the WhatsApp message ids,
//! which encode the customer's number.

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use super::PrivacyError;
use recete_platform::crypto::Keyring;
use recete_platform::db::Tx;
use recete_platform::ids::{CustomerId, EventId, IntegrationId, MerchantId};
use recete_shared::customers::normalize_email;
use recete_shared::events::store::{open_payload, pack, payload_context};
use recete_shared::events::{EventBody, NormalizedEvent};
use recete_shared::phone::PhoneNumber;

/// What both payloads of an erased event open to.
pub const TOMBSTONE: &[u8] = br#"{"erased":true}"#;

/// Unprocessed events opened per round trip while looking for a customer's identifiers.
const SCAN_PAGE: i64 = 500;

/// What identifies a customer in a webhook, in clear; held in memory for one request only.
#[derive(Default, Clone)]
pub struct Identifiers {
    pub external_ids: Vec<String>,
    /// E.164.
    pub phones: Vec<String>,
    /// Lower-cased.
    pub emails: Vec<String>,
}

/// Never prints the identifiers themselves.
impl std::fmt::Debug for Identifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identifiers")
            .field("external_ids", &self.external_ids.len())
            .field("phones", &self.phones.len())
            .field("emails", &self.emails.len())
            .finish()
    }
}

impl Identifiers {
    pub fn is_empty(&self) -> bool {
        self.external_ids.is_empty() && self.phones.is_empty() && self.emails.is_empty()
    }

    fn has_wa_id(&self, wa_id: &str) -> bool {
        self.phones.iter().any(|phone| phone.trim_start_matches('+') == wa_id.trim_start_matches('+'))
    }

    /// True when `event` names someone these identifiers describe. A store's privacy request is
    /// never matched: it is carried out, then tombstoned, on its own.
    pub fn named_in(&self, event: &NormalizedEvent, default_country: Option<&str>) -> bool {
        match &event.body {
            EventBody::Order(order) => order.customer.as_ref().is_some_and(|customer| {
                let by_id = customer.external_id.as_ref().is_some_and(|id| self.external_ids.contains(id));
                let by_email = customer
                    .email
                    .as_deref()
                    .and_then(normalize_email)
                    .is_some_and(|email| self.emails.contains(&email));
                let country = customer.country_code.as_deref().or(default_country);
                let by_phone = customer
                    .phone
                    .as_deref()
                    .and_then(|raw| PhoneNumber::parse(raw, country).ok())
                    .is_some_and(|phone| self.phones.iter().any(|known| known == phone.as_e164()));
                by_id || by_email || by_phone
            }),
            EventBody::InboundMessage(message) => self.has_wa_id(&message.from),
            EventBody::MessageStatus(status) => status.recipient_id.as_deref().is_some_and(|id| self.has_wa_id(id)),
            EventBody::MarketingPreference(preference) => self.has_wa_id(&preference.wa_id),
            EventBody::Privacy(_) => false,
        }
    }
}

/// The stored webhooks about `customers` and about the store's orders `extra_orders`, not yet
/// tombstoned, oldest first.
pub async fn naming(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    customers: &[CustomerId],
    identifiers: &Identifiers,
    extra_orders: &[String],
) -> Result<Vec<EventId>, PrivacyError> {
    let mut orders: Vec<String> =
        sqlx::query_scalar("SELECT external_order_id FROM orders WHERE merchant_id = $1 AND customer_id = ANY($2)")
            .bind(merchant)
            .bind(customers)
            .fetch_all(&mut **tx)
            .await?;
    orders.extend(extra_orders.iter().cloned());
    let wa_message_ids: Vec<String> = sqlx::query_scalar(
        "SELECT wa_message_id FROM messages
         WHERE merchant_id = $1 AND customer_id = ANY($2) AND wa_message_id IS NOT NULL",
    )
    .bind(merchant)
    .bind(customers)
    .fetch_all(&mut **tx)
    .await?;
    let mut found: Vec<EventId> = sqlx::query_scalar(
        "SELECT id FROM external_events
         WHERE merchant_id = $1 AND erased_at IS NULL
           AND ((source <> 'whatsapp' AND subject_id = ANY($2)) OR (source = 'whatsapp' AND subject_id = ANY($3)))",
    )
    .bind(merchant)
    .bind(&orders)
    .bind(&wa_message_ids)
    .fetch_all(&mut **tx)
    .await?;
    if !identifiers.is_empty() {
        for id in unprocessed_naming(tx, keyring, merchant, identifiers).await? {
            if !found.contains(&id) {
                found.push(id);
            }
        }
    }
    found.sort();
    Ok(found)
}

#[derive(FromRow)]
struct SealedEvent {
    id: EventId,
    integration_id: IntegrationId,
    dedup_key: String,
    key_id: String,
    normalized_sealed: Vec<u8>,
}

/// Events still waiting (or failed, or dead-lettered) whose content names the customer.
async fn unprocessed_naming(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    identifiers: &Identifiers,
) -> Result<Vec<EventId>, PrivacyError> {
    let country = recete_shared::merchants::phone_country(tx, merchant).await?;
    let mut found = Vec::new();
    let mut after = Uuid::nil();
    loop {
        let page: Vec<SealedEvent> = sqlx::query_as(
            "SELECT id, integration_id, dedup_key, key_id, normalized_sealed FROM external_events
             WHERE merchant_id = $1 AND erased_at IS NULL AND state <> 'processed' AND id > $2
             ORDER BY id LIMIT $3",
        )
        .bind(merchant)
        .bind(after)
        .bind(SCAN_PAGE)
        .fetch_all(&mut **tx)
        .await?;
        let Some(last) = page.last() else {
            return Ok(found);
        };
        after = last.id.as_uuid();
        let full_page = page.len() as i64 == SCAN_PAGE;
        for row in page {
            let context = payload_context(row.integration_id, &row.dedup_key, "normalized");
            let event = open_payload(keyring, &row.key_id, &row.normalized_sealed, &context)
                .map_err(PrivacyError::from)
                .and_then(|bytes| Ok(serde_json::from_slice::<NormalizedEvent>(&bytes)?));
            match event {
                Ok(event) if identifiers.named_in(&event, country.as_deref()) => found.push(row.id),
                Ok(_) => {}
                // Nothing can read it with the configured keys, so nothing can process it either.
                Err(error) => {
                    tracing::warn!(event_id = %row.id, %error, "unprocessed event does not open; not checked")
                }
            }
        }
        if !full_page {
            return Ok(found);
        }
    }
}

#[derive(FromRow)]
struct Tombstoned {
    id: EventId,
    integration_id: IntegrationId,
    source: String,
    dedup_key: String,
}

/// Replaces the payloads of `events` with sealed tombstones; returns how many were not already.
pub async fn tombstone(tx: &mut Tx, keyring: &Keyring, events: &[EventId]) -> Result<u64, PrivacyError> {
    if events.is_empty() {
        return Ok(0);
    }
    let rows: Vec<Tombstoned> = sqlx::query_as(
        "SELECT id, integration_id, source, dedup_key FROM external_events
         WHERE id = ANY($1) AND erased_at IS NULL ORDER BY id FOR UPDATE",
    )
    .bind(events)
    .fetch_all(&mut **tx)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut ids = Vec::with_capacity(rows.len());
    let mut dedup_keys = Vec::with_capacity(rows.len());
    let mut key_ids = Vec::with_capacity(rows.len());
    let mut payloads = Vec::with_capacity(rows.len());
    let mut normalized = Vec::with_capacity(rows.len());
    for row in rows {
        // A WhatsApp delivery's key is its message id, which encodes the customer's number.
        let dedup_key = if row.source == "whatsapp" { format!("erased:{}", row.id) } else { row.dedup_key };
        let payload = keyring.seal(&pack(TOMBSTONE), &payload_context(row.integration_id, &dedup_key, "payload"));
        let sealed_normalized = keyring.seal_with(
            &payload.key_id,
            &pack(TOMBSTONE),
            &payload_context(row.integration_id, &dedup_key, "normalized"),
        )?;
        ids.push(row.id);
        dedup_keys.push(dedup_key);
        key_ids.push(payload.key_id);
        payloads.push(payload.bytes);
        normalized.push(sealed_normalized.bytes);
    }
    let updated = sqlx::query(
        "UPDATE external_events e SET dedup_key = t.dedup_key, key_id = t.key_id,
             payload_sealed = t.payload, normalized_sealed = t.normalized,
             platform_event_id = CASE WHEN e.source = 'whatsapp' THEN NULL ELSE e.platform_event_id END,
             subject_id = CASE WHEN e.source = 'whatsapp' THEN NULL ELSE e.subject_id END,
             last_error = NULL,
             state = CASE WHEN e.state = 'processed' THEN e.state ELSE 'ignored' END,
             erased_at = now()
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::bytea[])
             AS t(id, dedup_key, key_id, payload, normalized)
         WHERE e.id = t.id",
    )
    .bind(&ids)
    .bind(&dedup_keys)
    .bind(&key_ids)
    .bind(&payloads)
    .bind(&normalized)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(updated)
}

/// Tombstones up to `limit` of the merchant's events not yet tombstoned, other than `except`
/// (the request being carried out); returns how many.
pub async fn tombstone_some(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    except: Option<EventId>,
    limit: i64,
) -> Result<u64, PrivacyError> {
    let ids: Vec<EventId> = sqlx::query_scalar(
        "SELECT id FROM external_events
         WHERE merchant_id = $1 AND erased_at IS NULL AND id IS DISTINCT FROM $2
         ORDER BY id LIMIT $3",
    )
    .bind(merchant)
    .bind(except)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    tombstone(tx, keyring, &ids).await
}

/// A stored webhook as the export shows it: the raw body as the sender sent it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct EventRecord {
    #[schema(value_type = uuid::Uuid)]
    pub id: EventId,
    /// shopify, woocommerce, generic, whatsapp or csv.
    pub source: String,
    /// The sender's own name for it (`orders/paid`, `message.text`...).
    pub topic: String,
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub state: String,
    /// The body as received; a body that is not a JSON object is given as `{"raw": "<text>"}`.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

#[derive(FromRow)]
struct EventRow {
    id: EventId,
    integration_id: IntegrationId,
    source: String,
    topic: String,
    kind: String,
    dedup_key: String,
    occurred_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
    state: String,
    key_id: String,
    payload_sealed: Vec<u8>,
}

/// `events` with their raw payloads opened, oldest first.
pub async fn open(tx: &mut Tx, keyring: &Keyring, events: &[EventId]) -> Result<Vec<EventRecord>, PrivacyError> {
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT id, integration_id, source, topic, kind, dedup_key, occurred_at, received_at, state, key_id,
                payload_sealed
         FROM external_events WHERE id = ANY($1) ORDER BY received_at, id",
    )
    .bind(events)
    .fetch_all(&mut **tx)
    .await?;
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        let context = payload_context(row.integration_id, &row.dedup_key, "payload");
        let raw = open_payload(keyring, &row.key_id, &row.payload_sealed, &context)?;
        records.push(EventRecord {
            id: row.id,
            source: row.source,
            topic: row.topic,
            kind: row.kind,
            occurred_at: row.occurred_at,
            received_at: row.received_at,
            state: row.state,
            payload: as_object(&raw),
        });
    }
    Ok(records)
}

fn as_object(raw: &[u8]) -> serde_json::Value {
    match serde_json::from_slice::<serde_json::Value>(raw) {
        Ok(value @ serde_json::Value::Object(_)) => value,
        _ => serde_json::json!({ "raw": String::from_utf8_lossy(raw) }),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use recete_platform::config::{PlatformSettings, base_figment};
    use recete_shared::events::{
        CustomerSnapshot, EventKind, EventSource, InboundMessage, MessageStatusUpdate, OrderSnapshot,
    };

    fn identifiers() -> Identifiers {
        Identifiers {
            external_ids: vec!["115310627314723954".into()],
            phones: vec!["+905551234567".into()],
            emails: vec!["ada@example.com".into()],
        }
    }

    fn event(body: EventBody) -> NormalizedEvent {
        NormalizedEvent {
            source: EventSource::Shopify,
            kind: EventKind::OrderCreated,
            topic: "orders/create".into(),
            dedup_key: "webhook:1".into(),
            platform_event_id: None,
            occurred_at: Utc::now(),
            body,
        }
    }

    fn order_for(customer: CustomerSnapshot) -> NormalizedEvent {
        event(EventBody::Order(Box::new(OrderSnapshot {
            external_order_id: "1001".into(),
            customer: Some(customer),
            ..OrderSnapshot::default()
        })))
    }

    #[test]
    fn orders_name_a_customer_by_store_id_email_or_phone_in_any_format() {
        let ids = identifiers();
        let by_id = CustomerSnapshot { external_id: Some("115310627314723954".into()), ..Default::default() };
        let by_email = CustomerSnapshot { email: Some(" Ada@Example.COM ".into()), ..Default::default() };
        let local_phone = CustomerSnapshot { phone: Some("0555 123 45 67".into()), ..Default::default() };
        let with_country = CustomerSnapshot {
            phone: Some("0555 123 45 67".into()),
            country_code: Some("TR".into()),
            ..Default::default()
        };
        let someone_else = CustomerSnapshot {
            external_id: Some("42".into()),
            email: Some("other@example.com".into()),
            phone: Some("+905557654321".into()),
            ..Default::default()
        };
        assert!(ids.named_in(&order_for(by_id), None));
        assert!(ids.named_in(&order_for(by_email), None));
        assert!(ids.named_in(&order_for(local_phone.clone()), Some("TR")), "read in the merchant's default country");
        assert!(!ids.named_in(&order_for(local_phone), None), "a local number without a country is no number");
        assert!(ids.named_in(&order_for(with_country), None));
        assert!(!ids.named_in(&order_for(someone_else), Some("TR")));
        assert!(!ids.named_in(&event(EventBody::Order(Box::default())), None), "an order without a customer");
    }

    #[test]
    fn whatsapp_events_name_a_customer_by_wa_id() {
        let ids = identifiers();
        let inbound = |from: &str| {
            event(EventBody::InboundMessage(InboundMessage {
                phone_number_id: "106540352242922".into(),
                message_id: "wamid.1".into(),
                from: from.into(),
                profile_name: None,
                message_type: "text".into(),
                text: Some("hello".into()),
                button_payload: None,
                context_message_id: None,
                caption: None,
            }))
        };
        assert!(ids.named_in(&inbound("905551234567"), None));
        assert!(!ids.named_in(&inbound("905557654321"), None));
        let status = |recipient: Option<&str>| {
            event(EventBody::MessageStatus(MessageStatusUpdate {
                phone_number_id: "106540352242922".into(),
                message_id: "wamid.2".into(),
                recipient_id: recipient.map(str::to_owned),
                status: "read".into(),
                callback_data: None,
                errors: Vec::new(),
            }))
        };
        assert!(ids.named_in(&status(Some("905551234567")), None));
        assert!(!ids.named_in(&status(None), None));
    }

    #[test]
    fn identifiers_never_print_themselves() {
        let printed = format!("{:?}", identifiers());
        assert!(!printed.contains("905551234567") && !printed.contains("ada@") && !printed.contains("1153106"));
    }

    #[test]
    fn a_tombstone_opens_like_any_payload_and_names_no_one() {
        let settings = PlatformSettings::load_from(base_figment(None)).expect("defaults load");
        let keyring = Keyring::from_settings(&settings.crypto).expect("default keys");
        let integration = IntegrationId::generate();
        let context = payload_context(integration, "erased:1", "payload");
        let sealed = keyring.seal(&pack(TOMBSTONE), &context);
        let opened = open_payload(&keyring, &sealed.key_id, &sealed.bytes, &context).expect("opens");
        assert_eq!(opened, TOMBSTONE);
        assert_eq!(as_object(&opened), serde_json::json!({ "erased": true }));
        assert_eq!(as_object(b"id,phone\n1,+905551234567"), serde_json::json!({ "raw": "id,phone\n1,+905551234567" }));
    }
}

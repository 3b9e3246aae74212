//! The export document: everything held about one or more customer rows, opened, as one JSON
//! document a merchant can hand to the customer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::FromRow;
use uuid::Uuid;

use super::imports::{self, ImportErrorRecord};
use super::traces::{self, EventRecord, Identifiers};
use super::{Counts, PrivacyError};
use recete_platform::crypto::Keyring;
use recete_platform::db::Tx;
use recete_platform::ids::{CustomerId, MerchantId};
use recete_shared::customers::{CUSTOMER_COLUMNS, Contact, CustomerRow};
use recete_shared::message_bodies;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExportDocument {
    pub generated_at: DateTime<Utc>,
    pub customers: Vec<CustomerRecord>,
    /// Every change of WhatsApp consent, with where it came from.
    pub consent_history: Vec<ConsentChange>,
    pub orders: Vec<OrderRecord>,
    pub conversations: Vec<ConversationRecord>,
    /// Messages outside any conversation: follow-ups sent after a delivery.
    pub other_messages: Vec<MessageRecord>,
    /// Follow-ups and replies planned or sent, with the texts of replies.
    pub scheduled_messages: Vec<ScheduledMessage>,
    /// Every stored webhook that named the customers: order updates from the store, WhatsApp
    /// messages and delivery statuses, with their bodies as received.
    pub events: Vec<EventRecord>,
    /// Rows of CSV imports that failed and named the customers, with their fields as the file had them.
    pub import_errors: Vec<ImportErrorRecord>,
}

impl ExportDocument {
    pub fn counts(&self) -> Counts {
        let conversation_messages: usize = self.conversations.iter().map(|c| c.messages.len()).sum();
        Counts {
            customers: self.customers.len() as u64,
            orders: self.orders.len() as u64,
            conversations: self.conversations.len() as u64,
            messages: (conversation_messages + self.other_messages.len()) as u64,
            follow_ups: self.scheduled_messages.len() as u64,
            consent_changes: self.consent_history.len() as u64,
            events: self.events.len() as u64,
            import_errors: self.import_errors.len() as u64,
            documents: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerRecord {
    #[schema(value_type = Uuid)]
    pub id: CustomerId,
    /// The store's own id of the customer.
    pub external_id: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub country_code: Option<String>,
    pub timezone: Option<String>,
    /// granted, revoked or unknown.
    pub whatsapp_consent: String,
    pub consent_source: Option<String>,
    pub consent_updated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema, FromRow)]
pub struct ConsentChange {
    pub customer_id: String,
    pub changed_at: DateTime<Utc>,
    /// What made the change: a store's order, a STOP or START message, the send worker.
    pub actor: String,
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema, FromRow)]
pub struct OrderRecord {
    pub id: Uuid,
    pub customer_id: Option<Uuid>,
    /// The store's own id of the order.
    pub external_order_id: String,
    /// The number the customer sees (`#1001`).
    pub order_number: Option<String>,
    pub status: String,
    pub currency: Option<String>,
    /// In minor units of `currency` (cents).
    pub total_minor: Option<i64>,
    pub placed_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub fulfilled_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub refunded_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[sqlx(skip)]
    pub items: Vec<OrderItemRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema, FromRow)]
pub struct OrderItemRecord {
    #[serde(skip)]
    pub order_id: Uuid,
    pub sku: Option<String>,
    pub title: String,
    pub quantity: i32,
    pub unit_price_minor: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema, FromRow)]
pub struct ConversationRecord {
    pub id: Uuid,
    pub customer_id: Uuid,
    /// open, handed_over or closed.
    pub state: String,
    pub window_expires_at: Option<DateTime<Utc>>,
    pub last_message_at: Option<DateTime<Utc>>,
    pub handed_over_at: Option<DateTime<Utc>>,
    pub handover_reason: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[sqlx(skip)]
    pub messages: Vec<MessageRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageRecord {
    pub id: Uuid,
    pub conversation_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    /// inbound (from the customer) or outbound (from the shop).
    pub direction: String,
    /// text, template or other.
    pub kind: String,
    pub text: Option<String>,
    pub template_name: Option<String>,
    /// WhatsApp's id of the message.
    pub wa_message_id: Option<String>,
    pub status: String,
    pub status_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub error_code: Option<String>,
    pub error_reason: Option<String>,
    /// The follow-up step, or for the agent's answers its intent, citations and guardrail verdict.
    #[schema(value_type = Object)]
    pub metadata: Value,
    pub created_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct MessageRow {
    id: Uuid,
    conversation_id: Option<Uuid>,
    order_id: Option<Uuid>,
    direction: String,
    kind: String,
    pii_key_id: Option<String>,
    body_sealed: Option<Vec<u8>>,
    template_name: Option<String>,
    wa_message_id: Option<String>,
    status: String,
    status_at: Option<DateTime<Utc>>,
    sent_at: Option<DateTime<Utc>>,
    error_code: Option<String>,
    error_reason: Option<String>,
    metadata: Value,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScheduledMessage {
    pub id: Uuid,
    /// follow_up, reply or answer.
    pub kind: String,
    pub order_id: Option<Uuid>,
    /// The follow-up plan's step.
    pub step: Option<String>,
    /// pending, running, done, failed, cancelled or dead.
    pub state: String,
    pub due_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
    /// The text of a reply waiting to be sent or sent.
    pub reply_text: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct TaskRow {
    id: Uuid,
    kind: String,
    order_id: Option<Uuid>,
    step: Option<String>,
    state: String,
    due_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    cancel_reason: Option<String>,
    payload: Value,
    created_at: DateTime<Utc>,
}

/// The customers' rows with their sealed fields opened, and what identifies them in webhooks.
pub async fn customers(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    ids: &[CustomerId],
) -> Result<(Vec<CustomerRecord>, Identifiers), PrivacyError> {
    let rows: Vec<CustomerRow> = sqlx::query_as(&format!(
        "SELECT {CUSTOMER_COLUMNS} FROM customers c WHERE c.merchant_id = $1 AND c.id = ANY($2) ORDER BY c.created_at, c.id"
    ))
    .bind(merchant)
    .bind(ids)
    .fetch_all(&mut **tx)
    .await?;
    let mut records = Vec::with_capacity(rows.len());
    let mut identifiers = Identifiers::default();
    for row in rows {
        let Contact { phone, email, name } = row.contact(keyring, merchant)?;
        identifiers.phones.extend(phone.clone());
        identifiers.emails.extend(email.clone());
        identifiers.external_ids.extend(row.external_id.clone());
        records.push(CustomerRecord {
            id: row.id,
            external_id: row.external_id,
            phone,
            email,
            name,
            country_code: row.country_code,
            timezone: row.timezone,
            whatsapp_consent: row.whatsapp_consent.as_str().to_owned(),
            consent_source: row.consent_source,
            consent_updated_at: row.consent_updated_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        });
    }
    Ok((records, identifiers))
}

/// Everything held about `customers`, plus the store's orders `extra_orders` a store's request
/// named, opened.
pub async fn build(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    customer_ids: &[CustomerId],
    extra_orders: &[String],
) -> Result<ExportDocument, PrivacyError> {
    let (customers, identifiers) = customers(tx, keyring, merchant, customer_ids).await?;
    let subject_ids: Vec<String> = customer_ids.iter().map(ToString::to_string).collect();
    let consent_history: Vec<ConsentChange> = sqlx::query_as(
        "SELECT subject_id AS customer_id, created_at AS changed_at, actor, before, after FROM audit_log
         WHERE merchant_id = $1 AND subject_type = 'customer' AND subject_id = ANY($2)
           AND action = 'customer.consent_changed'
         ORDER BY created_at, id",
    )
    .bind(merchant)
    .bind(&subject_ids)
    .fetch_all(&mut **tx)
    .await?;
    let orders = orders(tx, merchant, customer_ids, extra_orders).await?;
    let messages = messages(tx, keyring, merchant, customer_ids).await?;
    let mut conversations: Vec<ConversationRecord> = sqlx::query_as(
        "SELECT id, customer_id, state, window_expires_at, last_message_at, handed_over_at, handover_reason,
                resolved_at, created_at
         FROM conversations WHERE merchant_id = $1 AND customer_id = ANY($2) ORDER BY created_at, id",
    )
    .bind(merchant)
    .bind(customer_ids)
    .fetch_all(&mut **tx)
    .await?;
    let mut other_messages = Vec::new();
    for message in messages {
        match conversations.iter_mut().find(|c| Some(c.id) == message.conversation_id) {
            Some(conversation) => conversation.messages.push(message),
            None => other_messages.push(message),
        }
    }
    let scheduled_messages = scheduled(tx, keyring, merchant, customer_ids).await?;
    let event_ids = traces::naming(tx, keyring, merchant, customer_ids, &identifiers, extra_orders).await?;
    let events = traces::open(tx, keyring, &event_ids).await?;
    let lookups = imports::lookups_of(tx, keyring, customer_ids).await?;
    let import_errors = imports::naming(tx, keyring, merchant, &lookups).await?;
    Ok(ExportDocument {
        generated_at: Utc::now(),
        customers,
        consent_history,
        orders,
        conversations,
        other_messages,
        scheduled_messages,
        events,
        import_errors,
    })
}

async fn orders(
    tx: &mut Tx,
    merchant: MerchantId,
    customer_ids: &[CustomerId],
    extra_orders: &[String],
) -> Result<Vec<OrderRecord>, PrivacyError> {
    let mut orders: Vec<OrderRecord> = sqlx::query_as(
        "SELECT id, customer_id, external_order_id, order_number, status, currency, total_minor, placed_at, paid_at,
                fulfilled_at, delivered_at, cancelled_at, refunded_at, created_at
         FROM orders WHERE merchant_id = $1 AND (customer_id = ANY($2) OR external_order_id = ANY($3))
         ORDER BY created_at, id",
    )
    .bind(merchant)
    .bind(customer_ids)
    .bind(extra_orders)
    .fetch_all(&mut **tx)
    .await?;
    let order_ids: Vec<Uuid> = orders.iter().map(|o| o.id).collect();
    let items: Vec<OrderItemRecord> = sqlx::query_as(
        "SELECT order_id, sku, title, quantity, unit_price_minor FROM order_items
         WHERE order_id = ANY($1) ORDER BY order_id, line_key",
    )
    .bind(&order_ids)
    .fetch_all(&mut **tx)
    .await?;
    for item in items {
        if let Some(order) = orders.iter_mut().find(|o| o.id == item.order_id) {
            order.items.push(item);
        }
    }
    Ok(orders)
}

async fn messages(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    customer_ids: &[CustomerId],
) -> Result<Vec<MessageRecord>, PrivacyError> {
    let rows: Vec<MessageRow> = sqlx::query_as(
        "SELECT id, conversation_id, order_id, direction, kind, pii_key_id, body_sealed, template_name, wa_message_id,
                status, status_at, sent_at, error_code, error_reason, metadata, created_at
         FROM messages WHERE merchant_id = $1 AND customer_id = ANY($2) ORDER BY created_at, id",
    )
    .bind(merchant)
    .bind(customer_ids)
    .fetch_all(&mut **tx)
    .await?;
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        let text = message_bodies::open(keyring, merchant, row.pii_key_id.as_deref(), row.body_sealed.as_deref())?;
        records.push(MessageRecord {
            id: row.id,
            conversation_id: row.conversation_id,
            order_id: row.order_id,
            direction: row.direction,
            kind: row.kind,
            text,
            template_name: row.template_name,
            wa_message_id: row.wa_message_id,
            status: row.status,
            status_at: row.status_at,
            sent_at: row.sent_at,
            error_code: row.error_code,
            error_reason: row.error_reason,
            metadata: row.metadata,
            created_at: row.created_at,
        });
    }
    Ok(records)
}

async fn scheduled(
    tx: &mut Tx,
    keyring: &Keyring,
    merchant: MerchantId,
    customer_ids: &[CustomerId],
) -> Result<Vec<ScheduledMessage>, PrivacyError> {
    let rows: Vec<TaskRow> = sqlx::query_as(
        "SELECT id, kind, order_id, step, state, due_at, finished_at, cancel_reason, payload, created_at
         FROM scheduled_tasks WHERE merchant_id = $1 AND customer_id = ANY($2) ORDER BY created_at, id",
    )
    .bind(merchant)
    .bind(customer_ids)
    .fetch_all(&mut **tx)
    .await?;
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        let reply_text = match row.payload.get("text_sealed") {
            Some(sealed) => Some(message_bodies::open_from_payload(keyring, merchant, sealed)?),
            None => None,
        };
        records.push(ScheduledMessage {
            id: row.id,
            kind: row.kind,
            order_id: row.order_id,
            step: row.step,
            state: row.state,
            due_at: row.due_at,
            finished_at: row.finished_at,
            cancel_reason: row.cancel_reason,
            reply_text,
            created_at: row.created_at,
        });
    }
    Ok(records)
}

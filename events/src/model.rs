use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    Shopify,
    WooCommerce,
    Generic,
    WhatsApp,
    Csv,
}

impl EventSource {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Shopify => "shopify",
            Self::WooCommerce => "woocommerce",
            Self::Generic => "generic",
            Self::WhatsApp => "whatsapp",
            Self::Csv => "csv",
        }
    }
}

/// What happened, in our words. Order kinds say which state the event moves an order towards;
/// `OrderUpdated` carries new data without a state of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    OrderCreated,
    OrderPaid,
    OrderFulfilled,
    OrderDelivered,
    OrderCancelled,
    OrderRefunded,
    OrderUpdated,
    MessageInbound,
    MessageStatus,
    /// A customer stopped or resumed marketing messages in WhatsApp itself (Meta's
    /// `user_preferences` webhook).
    MarketingPreference,
    /// A store asks for everything held about a customer (Shopify's `customers/data_request`).
    PrivacyDataRequest,
    /// A store asks for a customer's data to be erased (`customers/redact`).
    PrivacyCustomerRedact,
    /// A store asks for all of a shop's customer data to be erased (`shop/redact`).
    PrivacyShopRedact,
}

impl EventKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::OrderCreated => "order_created",
            Self::OrderPaid => "order_paid",
            Self::OrderFulfilled => "order_fulfilled",
            Self::OrderDelivered => "order_delivered",
            Self::OrderCancelled => "order_cancelled",
            Self::OrderRefunded => "order_refunded",
            Self::OrderUpdated => "order_updated",
            Self::MessageInbound => "message_inbound",
            Self::MessageStatus => "message_status",
            Self::MarketingPreference => "marketing_preference",
            Self::PrivacyDataRequest => "privacy_data_request",
            Self::PrivacyCustomerRedact => "privacy_customer_redact",
            Self::PrivacyShopRedact => "privacy_shop_redact",
        }
    }
}

/// One normalized event, ready to store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalizedEvent {
    pub source: EventSource,
    pub kind: EventKind,
    /// The platform's own name for the event (`orders/paid`, `order.updated`, `order.delivered`).
    pub topic: String,
    /// Unique per integration: a second delivery with the same key is a duplicate.
    pub dedup_key: String,
    /// The platform's event id where it has one beside the delivery id.
    pub platform_event_id: Option<String>,
    /// The platform's own time of the change; orders never move backwards in this time.
    pub occurred_at: DateTime<Utc>,
    pub body: EventBody,
}

impl NormalizedEvent {
    /// The order id or WhatsApp message id the event is about; stored in clear for lookups.
    pub fn subject_id(&self) -> Option<&str> {
        match &self.body {
            EventBody::Order(order) => Some(&order.external_order_id),
            EventBody::InboundMessage(message) => Some(&message.message_id),
            EventBody::MessageStatus(status) => Some(&status.message_id),
            // A preference names the customer by phone number only: personal data.
            EventBody::MarketingPreference(_) => None,
            // The customer a privacy request names is personal data: never stored in clear.
            EventBody::Privacy(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    Order(Box<OrderSnapshot>),
    InboundMessage(InboundMessage),
    MessageStatus(MessageStatusUpdate),
    MarketingPreference(MarketingPreference),
    Privacy(crate::store_request::StoreRequest),
}

/// What the event tells about an order. Fields a platform did not send are `None`, never
/// guessed; a refund webhook, for example, carries little beyond the order id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderSnapshot {
    pub external_order_id: String,
    /// The number a customer sees (`#1001`).
    pub order_number: Option<String>,
    /// The platform's own status words, kept for the audit trail.
    pub platform_status: Option<String>,
    pub currency: Option<String>,
    /// Total in minor units of `currency` (cents), parsed without floating point.
    pub total_minor: Option<i64>,
    pub placed_at: Option<DateTime<Utc>>,
    pub customer: Option<CustomerSnapshot>,
    pub items: Vec<LineItem>,
    pub fulfillment: Option<FulfillmentSnapshot>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerSnapshot {
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    /// As the platform sent it; normalized to E.164 when the customer is stored.
    pub phone: Option<String>,
    /// ISO 3166-1 alpha-2 from the shipping address, else billing.
    pub country_code: Option<String>,
    pub messaging_consent: Option<ConsentSnapshot>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentSnapshot {
    pub granted: bool,
    /// Where the platform says it came from (`shopify:sms_marketing_consent`, `generic`).
    pub source: String,
    pub recorded_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    /// Stable per order line, so a re-sent order updates its lines instead of adding them.
    pub line_key: String,
    pub external_product_id: Option<String>,
    pub sku: Option<String>,
    pub title: String,
    pub quantity: i32,
    pub unit_price_minor: Option<i64>,
    pub product_url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FulfillmentSnapshot {
    pub external_id: Option<String>,
    /// `delivered`, `in_transit`, `out_for_delivery`... as the carrier reported it.
    pub shipment_status: Option<String>,
    pub tracking_number: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    pub phone_number_id: String,
    pub message_id: String,
    /// The sender's WhatsApp id (their phone number without `+`).
    pub from: String,
    pub profile_name: Option<String>,
    /// `text`, `button`, `interactive`, `image`...
    pub message_type: String,
    /// The text a person typed or tapped, where the message has one.
    pub text: Option<String>,
    /// A tapped quick-reply button's payload (`button.payload`), which says which button it was
    /// whatever its label.
    #[serde(default)]
    pub button_payload: Option<String>,
    /// The message this one answers, when the customer replied to one of ours.
    pub context_message_id: Option<String>,
    /// What a media message says beside its media: an image's, video's or document's caption (a
    /// document's file name when it has none), a location's name and address (its coordinates
    /// when it has neither). Shown to the merchant; never answered by the agent.
    #[serde(default)]
    pub caption: Option<String>,
}

/// A customer's choice about a category of messages, made in WhatsApp's own settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketingPreference {
    pub phone_number_id: String,
    /// The customer's WhatsApp id (their phone number without `+`).
    pub wa_id: String,
    /// `marketing_messages` is the only category Meta sends today.
    pub category: String,
    /// `stop` or `resume`.
    pub value: String,
    /// Meta's own words for the change (`User requested to stop marketing messages`).
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageStatusUpdate {
    pub phone_number_id: String,
    pub message_id: String,
    pub recipient_id: Option<String>,
    /// `sent`, `delivered`, `read` or `failed`.
    pub status: String,
    /// Our own id, echoed back from `biz_opaque_callback_data`.
    pub callback_data: Option<String>,
    pub errors: Vec<StatusError>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusError {
    pub code: i64,
    pub title: Option<String>,
    pub details: Option<String>,
}

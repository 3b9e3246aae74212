//! Our own order event format, for any platform without a native integration.
//!
//! ```json
//! {
//!   "id": "evt_1001_delivered",
//!   "type": "order.delivered",
//!   "occurred_at": "2026-11-20T10:00:00Z",
//!   "order": {
//!     "id": "1001", "number": "#1001", "currency": "EUR", "total": "49.90",
//!     "placed_at": "2026-11-18T09:00:00Z",
//!     "customer": {"id": "c-7", "name": "Ada", "email": "ada@example.com", "phone": "+905551112233",
//!                  "country": "TR", "whatsapp_consent": true, "consent_at": "2026-11-18T09:00:00Z"},
//!     "items": [{"id": "1", "product_id": "p-1", "sku": "SERUM-30", "title": "Vitamin C Serum",
//!                "quantity": 1, "unit_price": "49.90", "url": "https://shop.example/serum"}],
//!     "tracking_number": "TR123"
//!   }
//! }
//! ```
//! `id` identifies the event: a retry must reuse it. `type` is one of [`TYPES`]. Unknown fields
//! are ignored, so platforms can send more than we read.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::parse::{Amount, ExternalId, minor_units, non_empty, timestamp};
use crate::{
    ConsentSnapshot, CustomerSnapshot, EventBody, EventKind, EventSource, FulfillmentSnapshot, LineItem,
    NormalizeError, NormalizedEvent, OrderSnapshot, from_json,
};

pub const TYPES: &[&str] = &[
    "order.created",
    "order.paid",
    "order.fulfilled",
    "order.delivered",
    "order.cancelled",
    "order.refunded",
    "order.updated",
];

#[derive(Deserialize)]
struct Event {
    id: ExternalId,
    #[serde(rename = "type")]
    event_type: String,
    occurred_at: String,
    order: Order,
}

#[derive(Deserialize)]
struct Order {
    id: ExternalId,
    number: Option<String>,
    status: Option<String>,
    currency: Option<String>,
    total: Option<Amount>,
    placed_at: Option<String>,
    customer: Option<Customer>,
    #[serde(default)]
    items: Vec<Item>,
    tracking_number: Option<String>,
    delivered_at: Option<String>,
}

#[derive(Deserialize)]
struct Customer {
    id: Option<ExternalId>,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    country: Option<String>,
    whatsapp_consent: Option<bool>,
    consent_at: Option<String>,
}

#[derive(Deserialize)]
struct Item {
    id: Option<ExternalId>,
    product_id: Option<ExternalId>,
    sku: Option<String>,
    title: String,
    quantity: i32,
    unit_price: Option<Amount>,
    url: Option<String>,
}

pub fn normalize(body: &[u8]) -> Result<NormalizedEvent, NormalizeError> {
    let event: Event = from_json(body)?;
    let kind = match event.event_type.as_str() {
        "order.created" => EventKind::OrderCreated,
        "order.paid" => EventKind::OrderPaid,
        "order.fulfilled" => EventKind::OrderFulfilled,
        "order.delivered" => EventKind::OrderDelivered,
        "order.cancelled" => EventKind::OrderCancelled,
        "order.refunded" => EventKind::OrderRefunded,
        "order.updated" => EventKind::OrderUpdated,
        other => {
            return Err(NormalizeError::invalid(
                "type",
                format!("unknown event type `{other}`; expected one of {}", TYPES.join(", ")),
            ));
        }
    };
    let occurred_at = required_time("occurred_at", &event.occurred_at)?;
    let order = event.order;
    let currency = non_empty(order.currency);
    let mut items = Vec::with_capacity(order.items.len());
    for (index, item) in order.items.into_iter().enumerate() {
        if item.quantity < 1 {
            return Err(NormalizeError::invalid(format!("order.items[{index}].quantity"), "must be at least 1"));
        }
        if item.title.trim().is_empty() {
            return Err(NormalizeError::invalid(format!("order.items[{index}].title"), "must not be empty"));
        }
        items.push(LineItem {
            line_key: item.id.map(|id| id.0).unwrap_or_else(|| index.to_string()),
            external_product_id: item.product_id.map(|id| id.0),
            sku: non_empty(item.sku),
            title: item.title.trim().to_owned(),
            quantity: item.quantity,
            unit_price_minor: money(&format!("order.items[{index}].unit_price"), item.unit_price, currency.as_deref())?,
            product_url: non_empty(item.url),
        });
    }
    let customer = match order.customer {
        Some(customer) => Some(CustomerSnapshot {
            external_id: customer.id.map(|id| id.0),
            name: non_empty(customer.name),
            email: non_empty(customer.email),
            phone: non_empty(customer.phone),
            country_code: non_empty(customer.country).map(|c| c.to_ascii_uppercase()),
            messaging_consent: match customer.whatsapp_consent {
                Some(granted) => Some(ConsentSnapshot {
                    granted,
                    source: "generic:whatsapp_consent".to_owned(),
                    recorded_at: optional_time("order.customer.consent_at", customer.consent_at.as_deref())?,
                }),
                None => None,
            },
        }),
        None => None,
    };
    let delivered_at = optional_time("order.delivered_at", order.delivered_at.as_deref())?
        .or((kind == EventKind::OrderDelivered).then_some(occurred_at));
    let fulfillment = (order.tracking_number.is_some() || delivered_at.is_some()).then(|| FulfillmentSnapshot {
        external_id: None,
        shipment_status: delivered_at.map(|_| "delivered".to_owned()),
        tracking_number: non_empty(order.tracking_number),
        delivered_at,
    });
    Ok(NormalizedEvent {
        source: EventSource::Generic,
        kind,
        topic: event.event_type,
        dedup_key: format!("event:{}", event.id.0),
        platform_event_id: Some(event.id.0),
        occurred_at,
        body: EventBody::Order(Box::new(OrderSnapshot {
            external_order_id: order.id.0,
            order_number: non_empty(order.number),
            platform_status: non_empty(order.status),
            total_minor: money("order.total", order.total, currency.as_deref())?,
            currency,
            placed_at: optional_time("order.placed_at", order.placed_at.as_deref())?,
            customer,
            items,
            fulfillment,
        })),
    })
}

fn required_time(field: &str, text: &str) -> Result<DateTime<Utc>, NormalizeError> {
    timestamp(text)
        .ok_or_else(|| NormalizeError::invalid(field, "must be an RFC 3339 timestamp like 2026-11-20T10:00:00Z"))
}

fn optional_time(field: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, NormalizeError> {
    text.map(|t| required_time(field, t)).transpose()
}

fn money(field: &str, amount: Option<Amount>, currency: Option<&str>) -> Result<Option<i64>, NormalizeError> {
    amount
        .map(|a| {
            minor_units(&a.0, currency).ok_or_else(|| {
                NormalizeError::invalid(
                    field,
                    format!("`{}` is not an amount in {}", a.0, currency.unwrap_or("the currency")),
                )
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const EVENT: &str = r#"{
        "id": "evt_1001_delivered", "type": "order.delivered", "occurred_at": "2026-11-20T10:00:00Z",
        "order": {"id": "1001", "currency": "EUR", "total": "49.90",
                  "customer": {"name": "Ada", "phone": "+905551112233", "country": "tr", "whatsapp_consent": true},
                  "items": [{"sku": "SERUM-30", "title": "Vitamin C Serum", "quantity": 1, "unit_price": "49.90"}]}
    }"#;

    #[test]
    fn a_delivered_event_is_normalized() {
        let event = normalize(EVENT.as_bytes()).expect("valid");
        assert_eq!(event.kind, EventKind::OrderDelivered);
        assert_eq!(event.dedup_key, "event:evt_1001_delivered");
        let EventBody::Order(order) = event.body else { panic!("order") };
        assert_eq!(order.total_minor, Some(4990));
        assert_eq!(order.items[0].line_key, "0");
        assert_eq!(order.fulfillment.and_then(|f| f.delivered_at), Some(event.occurred_at));
        assert_eq!(order.customer.and_then(|c| c.country_code).as_deref(), Some("TR"));
    }

    #[test]
    fn each_invalid_field_is_named() {
        let cases = [
            (EVENT.replace("order.delivered", "order.teleported"), "type"),
            (EVENT.replace("2026-11-20T10:00:00Z", "last tuesday"), "occurred_at"),
            (EVENT.replace(r#""quantity": 1"#, r#""quantity": 0"#), "order.items[0].quantity"),
            (EVENT.replace(r#""total": "49.90""#, r#""total": "49.9.0""#), "order.total"),
            (EVENT.replace(r#""id": "1001", "#, ""), "order.id"),
            (EVENT.replace(r#""title": "Vitamin C Serum", "#, ""), "order.items[0].title"),
        ];
        for (body, field) in cases {
            match normalize(body.as_bytes()) {
                Err(NormalizeError::InvalidField { field: named, message }) => assert_eq!(named, field, "{message}"),
                other => panic!("expected an error naming {field}, got {other:?}"),
            }
        }
    }
}

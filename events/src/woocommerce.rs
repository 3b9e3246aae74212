//! WooCommerce order webhooks (REST API v3 order shape).
//!
//! WooCommerce has no delivery state of its own; stores that track delivery use a custom
//! `delivered` status, which we honour. `completed` means shipped, so it maps to fulfilled.

use chrono::Utc;
use serde::Deserialize;

use crate::parse::{Amount, ExternalId, full_name, minor_units, non_empty, timestamp};
use crate::{
    CustomerSnapshot, EventBody, EventKind, EventSource, LineItem, NormalizeError, NormalizedEvent, OrderSnapshot,
    from_json,
};

pub const TOPICS: &[&str] = &["order.created", "order.updated", "order.deleted", "order.restored"];

pub struct Delivery<'a> {
    pub topic: &'a str,
    pub delivery_id: &'a str,
}

/// Normalizes a verified body; `Ok(None)` for a topic we do not act on.
pub fn normalize(delivery: &Delivery<'_>, body: &[u8]) -> Result<Option<NormalizedEvent>, NormalizeError> {
    if !TOPICS.contains(&delivery.topic) {
        return Ok(None);
    }
    let order: Order = from_json(body)?;
    let kind = match delivery.topic {
        "order.created" => EventKind::OrderCreated,
        "order.deleted" => EventKind::OrderCancelled,
        _ => kind_from_status(order.status.as_deref()),
    };
    let occurred_at = order
        .date_modified_gmt
        .as_deref()
        .or(order.date_created_gmt.as_deref())
        .and_then(timestamp)
        .unwrap_or_else(Utc::now);
    Ok(Some(NormalizedEvent {
        source: EventSource::WooCommerce,
        kind,
        topic: delivery.topic.to_owned(),
        dedup_key: format!("delivery:{}", delivery.delivery_id),
        platform_event_id: None,
        occurred_at,
        body: EventBody::Order(Box::new(order.into_snapshot())),
    }))
}

fn kind_from_status(status: Option<&str>) -> EventKind {
    match status {
        Some("processing") => EventKind::OrderPaid,
        Some("completed") => EventKind::OrderFulfilled,
        Some("delivered") => EventKind::OrderDelivered,
        Some("cancelled" | "trash") => EventKind::OrderCancelled,
        Some("refunded") => EventKind::OrderRefunded,
        _ => EventKind::OrderUpdated,
    }
}

#[derive(Deserialize)]
struct Order {
    id: ExternalId,
    number: Option<String>,
    status: Option<String>,
    currency: Option<String>,
    total: Option<Amount>,
    date_created_gmt: Option<String>,
    date_modified_gmt: Option<String>,
    customer_id: Option<u64>,
    billing: Option<Address>,
    shipping: Option<Address>,
    #[serde(default)]
    line_items: Vec<OrderLine>,
}

#[derive(Deserialize)]
struct Address {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    country: Option<String>,
}

#[derive(Deserialize)]
struct OrderLine {
    id: ExternalId,
    name: Option<String>,
    product_id: Option<ExternalId>,
    sku: Option<String>,
    quantity: i32,
    price: Option<Amount>,
}

impl Order {
    fn into_snapshot(self) -> OrderSnapshot {
        let currency = non_empty(self.currency);
        let billing = self.billing.as_ref();
        let shipping = self.shipping.as_ref();
        let customer = CustomerSnapshot {
            // WooCommerce uses 0 for guest checkouts.
            external_id: self.customer_id.filter(|id| *id != 0).map(|id| id.to_string()),
            name: billing
                .and_then(|a| full_name(a.first_name.as_deref(), a.last_name.as_deref()))
                .or_else(|| shipping.and_then(|a| full_name(a.first_name.as_deref(), a.last_name.as_deref()))),
            email: non_empty(billing.and_then(|a| a.email.clone())),
            phone: non_empty(billing.and_then(|a| a.phone.clone()))
                .or_else(|| non_empty(shipping.and_then(|a| a.phone.clone()))),
            country_code: non_empty(shipping.and_then(|a| a.country.clone()))
                .or_else(|| non_empty(billing.and_then(|a| a.country.clone()))),
            messaging_consent: None,
        };
        let items = self
            .line_items
            .into_iter()
            // Product ids of 0 are deleted products.
            .map(|line| LineItem {
                line_key: line.id.0,
                external_product_id: line.product_id.map(|id| id.0).filter(|id| id != "0"),
                sku: non_empty(line.sku),
                title: non_empty(line.name).unwrap_or_default(),
                quantity: line.quantity,
                unit_price_minor: line.price.and_then(|p| minor_units(&p.0, currency.as_deref())),
                product_url: None,
            })
            .collect();
        OrderSnapshot {
            external_order_id: self.id.0,
            order_number: non_empty(self.number),
            platform_status: non_empty(self.status),
            total_minor: self.total.and_then(|t| minor_units(&t.0, currency.as_deref())),
            currency,
            placed_at: self.date_created_gmt.as_deref().and_then(timestamp),
            customer: (customer != CustomerSnapshot::default()).then_some(customer),
            items,
            fulfillment: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &str = r#"{
        "id": 727, "number": "727", "status": "processing", "currency": "EUR", "total": "29.35",
        "date_created_gmt": "2026-11-20T10:00:00", "date_modified_gmt": "2026-11-20T11:00:00",
        "customer_id": 0,
        "billing": {"first_name": "John", "last_name": "Doe", "email": "john.doe@example.com", "phone": "(555) 555-5555", "country": "US"},
        "shipping": {"first_name": "John", "last_name": "Doe", "country": "DE"},
        "line_items": [{"id": 315, "name": "Woo Single #1", "product_id": 93, "sku": "", "quantity": 2, "price": 6}]
    }"#;

    #[test]
    fn status_decides_the_kind_of_an_update() {
        let cases = [
            ("order.created", "processing", EventKind::OrderCreated),
            ("order.updated", "processing", EventKind::OrderPaid),
            ("order.updated", "completed", EventKind::OrderFulfilled),
            ("order.updated", "delivered", EventKind::OrderDelivered),
            ("order.updated", "cancelled", EventKind::OrderCancelled),
            ("order.updated", "refunded", EventKind::OrderRefunded),
            ("order.updated", "on-hold", EventKind::OrderUpdated),
            ("order.deleted", "processing", EventKind::OrderCancelled),
            ("order.restored", "pending", EventKind::OrderUpdated),
        ];
        for (topic, status, expected) in cases {
            let body = ORDER.replace(r#""status": "processing""#, &format!(r#""status": "{status}""#));
            let event =
                normalize(&Delivery { topic, delivery_id: "d1" }, body.as_bytes()).expect("ok").expect("handled");
            assert_eq!(event.kind, expected, "{topic} with status {status}");
        }
    }

    #[test]
    fn order_fields_are_normalized() {
        let event = normalize(&Delivery { topic: "order.updated", delivery_id: "abc" }, ORDER.as_bytes())
            .expect("ok")
            .expect("handled");
        assert_eq!(event.dedup_key, "delivery:abc");
        assert_eq!(event.occurred_at.to_rfc3339(), "2026-11-20T11:00:00+00:00");
        let EventBody::Order(order) = event.body else { panic!("order") };
        assert_eq!(order.total_minor, Some(2935));
        assert_eq!(order.items[0].unit_price_minor, Some(600));
        assert_eq!(order.items[0].sku, None);
        let customer = order.customer.expect("customer");
        assert_eq!(customer.external_id, None);
        assert_eq!(customer.country_code.as_deref(), Some("DE"));
        assert_eq!(customer.phone.as_deref(), Some("(555) 555-5555"));
    }

    #[test]
    fn unknown_topics_are_ignored_and_missing_ids_named() {
        assert_eq!(normalize(&Delivery { topic: "product.created", delivery_id: "x" }, b"{}"), Ok(None));
        let error = normalize(&Delivery { topic: "order.updated", delivery_id: "x" }, br#"{"status": "processing"}"#)
            .expect_err("no id");
        assert_eq!(error, NormalizeError::invalid("id", "missing field `id`"));
    }
}

//! Shopify order webhooks (API 2024-10 and later shapes).
//!
//! Delivery is not a topic of its own: it arrives as `shipment_status: "delivered"` on a
//! fulfillment (`fulfillments/update`, or inside an order's `fulfillments`) or as
//! `status: "delivered"` on a fulfillment event.

pub mod privacy;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::parse::{Amount, ExternalId, full_name, minor_units, non_empty, timestamp};
use crate::{
    ConsentSnapshot, CustomerSnapshot, EventBody, EventKind, EventSource, FulfillmentSnapshot, LineItem,
    NormalizeError, NormalizedEvent, OrderSnapshot, from_json,
};

/// The topics we subscribe to.
pub const TOPICS: &[&str] = &[
    "orders/create",
    "orders/updated",
    "orders/paid",
    "orders/fulfilled",
    "orders/cancelled",
    "refunds/create",
    "fulfillments/create",
    "fulfillments/update",
    "fulfillment_events/create",
];

/// A shop's myshopify.com domain, lower-cased: how Shopify names a shop in the
/// `X-Shopify-Shop-Domain` header and in privacy webhooks. `None` for anything else.
pub fn shop_domain(value: &str) -> Option<String> {
    let domain = value.trim().to_ascii_lowercase();
    let name = domain.strip_suffix(".myshopify.com")?;
    let well_formed = (1..=63).contains(&name.len())
        && !name.starts_with('-')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    well_formed.then_some(domain)
}

/// Headers that identify one delivery.
pub struct Delivery<'a> {
    pub topic: &'a str,
    pub webhook_id: &'a str,
    pub event_id: Option<&'a str>,
    pub triggered_at: Option<&'a str>,
}

/// Normalizes a verified body; `Ok(None)` for a topic we do not act on.
pub fn normalize(delivery: &Delivery<'_>, body: &[u8]) -> Result<Option<NormalizedEvent>, NormalizeError> {
    let (kind, snapshot, changed_at) = match delivery.topic {
        "orders/create" | "orders/updated" | "orders/paid" | "orders/fulfilled" | "orders/cancelled" => {
            let order: Order = from_json(body)?;
            let kind = order_kind(delivery.topic, &order);
            let changed_at = order.updated_at.as_deref().and_then(timestamp);
            (kind, order.into_snapshot(), changed_at)
        }
        "refunds/create" => {
            let refund: Refund = from_json(body)?;
            let changed_at = refund.created_at.as_deref().and_then(timestamp);
            let snapshot = OrderSnapshot { external_order_id: refund.order_id.0, ..Default::default() };
            (EventKind::OrderRefunded, snapshot, changed_at)
        }
        "fulfillments/create" | "fulfillments/update" => {
            let fulfillment: Fulfillment = from_json(body)?;
            let delivered = fulfillment.is_delivered();
            let changed_at =
                fulfillment.updated_at.as_deref().or(fulfillment.created_at.as_deref()).and_then(timestamp);
            let kind = if delivered { EventKind::OrderDelivered } else { EventKind::OrderFulfilled };
            let snapshot = OrderSnapshot {
                external_order_id: fulfillment.order_id.0.clone(),
                fulfillment: Some(fulfillment.snapshot(delivered.then_some(changed_at).flatten())),
                ..Default::default()
            };
            (kind, snapshot, changed_at)
        }
        "fulfillment_events/create" => {
            let event: FulfillmentEvent = from_json(body)?;
            let happened_at = event.happened_at.as_deref().or(event.created_at.as_deref()).and_then(timestamp);
            let delivered = event.status.as_deref() == Some("delivered");
            let kind = if delivered { EventKind::OrderDelivered } else { EventKind::OrderUpdated };
            let snapshot = OrderSnapshot {
                external_order_id: event.order_id.0,
                fulfillment: Some(FulfillmentSnapshot {
                    external_id: event.fulfillment_id.map(|id| id.0),
                    shipment_status: event.status,
                    tracking_number: None,
                    delivered_at: if delivered { happened_at } else { None },
                }),
                ..Default::default()
            };
            (kind, snapshot, happened_at)
        }
        topic if privacy::TOPICS.contains(&topic) => {
            return privacy::normalize(delivery, body);
        }
        _ => return Ok(None),
    };
    let occurred_at = changed_at.or_else(|| delivery.triggered_at.and_then(timestamp)).unwrap_or_else(Utc::now);
    Ok(Some(NormalizedEvent {
        source: EventSource::Shopify,
        kind,
        topic: delivery.topic.to_owned(),
        dedup_key: format!("webhook:{}", delivery.webhook_id),
        platform_event_id: delivery.event_id.map(str::to_owned),
        occurred_at,
        body: EventBody::Order(Box::new(snapshot)),
    }))
}

fn order_kind(topic: &str, order: &Order) -> EventKind {
    match topic {
        "orders/create" => EventKind::OrderCreated,
        "orders/paid" => EventKind::OrderPaid,
        "orders/fulfilled" => EventKind::OrderFulfilled,
        "orders/cancelled" => EventKind::OrderCancelled,
        // orders/updated says only "something changed": read the state it carries.
        _ if order.cancelled_at.is_some() => EventKind::OrderCancelled,
        _ if order.financial_status.as_deref() == Some("refunded") => EventKind::OrderRefunded,
        _ if order.fulfillments.iter().any(Fulfillment::is_delivered) => EventKind::OrderDelivered,
        _ => EventKind::OrderUpdated,
    }
}

#[derive(Deserialize)]
struct Order {
    id: ExternalId,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    cancelled_at: Option<String>,
    financial_status: Option<String>,
    fulfillment_status: Option<String>,
    currency: Option<String>,
    total_price: Option<Amount>,
    customer: Option<Customer>,
    shipping_address: Option<Address>,
    billing_address: Option<Address>,
    #[serde(default)]
    line_items: Vec<OrderLine>,
    #[serde(default)]
    fulfillments: Vec<Fulfillment>,
}

#[derive(Deserialize)]
struct Customer {
    id: Option<ExternalId>,
    email: Option<String>,
    phone: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    sms_marketing_consent: Option<MarketingConsent>,
}

#[derive(Deserialize)]
struct MarketingConsent {
    state: Option<String>,
    consent_updated_at: Option<String>,
}

#[derive(Deserialize)]
struct Address {
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
    country_code: Option<String>,
}

#[derive(Deserialize)]
struct OrderLine {
    id: ExternalId,
    product_id: Option<ExternalId>,
    sku: Option<String>,
    title: Option<String>,
    name: Option<String>,
    quantity: i32,
    price: Option<Amount>,
}

#[derive(Deserialize)]
struct Fulfillment {
    id: Option<ExternalId>,
    order_id: ExternalId,
    shipment_status: Option<String>,
    tracking_number: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
}

impl Fulfillment {
    fn is_delivered(&self) -> bool {
        self.shipment_status.as_deref() == Some("delivered")
    }

    fn snapshot(&self, delivered_at: Option<DateTime<Utc>>) -> FulfillmentSnapshot {
        FulfillmentSnapshot {
            external_id: self.id.as_ref().map(|id| id.0.clone()),
            shipment_status: self.shipment_status.clone(),
            tracking_number: self.tracking_number.clone(),
            delivered_at,
        }
    }
}

#[derive(Deserialize)]
struct Refund {
    order_id: ExternalId,
    created_at: Option<String>,
}

#[derive(Deserialize)]
struct FulfillmentEvent {
    order_id: ExternalId,
    fulfillment_id: Option<ExternalId>,
    status: Option<String>,
    happened_at: Option<String>,
    created_at: Option<String>,
}

impl Order {
    fn into_snapshot(self) -> OrderSnapshot {
        let customer = self.customer_snapshot();
        let currency = non_empty(self.currency);
        let delivered = self.fulfillments.iter().find(|f| f.is_delivered());
        let fulfillment = delivered.or(self.fulfillments.last()).map(|f| {
            let delivered_at = f.is_delivered().then(|| f.updated_at.as_deref().and_then(timestamp)).flatten();
            f.snapshot(delivered_at)
        });
        let items = self
            .line_items
            .into_iter()
            .map(|line| LineItem {
                line_key: line.id.0,
                external_product_id: line.product_id.map(|id| id.0),
                sku: non_empty(line.sku),
                title: non_empty(line.title).or(non_empty(line.name)).unwrap_or_default(),
                quantity: line.quantity,
                unit_price_minor: line.price.and_then(|p| minor_units(&p.0, currency.as_deref())),
                product_url: None,
            })
            .collect();
        let platform_status =
            [self.financial_status, self.fulfillment_status].into_iter().flatten().collect::<Vec<_>>().join("/");
        OrderSnapshot {
            external_order_id: self.id.0,
            order_number: non_empty(self.name),
            platform_status: (!platform_status.is_empty()).then_some(platform_status),
            total_minor: self.total_price.and_then(|p| minor_units(&p.0, currency.as_deref())),
            currency,
            placed_at: self.created_at.as_deref().and_then(timestamp),
            customer,
            items,
            fulfillment,
        }
    }

    fn customer_snapshot(&self) -> Option<CustomerSnapshot> {
        let customer = self.customer.as_ref();
        let shipping = self.shipping_address.as_ref();
        let billing = self.billing_address.as_ref();
        let name = customer
            .and_then(|c| full_name(c.first_name.as_deref(), c.last_name.as_deref()))
            .or_else(|| shipping.and_then(|a| full_name(a.first_name.as_deref(), a.last_name.as_deref())));
        let phone = non_empty(customer.and_then(|c| c.phone.clone()))
            .or_else(|| non_empty(self.phone.clone()))
            .or_else(|| non_empty(shipping.and_then(|a| a.phone.clone())))
            .or_else(|| non_empty(billing.and_then(|a| a.phone.clone())));
        let email = non_empty(self.email.clone()).or_else(|| non_empty(customer.and_then(|c| c.email.clone())));
        let country_code = non_empty(shipping.and_then(|a| a.country_code.clone()))
            .or_else(|| non_empty(billing.and_then(|a| a.country_code.clone())));
        let messaging_consent = customer.and_then(|c| c.sms_marketing_consent.as_ref()).and_then(|consent| {
            let granted = match consent.state.as_deref()? {
                "subscribed" => true,
                "unsubscribed" | "redacted" => false,
                _ => return None,
            };
            Some(ConsentSnapshot {
                granted,
                source: "shopify:sms_marketing_consent".to_owned(),
                recorded_at: consent.consent_updated_at.as_deref().and_then(timestamp),
            })
        });
        let snapshot = CustomerSnapshot {
            external_id: customer.and_then(|c| c.id.as_ref()).map(|id| id.0.clone()),
            name,
            email,
            phone,
            country_code,
            messaging_consent,
        };
        (snapshot != CustomerSnapshot::default()).then_some(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_domains_are_myshopify_names_lower_cased() {
        assert_eq!(shop_domain(" Snowdevil.MyShopify.com ").as_deref(), Some("snowdevil.myshopify.com"));
        assert_eq!(shop_domain("glow-store-2.myshopify.com").as_deref(), Some("glow-store-2.myshopify.com"));
        for bad in ["snowdevil.com", ".myshopify.com", "-x.myshopify.com", "a.b.myshopify.com", "x.myshopify.com.evil"]
        {
            assert_eq!(shop_domain(bad), None, "{bad}");
        }
    }

    fn delivery(topic: &str) -> Delivery<'_> {
        Delivery {
            topic,
            webhook_id: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            event_id: Some("98880550-7158-44d4-b7cd-2c97c8a091b5"),
            triggered_at: None,
        }
    }

    const ORDER: &str = r##"{
        "id": 820982911946154508, "name": "#9999", "email": "jon@example.com", "phone": null,
        "created_at": "2026-11-20T12:00:00-05:00", "updated_at": "2026-11-21T09:30:00-05:00",
        "cancelled_at": null, "financial_status": "paid", "fulfillment_status": null,
        "currency": "USD", "total_price": "403.00",
        "customer": {"id": 115310627314723954, "email": "jon@example.com", "phone": "+16135551212",
                      "first_name": "Jon", "last_name": "Snow",
                      "sms_marketing_consent": {"state": "subscribed", "opt_in_level": "single_opt_in", "consent_updated_at": "2026-11-01T00:00:00Z"}},
        "shipping_address": {"first_name": "Jon", "last_name": "Snow", "phone": "555-625-1199", "country_code": "CA"},
        "line_items": [{"id": 866550311766439020, "product_id": 632910392, "sku": "IPOD-342-N", "title": "IPod Nano", "quantity": 2, "price": "199.00"}],
        "fulfillments": []
    }"##;

    #[test]
    fn an_order_becomes_a_created_event_with_customer_and_items() {
        let event = normalize(&delivery("orders/create"), ORDER.as_bytes()).expect("valid").expect("handled");
        assert_eq!(event.kind, EventKind::OrderCreated);
        assert_eq!(event.dedup_key, "webhook:b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
        assert_eq!(event.occurred_at.to_rfc3339(), "2026-11-21T14:30:00+00:00");
        let EventBody::Order(order) = event.body else { panic!("order body") };
        assert_eq!(order.external_order_id, "820982911946154508");
        assert_eq!(order.total_minor, Some(40300));
        assert_eq!(order.items[0].quantity, 2);
        assert_eq!(order.items[0].unit_price_minor, Some(19900));
        let customer = order.customer.expect("customer");
        assert_eq!(customer.phone.as_deref(), Some("+16135551212"));
        assert_eq!(customer.country_code.as_deref(), Some("CA"));
        assert!(customer.messaging_consent.expect("consent").granted);
    }

    #[test]
    fn delivery_comes_from_fulfillments_and_fulfillment_events() {
        let fulfillment = r#"{"id": 255858046, "order_id": 450789469, "status": "success", "shipment_status": "delivered", "updated_at": "2026-11-22T10:00:00Z"}"#;
        let event = normalize(&delivery("fulfillments/update"), fulfillment.as_bytes()).expect("ok").expect("handled");
        assert_eq!(event.kind, EventKind::OrderDelivered);
        assert_eq!(event.subject_id(), Some("450789469"));

        let in_transit = r#"{"id": 1, "order_id": 450789469, "shipment_status": "in_transit"}"#;
        let event = normalize(&delivery("fulfillments/update"), in_transit.as_bytes()).expect("ok").expect("handled");
        assert_eq!(event.kind, EventKind::OrderFulfilled);

        let fulfillment_event = r#"{"id": 944956395, "fulfillment_id": 255858046, "status": "delivered", "happened_at": "2026-11-22T11:00:00Z", "order_id": 450789469}"#;
        let event = normalize(&delivery("fulfillment_events/create"), fulfillment_event.as_bytes())
            .expect("ok")
            .expect("handled");
        assert_eq!(event.kind, EventKind::OrderDelivered);
        assert_eq!(event.occurred_at.to_rfc3339(), "2026-11-22T11:00:00+00:00");
    }

    #[test]
    fn an_updated_order_reads_the_state_it_carries() {
        let cancelled = ORDER.replace(r#""cancelled_at": null"#, r#""cancelled_at": "2026-11-21T10:00:00Z""#);
        let event = normalize(&delivery("orders/updated"), cancelled.as_bytes()).expect("ok").expect("handled");
        assert_eq!(event.kind, EventKind::OrderCancelled);
        let plain = normalize(&delivery("orders/updated"), ORDER.as_bytes()).expect("ok").expect("handled");
        assert_eq!(plain.kind, EventKind::OrderUpdated);
    }

    #[test]
    fn bad_fields_are_named() {
        let error = normalize(&delivery("orders/create"), br#"{"name": "x"}"#).expect_err("no id");
        assert_eq!(error, NormalizeError::invalid("id", "missing field `id`"));
        let error =
            normalize(&delivery("orders/create"), br#"{"id": 1, "line_items": [{"id": 2, "quantity": "two"}]}"#)
                .expect_err("bad quantity");
        assert!(
            matches!(&error, NormalizeError::InvalidField { field, .. } if field == "line_items[0].quantity"),
            "{error:?}"
        );
        assert!(matches!(normalize(&delivery("orders/create"), b"{not json"), Err(NormalizeError::Malformed(_))));
        assert_eq!(normalize(&delivery("products/create"), b"{}"), Ok(None));
    }
}

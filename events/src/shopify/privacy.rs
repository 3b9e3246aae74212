//! Shopify's mandatory privacy webhooks, which every app must accept and verify like any other
//! delivery: `customers/data_request` (send the merchant what is held about a customer),
//! `customers/redact` (erase a customer) and `shop/redact` (erase every customer of the shop,
//! sent 48 hours after the app is uninstalled).
//!
//! Shopify signs the body only; the topic travels in a header that anyone replaying a signed
//! body may change. So each topic must carry exactly the fields Shopify documents for it
//! (`shop_id` and `shop_domain` always; `customer`, `orders_requested` and `data_request` for a
//! data request; `customer` and `orders_to_redact` for a customer erasure; nothing else for a
//! shop erasure), and a field that belongs to another topic is refused: an order, or another
//! topic's request, cannot be passed off as an erasure. A request is known by the digest of its
//! body, so the same signed body sent again under a fresh webhook id is stored once.

use chrono::Utc;
use serde::Deserialize;

use super::{Delivery, shop_domain};
use crate::parse::{ExternalId, non_empty, timestamp};
use crate::store_request::{StoreCustomer, StoreRequest, StoreRequestKind};
use crate::{EventBody, EventKind, EventSource, NormalizeError, NormalizedEvent, from_json};

pub const TOPICS: &[&str] = &["customers/data_request", "customers/redact", "shop/redact"];

#[derive(Deserialize)]
struct Payload {
    shop_id: Option<ExternalId>,
    shop_domain: Option<String>,
    customer: Option<Customer>,
    orders_requested: Option<Vec<ExternalId>>,
    orders_to_redact: Option<Vec<ExternalId>>,
    data_request: Option<DataRequest>,
}

#[derive(Deserialize)]
struct Customer {
    id: Option<ExternalId>,
    email: Option<String>,
    phone: Option<String>,
}

#[derive(Deserialize)]
struct DataRequest {
    id: ExternalId,
}

/// The fields each topic carries besides the shop, as Shopify documents them.
fn fields_of(kind: StoreRequestKind) -> &'static [&'static str] {
    match kind {
        StoreRequestKind::DataRequest => &["customer", "orders_requested", "data_request"],
        StoreRequestKind::CustomerRedact => &["customer", "orders_to_redact"],
        StoreRequestKind::ShopRedact => &[],
    }
}

impl Payload {
    fn has(&self, field: &str) -> bool {
        match field {
            "customer" => self.customer.is_some(),
            "orders_requested" => self.orders_requested.is_some(),
            "orders_to_redact" => self.orders_to_redact.is_some(),
            "data_request" => self.data_request.is_some(),
            _ => false,
        }
    }

    /// Refuses a body that lacks a field of `topic`, or carries a field of another topic.
    fn check_fields(&self, kind: StoreRequestKind, topic: &str) -> Result<(), NormalizeError> {
        let own = fields_of(kind);
        if let Some(missing) = own.iter().find(|field| !self.has(field)) {
            return Err(NormalizeError::invalid(*missing, format!("is required for {topic}")));
        }
        let foreign = ["customer", "orders_requested", "orders_to_redact", "data_request"]
            .into_iter()
            .find(|field| !own.contains(field) && self.has(field));
        match foreign {
            Some(field) => Err(NormalizeError::invalid(field, format!("does not belong to {topic}"))),
            None => Ok(()),
        }
    }
}

/// Normalizes a verified privacy webhook; `Ok(None)` for any other topic.
pub fn normalize(delivery: &Delivery<'_>, body: &[u8]) -> Result<Option<NormalizedEvent>, NormalizeError> {
    let (kind, event_kind) = match delivery.topic {
        "customers/data_request" => (StoreRequestKind::DataRequest, EventKind::PrivacyDataRequest),
        "customers/redact" => (StoreRequestKind::CustomerRedact, EventKind::PrivacyCustomerRedact),
        "shop/redact" => (StoreRequestKind::ShopRedact, EventKind::PrivacyShopRedact),
        _ => return Ok(None),
    };
    let payload: Payload = from_json(body)?;
    if payload.shop_id.is_none() {
        return Err(NormalizeError::invalid("shop_id", format!("is required for {}", delivery.topic)));
    }
    let shop = payload
        .shop_domain
        .as_deref()
        .ok_or_else(|| NormalizeError::invalid("shop_domain", format!("is required for {}", delivery.topic)))?;
    let shop = shop_domain(shop)
        .ok_or_else(|| NormalizeError::invalid("shop_domain", "must be the shop's myshopify.com domain"))?;
    payload.check_fields(kind, delivery.topic)?;
    let customer = match payload.customer {
        None => None,
        Some(customer) => {
            let customer = StoreCustomer {
                external_id: customer.id.map(|id| id.0),
                email: non_empty(customer.email),
                phone: non_empty(customer.phone),
            };
            if customer.is_empty() {
                return Err(NormalizeError::invalid("customer", "needs an id, an email or a phone"));
            }
            Some(customer)
        }
    };
    let orders = payload.orders_requested.or(payload.orders_to_redact).unwrap_or_default();
    let occurred_at = delivery.triggered_at.and_then(timestamp).unwrap_or_else(Utc::now);
    Ok(Some(NormalizedEvent {
        source: EventSource::Shopify,
        kind: event_kind,
        topic: delivery.topic.to_owned(),
        dedup_key: body_digest_key(body),
        platform_event_id: delivery.event_id.map(str::to_owned),
        occurred_at,
        body: EventBody::Privacy(StoreRequest {
            kind,
            customer,
            orders: orders.into_iter().map(|id| id.0).collect(),
            request_id: payload.data_request.map(|request| request.id.0),
            shop_domain: Some(shop),
        }),
    }))
}

/// How a privacy request is known among a store's deliveries: the SHA-256 of its body. Shopify
/// sends the same body when it retries, and a replay under a fresh webhook id is the same body.
pub fn body_digest_key(body: &[u8]) -> String {
    use sha2::Digest;
    format!("privacy:{}", hex::encode(sha2::Sha256::digest(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(topic: &str) -> Delivery<'_> {
        Delivery {
            topic,
            webhook_id: "b54557e4-8a5f-4f7d-a0bc-d043b54557e4",
            event_id: Some("event-1"),
            triggered_at: Some("2026-11-23T10:00:00Z"),
        }
    }

    fn request_of(event: &NormalizedEvent) -> &StoreRequest {
        match &event.body {
            EventBody::Privacy(request) => request,
            other => panic!("not a privacy request: {other:?}"),
        }
    }

    #[test]
    fn a_data_request_names_the_customer_the_orders_and_shopifys_request_id() {
        let body = br#"{"shop_id": 954889, "shop_domain": "snowdevil.myshopify.com",
            "orders_requested": [299938, 280263],
            "customer": {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"},
            "data_request": {"id": 9999}}"#;
        let event = normalize(&delivery("customers/data_request"), body).expect("valid").expect("handled");
        assert_eq!(event.kind, EventKind::PrivacyDataRequest);
        assert_eq!(event.kind.as_str(), "privacy_data_request");
        assert_eq!(event.dedup_key, body_digest_key(body));
        assert!(event.dedup_key.starts_with("privacy:") && event.dedup_key.len() == "privacy:".len() + 64);
        assert_eq!(event.subject_id(), None, "the customer is never stored in clear");
        assert_eq!(event.occurred_at.to_rfc3339(), "2026-11-23T10:00:00+00:00");
        let request = request_of(&event);
        assert_eq!(request.kind, StoreRequestKind::DataRequest);
        let customer = request.customer.as_ref().expect("customer");
        assert_eq!(customer.external_id.as_deref(), Some("191167"));
        assert_eq!(customer.email.as_deref(), Some("john@example.com"));
        assert_eq!(customer.phone.as_deref(), Some("555-625-1199"));
        assert_eq!(request.orders, vec!["299938".to_owned(), "280263".to_owned()]);
        assert_eq!(request.request_id.as_deref(), Some("9999"));
        assert_eq!(request.shop_domain.as_deref(), Some("snowdevil.myshopify.com"));
        let printed = format!("{event:?}");
        assert!(!printed.contains("john@example.com") && !printed.contains("555-625-1199"), "{printed}");
    }

    #[test]
    fn a_customer_redact_names_the_orders_to_redact_and_a_shop_redact_no_one() {
        let body = br#"{"shop_id": 954889, "shop_domain": "snowdevil.myshopify.com",
            "customer": {"email": "john@example.com"}, "orders_to_redact": [299938]}"#;
        let event = normalize(&delivery("customers/redact"), body).expect("valid").expect("handled");
        assert_eq!(event.kind, EventKind::PrivacyCustomerRedact);
        let request = request_of(&event);
        assert_eq!(request.customer.as_ref().and_then(|c| c.external_id.clone()), None);
        assert_eq!(request.orders, vec!["299938".to_owned()]);
        assert_eq!(request.request_id, None);

        let body = br#"{"shop_id": 954889, "shop_domain": "snowdevil.myshopify.com"}"#;
        let event = normalize(&delivery("shop/redact"), body).expect("valid").expect("handled");
        assert_eq!(event.kind, EventKind::PrivacyShopRedact);
        assert_eq!(request_of(&event).customer, None);
    }

    #[test]
    fn a_request_that_names_no_one_is_refused_naming_the_field() {
        let shop = r#""shop_id": 954889, "shop_domain": "snowdevil.myshopify.com""#;
        let body = |rest: &str| format!("{{{shop}, {rest}}}").into_bytes();
        let missing =
            normalize(&delivery("customers/redact"), &body(r#""orders_to_redact": []"#)).expect_err("no customer");
        assert_eq!(missing, NormalizeError::invalid("customer", "is required for customers/redact"));
        let empty = normalize(
            &delivery("customers/data_request"),
            &body(r#""customer": {"email": " ", "phone": null}, "orders_requested": [], "data_request": {"id": 1}"#),
        )
        .expect_err("nothing to match");
        assert_eq!(empty, NormalizeError::invalid("customer", "needs an id, an email or a phone"));
        let bad_order =
            normalize(&delivery("customers/redact"), &body(r#""customer": {"id": 1}, "orders_to_redact": [{}]"#))
                .expect_err("bad order id");
        assert!(matches!(&bad_order, NormalizeError::InvalidField { field, .. } if field == "orders_to_redact[0]"));
        assert_eq!(normalize(&delivery("orders/create"), b"{}"), Ok(None));
    }

    #[test]
    fn every_privacy_topic_needs_the_shop() {
        for topic in TOPICS {
            let no_id = normalize(&delivery(topic), br#"{"shop_domain": "snowdevil.myshopify.com"}"#).expect_err(topic);
            assert_eq!(no_id, NormalizeError::invalid("shop_id", format!("is required for {topic}")), "{topic}");
            let no_domain = normalize(&delivery(topic), br#"{"shop_id": 954889}"#).expect_err(topic);
            assert_eq!(
                no_domain,
                NormalizeError::invalid("shop_domain", format!("is required for {topic}")),
                "{topic}"
            );
            let elsewhere = normalize(&delivery(topic), br#"{"shop_id": 954889, "shop_domain": "evil.example.com"}"#)
                .expect_err(topic);
            assert_eq!(elsewhere, NormalizeError::invalid("shop_domain", "must be the shop's myshopify.com domain"));
        }
    }

    #[test]
    fn an_order_or_another_topics_body_cannot_pass_as_a_privacy_request() {
        let order =
            br#"{"id": 450789469, "email": "john@example.com", "customer": {"id": 1, "email": "john@example.com"},
            "line_items": []}"#;
        let redact = br#"{"shop_id": 954889, "shop_domain": "snowdevil.myshopify.com",
            "customer": {"id": 191167}, "orders_to_redact": [299938]}"#;
        let data_request = br#"{"shop_id": 954889, "shop_domain": "snowdevil.myshopify.com",
            "customer": {"id": 191167}, "orders_requested": [299938], "data_request": {"id": 9999}}"#;
        let shop_redact = br#"{"shop_id": 954889, "shop_domain": "snowdevil.myshopify.com"}"#;
        let cases: [(&str, &[u8], NormalizeError); 8] = [
            ("shop/redact", order, NormalizeError::invalid("shop_id", "is required for shop/redact")),
            ("customers/redact", order, NormalizeError::invalid("shop_id", "is required for customers/redact")),
            ("shop/redact", redact, NormalizeError::invalid("customer", "does not belong to shop/redact")),
            ("shop/redact", data_request, NormalizeError::invalid("customer", "does not belong to shop/redact")),
            (
                "customers/redact",
                data_request,
                NormalizeError::invalid("orders_to_redact", "is required for customers/redact"),
            ),
            ("customers/redact", shop_redact, NormalizeError::invalid("customer", "is required for customers/redact")),
            (
                "customers/data_request",
                redact,
                NormalizeError::invalid("orders_requested", "is required for customers/data_request"),
            ),
            (
                "customers/data_request",
                shop_redact,
                NormalizeError::invalid("customer", "is required for customers/data_request"),
            ),
        ];
        for (topic, body, expected) in cases {
            assert_eq!(normalize(&delivery(topic), body), Err(expected.clone()), "{topic}: {expected}");
        }
        let mixed = br#"{"shop_id": 954889, "shop_domain": "snowdevil.myshopify.com",
            "customer": {"id": 191167}, "orders_to_redact": [], "data_request": {"id": 1}}"#;
        assert_eq!(
            normalize(&delivery("customers/redact"), mixed),
            Err(NormalizeError::invalid("data_request", "does not belong to customers/redact"))
        );
    }

    #[test]
    fn the_same_body_is_the_same_request_whatever_its_webhook_id() {
        let body = br#"{"shop_id": 954889, "shop_domain": "snowdevil.myshopify.com"}"#;
        let first = normalize(&delivery("shop/redact"), body).expect("valid").expect("handled");
        let replay = Delivery { webhook_id: "a-fresh-id", ..delivery("shop/redact") };
        let second = normalize(&replay, body).expect("valid").expect("handled");
        assert_eq!(first.dedup_key, second.dedup_key);
        let other =
            normalize(&delivery("shop/redact"), br#"{"shop_id": 954890, "shop_domain": "other.myshopify.com"}"#)
                .expect("valid")
                .expect("handled");
        assert_ne!(first.dedup_key, other.dedup_key);
    }
}

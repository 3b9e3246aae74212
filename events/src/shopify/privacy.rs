//! Shopify's mandatory privacy webhooks, which every app must accept and verify like any other
//! delivery: `customers/data_request` (send the merchant what is held about a customer),
//! `customers/redact` (erase a customer) and `shop/redact` (erase every customer of the shop,
//! sent 48 hours after the app is uninstalled).

use chrono::Utc;
use serde::Deserialize;

use super::Delivery;
use crate::parse::{ExternalId, non_empty, timestamp};
use crate::store_request::{StoreCustomer, StoreRequest, StoreRequestKind};
use crate::{EventBody, EventKind, EventSource, NormalizeError, NormalizedEvent, from_json};

pub const TOPICS: &[&str] = &["customers/data_request", "customers/redact", "shop/redact"];

#[derive(Deserialize)]
struct Payload {
    customer: Option<Customer>,
    #[serde(default)]
    orders_requested: Vec<ExternalId>,
    #[serde(default)]
    orders_to_redact: Vec<ExternalId>,
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

/// Normalizes a verified privacy webhook; `Ok(None)` for any other topic.
pub fn normalize(delivery: &Delivery<'_>, body: &[u8]) -> Result<Option<NormalizedEvent>, NormalizeError> {
    let (kind, event_kind) = match delivery.topic {
        "customers/data_request" => (StoreRequestKind::DataRequest, EventKind::PrivacyDataRequest),
        "customers/redact" => (StoreRequestKind::CustomerRedact, EventKind::PrivacyCustomerRedact),
        "shop/redact" => (StoreRequestKind::ShopRedact, EventKind::PrivacyShopRedact),
        _ => return Ok(None),
    };
    let payload: Payload = from_json(body)?;
    let customer = match kind {
        StoreRequestKind::ShopRedact => None,
        StoreRequestKind::DataRequest | StoreRequestKind::CustomerRedact => {
            let customer = payload.customer.ok_or_else(|| NormalizeError::invalid("customer", "is required"))?;
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
    let orders = match kind {
        StoreRequestKind::DataRequest => payload.orders_requested,
        StoreRequestKind::CustomerRedact => payload.orders_to_redact,
        StoreRequestKind::ShopRedact => Vec::new(),
    };
    let occurred_at = delivery.triggered_at.and_then(timestamp).unwrap_or_else(Utc::now);
    Ok(Some(NormalizedEvent {
        source: EventSource::Shopify,
        kind: event_kind,
        topic: delivery.topic.to_owned(),
        dedup_key: format!("webhook:{}", delivery.webhook_id),
        platform_event_id: delivery.event_id.map(str::to_owned),
        occurred_at,
        body: EventBody::Privacy(StoreRequest {
            kind,
            customer,
            orders: orders.into_iter().map(|id| id.0).collect(),
            request_id: payload.data_request.map(|request| request.id.0),
        }),
    }))
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
        assert_eq!(event.dedup_key, "webhook:b54557e4-8a5f-4f7d-a0bc-d043b54557e4");
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
        let missing = normalize(&delivery("customers/redact"), br#"{"shop_id": 1}"#).expect_err("no customer");
        assert_eq!(missing, NormalizeError::invalid("customer", "is required"));
        let empty = normalize(&delivery("customers/data_request"), br#"{"customer": {"email": " ", "phone": null}}"#)
            .expect_err("nothing to match");
        assert_eq!(empty, NormalizeError::invalid("customer", "needs an id, an email or a phone"));
        let bad_order =
            normalize(&delivery("customers/redact"), br#"{"customer": {"id": 1}, "orders_to_redact": [{}]}"#)
                .expect_err("bad order id");
        assert!(matches!(&bad_order, NormalizeError::InvalidField { field, .. } if field == "orders_to_redact[0]"));
        assert_eq!(normalize(&delivery("orders/create"), b"{}"), Ok(None));
    }
}

//! WooCommerce deliveries: the first byte picks the topic (one we do not handle included), the
//! first line is `X-WC-Webhook-Delivery-ID`, the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recete_events::woocommerce::{self, Delivery};
use recete_events::{EventBody, EventSource};
use recete_fuzz::{check_error, check_event, header_line, pick};

const UNHANDLED: &str = "coupon.created";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let topics: Vec<&str> = woocommerce::TOPICS.iter().copied().chain([UNHANDLED]).collect();
    let topic = pick(selector, &topics);
    // The API refuses a delivery without this header before normalizing.
    let (Some(delivery_id), body) = header_line(rest) else { return };
    if delivery_id.is_empty() {
        return;
    }
    match woocommerce::normalize(&Delivery { topic, delivery_id }, body) {
        Ok(None) => assert_eq!(topic, UNHANDLED, "a handled topic was ignored"),
        Ok(Some(event)) => {
            assert_ne!(topic, UNHANDLED, "an unhandled topic became an event");
            assert_eq!(event.source, EventSource::WooCommerce);
            assert_eq!(event.topic, topic);
            assert_eq!(event.dedup_key, format!("delivery:{delivery_id}"));
            assert!(matches!(event.body, EventBody::Order(_)), "not an order: {:?}", event.body);
            check_event(&event);
        }
        Err(error) => check_error(&error),
    }
});

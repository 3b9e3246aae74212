//! Shopify deliveries: the first byte picks the topic (one we do not handle included), the first
//! line is `X-Shopify-Triggered-At`, the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recete_events::shopify::{self, Delivery, privacy};
use recete_events::{EventBody, EventSource};
use recete_fuzz::{check_error, check_event, header_line, pick};

const UNHANDLED: &str = "app/uninstalled";
const WEBHOOK_ID: &str = "b54557e4-8a5f-4f7d-a0bc-d043b54557e4";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let topics: Vec<&str> = shopify::TOPICS.iter().chain(privacy::TOPICS).copied().chain([UNHANDLED]).collect();
    let topic = pick(selector, &topics);
    let (triggered_at, body) = header_line(rest);
    let delivery = Delivery { topic, webhook_id: WEBHOOK_ID, event_id: Some("event-1"), triggered_at };
    match shopify::normalize(&delivery, body) {
        Ok(None) => assert_eq!(topic, UNHANDLED, "a handled topic was ignored"),
        Ok(Some(event)) => {
            assert_ne!(topic, UNHANDLED, "an unhandled topic became an event");
            assert_eq!(event.source, EventSource::Shopify);
            assert_eq!(event.topic, topic);
            let is_privacy = privacy::TOPICS.contains(&topic);
            // A privacy request is one request whatever webhook id carries it: its key is the
            // body's digest, so a replay under a fresh id is a duplicate.
            let expected_key =
                if is_privacy { privacy::body_digest_key(body) } else { format!("webhook:{WEBHOOK_ID}") };
            assert_eq!(event.dedup_key, expected_key);
            assert_eq!(event.platform_event_id.as_deref(), Some("event-1"));
            assert_eq!(matches!(event.body, EventBody::Privacy(_)), is_privacy, "{topic} gave {:?}", event.body);
            check_event(&event);
        }
        Err(error) => check_error(&error),
    }
});

//! Our own signed order format: the whole input is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recete_events::{EventBody, EventSource, generic};
use recete_fuzz::{check_error, check_event};

fuzz_target!(|body: &[u8]| {
    match generic::normalize(body) {
        Ok(event) => {
            assert_eq!(event.source, EventSource::Generic);
            assert!(generic::TYPES.contains(&event.topic.as_str()), "unknown type accepted: {}", event.topic);
            let id = event.platform_event_id.as_deref().expect("a generic event always has an id");
            assert_eq!(event.dedup_key, format!("event:{id}"));
            let EventBody::Order(order) = &event.body else { panic!("not an order: {:?}", event.body) };
            for item in &order.items {
                assert!(item.quantity >= 1, "quantity {} accepted", item.quantity);
                assert!(!item.title.is_empty() && item.title.trim() == item.title, "title {:?} kept", item.title);
            }
            check_event(&event);
        }
        Err(error) => check_error(&error),
    }
});

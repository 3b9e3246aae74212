//! WhatsApp notifications: the whole input is the body. Routing reads the phone number ids
//! before the signature is checked and normalizing runs after, so every event must belong to a
//! phone number id that routing saw, or it would be dropped or sent to the wrong merchant.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recete_events::{EventBody, EventKind, EventSource, whatsapp};
use recete_fuzz::{check_error, check_event};

fuzz_target!(|body: &[u8]| {
    let routed = whatsapp::phone_number_ids(body);
    if let Ok(ids) = &routed {
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "phone number ids repeat: {ids:?}");
    }
    match whatsapp::normalize(body) {
        Ok(events) => {
            let ids = routed.expect("a body that normalizes has readable routing");
            for event in &events {
                assert_eq!(event.source, EventSource::WhatsApp);
                let phone_number_id = match &event.body {
                    EventBody::InboundMessage(message) => {
                        assert_eq!(event.kind, EventKind::MessageInbound);
                        &message.phone_number_id
                    }
                    EventBody::MessageStatus(status) => {
                        assert_eq!(event.kind, EventKind::MessageStatus);
                        &status.phone_number_id
                    }
                    EventBody::MarketingPreference(preference) => {
                        assert_eq!(event.kind, EventKind::MarketingPreference);
                        &preference.phone_number_id
                    }
                    other => panic!("not a message, status or preference: {other:?}"),
                };
                assert!(ids.contains(phone_number_id), "{phone_number_id} is not among the routed ids {ids:?}");
                check_event(event);
            }
        }
        Err(error) => check_error(&error),
    }
});

//! What every target checks of a normalized event, and how targets read headers from the input.
//!
//! Targets that need a header take the input's first line as its value and the rest as the body,
//! so a corpus file is readable: a header line, then the JSON a platform sent.

use recete_events::{EventBody, NormalizeError, NormalizedEvent};

/// The input's first line as a header value (trimmed, as the API reads headers) and the rest.
/// `None` when the line is not UTF-8: the API never passes such a header on.
pub fn header_line(data: &[u8]) -> (Option<&str>, &[u8]) {
    let (line, body) = match data.iter().position(|b| *b == b'\n') {
        Some(end) => (&data[..end], &data[end + 1..]),
        None => (data, &[][..]),
    };
    (std::str::from_utf8(line).ok().map(str::trim), body)
}

/// One of `choices`, chosen by a byte.
pub fn pick<'a>(selector: u8, choices: &[&'a str]) -> &'a str {
    choices[usize::from(selector) % choices.len()]
}

/// What holds for any event a normalizer returns.
pub fn check_event(event: &NormalizedEvent) {
    assert!(!event.topic.is_empty(), "an event without a topic: {event:?}");
    assert!(!event.dedup_key.is_empty(), "an event without a dedup key: {event:?}");
    if let EventBody::Order(order) = &event.body {
        assert!(!order.external_order_id.trim().is_empty(), "an order without an id: {event:?}");
    }
    // The writer stores the normalized form as JSON and workers read it back: a form that does
    // not survive the trip would leave the event unprocessable.
    let stored = serde_json::to_vec(event).expect("a normalized event always serializes");
    let read: NormalizedEvent = match serde_json::from_slice(&stored) {
        Ok(read) => read,
        Err(error) => panic!("a stored event does not read back ({error}): {}", String::from_utf8_lossy(&stored)),
    };
    assert_eq!(&read, event, "an event changed on its way through JSON");
}

/// What holds for any refusal: it names what is wrong.
pub fn check_error(error: &NormalizeError) {
    assert!(!error.to_string().trim().is_empty(), "an error that says nothing: {error:?}");
    if let NormalizeError::InvalidField { field, message } = error {
        assert!(!field.is_empty() && !message.is_empty(), "an invalid field without a name or reason: {error:?}");
    }
}

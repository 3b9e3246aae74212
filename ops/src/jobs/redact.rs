//! Hiding personal data in payloads by key: the value of any key that names a person, a way to
//! reach them or what they wrote becomes `"[redacted]"`, however deep it sits. Keys are compared
//! lower-cased with everything but letters and digits removed, so `First-Name`, `first_name`
//! and `firstName` are one key. A whole object under such a key goes (an `address` object, a
//! WhatsApp `contacts` list). Erring towards hiding is deliberate: an admin can reveal.

use serde_json::Value;

pub(crate) const REDACTED: &str = "[redacted]";

/// Keys hidden wherever the word appears in them (`billing_address`, `customer_email`,
/// `shipping_phone`, `display_name`...).
const PERSONAL_WORDS: &[&str] =
    &["phone", "mobile", "email", "name", "address", "street", "zip", "postcode", "postal", "city", "contact"];

/// Keys hidden only when they are exactly this: short or common words that would hide too much
/// as parts of other keys. `from`, `to`, `wa_id` and `recipient_id` carry WhatsApp numbers.
const PERSONAL_KEYS: &[&str] = &[
    "from",
    "to",
    "waid",
    "recipientid",
    "ip",
    "browserip",
    "clientip",
    "remoteip",
    "latitude",
    "longitude",
    "lat",
    "lng",
    "birthday",
    "birthdate",
    "dateofbirth",
    "dob",
    "body",
    "text",
    "caption",
    "note",
    "notes",
    "customernote",
    "comment",
    "comments",
    "content",
    "company",
    "profile",
    "password",
    "token",
    "accesstoken",
    "secret",
];

/// Whether a key's value is personal.
pub(crate) fn is_personal_key(key: &str) -> bool {
    let folded: String = key.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
    PERSONAL_KEYS.contains(&folded.as_str()) || PERSONAL_WORDS.iter().any(|word| folded.contains(word))
}

/// Replaces every personal value in `value`; returns how many were replaced.
pub(crate) fn redact(value: &mut Value) -> usize {
    match value {
        Value::Object(map) => map
            .iter_mut()
            .map(|(key, inner)| {
                if is_personal_key(key) {
                    *inner = Value::String(REDACTED.to_owned());
                    1
                } else {
                    redact(inner)
                }
            })
            .sum(),
        Value::Array(items) => items.iter_mut().map(redact).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn personal_values_are_hidden_at_any_depth_whatever_the_keys_case() {
        let mut order = json!({
            "id": 820982911946154500_u64,
            "Email": "ada@example.com",
            "customer": { "firstName": "Ada", "LAST_NAME": "Lovelace", "phone": "+905551112233", "orders_count": 3 },
            "billing_address": { "address1": "1 Main St", "city": "Istanbul" },
            "line_items": [{ "sku": "SERUM-30", "quantity": 2, "note": "gift wrap for Ada" }],
            "total_price": "49.90"
        });
        let hidden = redact(&mut order);
        assert_eq!(hidden, 6);
        assert_eq!(order["Email"], REDACTED);
        assert_eq!(order["customer"]["firstName"], REDACTED);
        assert_eq!(order["customer"]["LAST_NAME"], REDACTED);
        assert_eq!(order["customer"]["phone"], REDACTED);
        assert_eq!(order["customer"]["orders_count"], 3);
        assert_eq!(order["billing_address"], REDACTED);
        assert_eq!(order["line_items"][0]["note"], REDACTED);
        assert_eq!(order["line_items"][0]["sku"], "SERUM-30");
        assert_eq!(order["total_price"], "49.90");
    }

    #[test]
    fn whatsapp_numbers_and_message_text_are_hidden() {
        let mut message =
            json!({ "from": "905551112233", "id": "wamid.X", "type": "text", "text": { "body": "Hi, I'm Ada" } });
        redact(&mut message);
        assert_eq!(message, json!({ "from": REDACTED, "id": "wamid.X", "type": "text", "text": REDACTED }));
    }
}

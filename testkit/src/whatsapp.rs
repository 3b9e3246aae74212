//! What Meta's WhatsApp Cloud API webhook sends, in the shape of its reference: one change of
//! field `messages` for a business number.

/// The business number's id in every payload built here (the integrations the tests and
/// benchmarks make use it).
pub const PHONE_NUMBER_ID: &str = "106540352242922";

/// A webhook carrying one inbound text message from `wa_id`, sent `at` (Unix seconds), with the
/// profile name `name`.
pub fn inbound_text(wa_id: &str, name: &str, text: &str, wamid: &str, at: i64) -> Vec<u8> {
    serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": at.to_string(), "type": "text", "text": {"body": text}}]
        }}]}]
    })
    .to_string()
    .into_bytes()
}

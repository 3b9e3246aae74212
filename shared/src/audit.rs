//! The audit trail: every state change records who or what made it, from which event, and the
//! state before and after. Rows hold ids and states, never personal data.

use serde_json::{Map, Value};

use recete_platform::db::Tx;
use recete_platform::ids::{EventId, MerchantId};

pub struct AuditEntry<'a> {
    pub merchant_id: Option<MerchantId>,
    /// `worker:order-events`, `cli`, `api-key:<id>`, `operator:<name>`.
    pub actor: &'a str,
    /// `order.created`, `order.status_changed`, `customer.consent_changed`...
    pub action: &'a str,
    pub subject_type: &'a str,
    pub subject_id: String,
    pub event_id: Option<EventId>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

pub async fn record(tx: &mut Tx, entry: AuditEntry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (merchant_id, actor, action, subject_type, subject_id, event_id, before, after)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(entry.merchant_id)
    .bind(entry.actor)
    .bind(entry.action)
    .bind(entry.subject_type)
    .bind(entry.subject_id)
    .bind(entry.event_id)
    .bind(entry.before)
    .bind(entry.after)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The top-level fields of two JSON objects that differ, as they were and as they are: what a
/// settings change records.
pub fn changed_fields(before: Value, after: Value) -> (Map<String, Value>, Map<String, Value>) {
    let (Value::Object(before), Value::Object(after)) = (before, after) else {
        return (Map::new(), Map::new());
    };
    let changed: Vec<String> =
        after.iter().filter(|(key, value)| before.get(*key) != Some(value)).map(|(key, _)| key.clone()).collect();
    let pick = |from: &Map<String, Value>| {
        changed.iter().map(|key| (key.clone(), from.get(key).cloned().unwrap_or(Value::Null))).collect()
    };
    (pick(&before), pick(&after))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_changed_fields_are_kept() {
        let (before, after) = changed_fields(json!({"a": 1, "b": 2}), json!({"a": 1, "b": 3}));
        assert_eq!(Value::Object(before), json!({"b": 2}));
        assert_eq!(Value::Object(after), json!({"b": 3}));
    }
}

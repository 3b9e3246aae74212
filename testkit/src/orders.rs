//! Many order events, stored fast through the same writer the API uses.

use std::sync::Arc;

use chrono::{Duration, Utc};
use futures_util::StreamExt;
use recete_platform::crypto::Keyring;
use recete_platform::ids::{IntegrationId, MerchantId};
use recete_shared::events::generic;
use recete_shared::events::store::{EventWriter, IncomingEvent, WriterSettings};
use sqlx::PgPool;

/// A generic-API order event for `order_id`, `minutes_ago` old, with one line item.
pub fn generic_order(event_id: &str, order_id: &str, kind: &str, minutes_ago: i64, phone: &str) -> Vec<u8> {
    serde_json::json!({
        "id": event_id,
        "type": kind,
        "occurred_at": (Utc::now() - Duration::minutes(minutes_ago)).to_rfc3339(),
        "order": {
            "id": order_id, "currency": "TRY", "total": "120.00",
            "customer": {"name": "Test Customer", "phone": phone, "country": "TR", "whatsapp_consent": true},
            "items": [{"id": "1", "sku": "SERUM-30", "title": "Vitamin C Serum", "quantity": 1, "unit_price": "120.00"}]
        }
    })
    .to_string()
    .into_bytes()
}

/// Stores `count` new-order events (`order-0`…) for distinct orders and customers.
pub async fn store_new_orders(
    pool: &PgPool,
    keyring: Arc<Keyring>,
    merchant: MerchantId,
    integration: IntegrationId,
    count: usize,
) -> anyhow::Result<()> {
    let (writer, committers) = EventWriter::start(
        pool.clone(),
        keyring,
        WriterSettings { max_batch: 500, writers: 3, queue_capacity: count.max(1) },
    );
    let bodies: Vec<Vec<u8>> = (0..count)
        .map(|i| {
            generic_order(&format!("evt-{i}"), &format!("order-{i}"), "order.created", 10, &format!("+90555{i:07}"))
        })
        .collect();
    let stored: Vec<_> = futures_util::stream::iter(bodies.iter())
        .map(|body| {
            let writer = writer.clone();
            async move {
                let event = generic::normalize(body)?;
                writer
                    .store(IncomingEvent {
                        merchant_id: merchant,
                        integration_id: integration,
                        request_id: None,
                        raw_body: body,
                        event: &event,
                    })
                    .await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(256)
        .collect()
        .await;
    drop(writer);
    for committer in committers {
        committer.await?;
    }
    stored.into_iter().collect()
}

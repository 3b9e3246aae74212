//! Storing many events fast, through the same writer the API uses.

use chrono::{Duration, Utc};
use futures::StreamExt;
use recete_shared::events::generic;
use recete_shared::events::store::{EventWriter, IncomingEvent, WriterSettings};
use recete_shared::ids::MerchantId;
use recete_shared::integrations::{CreatedIntegration, IntegrationKind};

use crate::helpers::TestApp;

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

/// Stores `count` new-order events for distinct orders and customers; returns the integration.
pub async fn store_orders(app: &TestApp, count: usize) -> (MerchantId, CreatedIntegration) {
    let (merchant, integration) = app.merchant_with(IntegrationKind::Generic).await;
    let (writer, committers) = EventWriter::start(
        app.pool.clone(),
        app.keyring.clone(),
        WriterSettings { max_batch: 500, writers: 3, queue_capacity: count.max(1) },
    );
    let bodies: Vec<Vec<u8>> = (0..count)
        .map(|i| {
            generic_order(&format!("evt-{i}"), &format!("order-{i}"), "order.created", 10, &format!("+90555{i:07}"))
        })
        .collect();
    let stored: Vec<_> = futures::stream::iter(bodies.iter())
        .map(|body| {
            let writer = writer.clone();
            let integration_id = integration.integration_id;
            async move {
                let event = generic::normalize(body).expect("valid generic event");
                writer
                    .store(IncomingEvent {
                        merchant_id: merchant,
                        integration_id,
                        request_id: None,
                        raw_body: body,
                        event: &event,
                    })
                    .await
            }
        })
        .buffer_unordered(256)
        .collect()
        .await;
    assert!(stored.iter().all(Result::is_ok), "every event is stored");
    drop(writer);
    for committer in committers {
        committer.await.expect("committer ends");
    }
    (merchant, integration)
}

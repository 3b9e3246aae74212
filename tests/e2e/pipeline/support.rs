use recete_platform::ids::MerchantId;
use recete_shared::integrations::{CreatedIntegration, IntegrationKind};
pub use recete_testkit::orders::generic_order;

use crate::helpers::TestApp;

/// Stores `count` new-order events for distinct orders and customers; returns the integration.
pub async fn store_orders(app: &TestApp, count: usize) -> (MerchantId, CreatedIntegration) {
    let (merchant, integration) = app.merchant_with(IntegrationKind::Generic).await;
    recete_testkit::orders::store_new_orders(
        &app.pool,
        app.keyring.clone(),
        merchant,
        integration.integration_id,
        count,
    )
    .await
    .expect("every event is stored");
    (merchant, integration)
}

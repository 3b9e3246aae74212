//! The merchant API (`/api/...`), authenticated by API key and scoped to the key's merchant by
//! row-level security. Each resource module owns its routes and their OpenAPI annotations.

pub mod analytics;
pub mod api_keys;
pub mod conversations;
pub mod customers;
pub mod event_stream;
pub mod imports;
pub mod integrations;
pub mod json_body;
pub mod messages;
pub mod orders;
pub mod pagination;
pub mod patch;
pub mod privacy;
pub mod products;
pub mod replies;
pub mod settings;
pub mod webhook_endpoints;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Every merchant route, with its part of the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(messages::routes())
        .merge(products::routes())
        .merge(conversations::routes())
        .merge(imports::routes())
        .merge(privacy::routes())
        .merge(customers::routes())
        .merge(orders::routes())
        .merge(analytics::routes())
        .merge(integrations::routes())
        .merge(api_keys::routes())
        .merge(settings::routes())
        .merge(webhook_endpoints::routes())
        .merge(event_stream::routes())
}

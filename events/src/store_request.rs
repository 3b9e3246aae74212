//! What a store's privacy webhook asks, as it travels through the event pipeline. Carrying a
//! request out is database work and lives with the rest of the privacy code.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreRequestKind {
    DataRequest,
    CustomerRedact,
    ShopRedact,
}

/// What a store's privacy webhook asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreRequest {
    pub kind: StoreRequestKind,
    /// The customer meant; `None` for a shop erasure.
    pub customer: Option<StoreCustomer>,
    /// The store's ids of orders the request names (`orders_requested`, `orders_to_redact`).
    pub orders: Vec<String>,
    /// The store's own id of the request, for the merchant to answer it by.
    pub request_id: Option<String>,
    /// The shop that asked (Shopify's myshopify.com domain); absent from requests stored before
    /// shops were recorded.
    #[serde(default)]
    pub shop_domain: Option<String>,
}

/// How a store names a customer; any of the three may match.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreCustomer {
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl StoreCustomer {
    pub fn is_empty(&self) -> bool {
        self.external_id.is_none() && self.email.is_none() && self.phone.is_none()
    }
}

/// Never prints an email or a phone.
impl std::fmt::Debug for StoreCustomer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreCustomer")
            .field("external_id", &self.external_id.as_ref().map(|_| ".."))
            .field("email", &self.email.as_ref().map(|_| ".."))
            .field("phone", &self.phone.as_ref().map(|_| ".."))
            .finish()
    }
}

//! The merchant API (`/api/...`), authenticated by API key and scoped to the key's merchant by
//! row-level security.

pub mod conversations;
mod json_body;
pub mod messages;
pub mod products;

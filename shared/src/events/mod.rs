//! The canonical event: whatever a store or Meta sends becomes one of these.
//!
//! The normalizers are pure and live in the `recete-events` crate, re-exported here so every
//! `recete_shared::events::…` path keeps working; this module adds what needs the database. The
//! raw body is kept beside the normalized form (both sealed, see [`store`]), so a later fix to a
//! normalizer can replay history.
//!
//! # Layout
//! - [`model`]: the canonical types.
//! - [`shopify`], [`woocommerce`], [`generic`], [`whatsapp`]: one normalizer per platform.
//! - [`parse`]: lenient field parsers shared by the normalizers (ids, money, timestamps).
//! - [`store`]: the group-committing writer into `external_events`.

pub mod store;

pub use recete_events::model::*;
pub use recete_events::{NormalizeError, from_json, generic, model, parse, shopify, whatsapp, woocommerce};

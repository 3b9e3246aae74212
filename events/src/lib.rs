//! The canonical event: whatever a store or Meta sends becomes one of these.
//!
//! Each platform has its own module that turns a verified raw body into [`NormalizedEvent`]s.
//! This crate is pure: no database, network or clock beyond `Utc::now()` as a last-resort event
//! time, so it builds in seconds and every parser in it can be fuzzed on its own. Normalizers
//! never panic on input: every problem becomes a [`NormalizeError`] naming the field at fault.
//!
//! # Layout
//! - [`model`]: the canonical types.
//! - [`shopify`] (with its privacy webhooks), [`woocommerce`], [`generic`], [`whatsapp`]: one
//!   normalizer per platform.
//! - [`store_request`]: what a store's privacy webhook asks.
//! - [`parse`]: lenient field parsers shared by the normalizers (ids, money, timestamps).
//! - [`signature_headers`]: the signature headers each sender uses, read into MAC bytes and
//!   timestamps before any MAC is compared.
#![forbid(unsafe_code)]

pub mod generic;
pub mod model;
pub mod parse;
pub mod shopify;
pub mod signature_headers;
pub mod store_request;
pub mod whatsapp;
pub mod woocommerce;

pub use model::*;

/// Why a verified body could not become an event. Each maps to a client error, never a 5xx.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormalizeError {
    /// The body is not JSON at all (400).
    #[error("body is not valid JSON: {0}")]
    Malformed(String),
    /// A field is missing or has the wrong type (422); `field` is a JSON path like `line_items[0].quantity`.
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    /// A required header is missing or empty (400).
    #[error("missing or empty header {0}")]
    MissingHeader(&'static str),
}

impl NormalizeError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidField { field: field.into(), message: message.into() }
    }
}

/// Deserializes JSON, naming the path of any field that does not fit.
pub fn from_json<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Result<T, NormalizeError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = strip_position(&inner.to_string());
                NormalizeError::invalid(field_path(&path, &message), message)
            }
            _ => NormalizeError::Malformed(inner.to_string()),
        }
    })
}

/// The path of the field at fault; for a missing field, the path of the field itself rather than
/// of the object that lacks it.
fn field_path(path: &str, message: &str) -> String {
    let missing = message.strip_prefix("missing field `").and_then(|rest| rest.strip_suffix('`'));
    match (path, missing) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => "body".to_owned(),
        (parent, Some(name)) => format!("{parent}.{name}"),
        (parent, None) => parent.to_owned(),
    }
}

/// serde_json appends "at line 1 column 42" to data errors; the field path already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

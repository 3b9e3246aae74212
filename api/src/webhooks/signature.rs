//! Parsers for the signature headers each sender uses. They are pure and live in
//! `recete_events::signature_headers`, where they are fuzzed without the server around them.

pub use recete_events::signature_headers::{ReceteSignature, base64_mac, hub_signature};

//! Follow-up messages after delivery: the merchant's plan, when a message may go out, and in
//! which time zone a customer lives.
//!
//! # Layout
//! - [`plan`]: the follow-up plan and messaging rules in a merchant's settings.
//! - [`planning`]: one task per (order, step) on delivery, cancelled when it no longer applies.
//! - [`planned`]: reading planned messages back with what became of each (the order timeline).
//! - [`timing`]: the pure decision "send now, defer until, or cancel" for a due message.
//! - [`zones`]: a customer's time zone from their country.

pub mod plan;
pub mod planned;
pub mod planning;
pub mod timing;
pub mod zones;

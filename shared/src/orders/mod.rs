//! Orders: their states, and how a normalized commerce event changes them.
//!
//! # Layout
//! - [`status`]: the state machine, a pure function of (current, target, is the event newer).
//! - [`apply`]: applying one event inside the caller's transaction (customer, order, items,
//!   audit rows), idempotent per event.
//! - [`read`]: the merchant's order list and one order with its items.
//! - [`assume_delivered`]: delivery inferred for stores that never report it.
//! - [`resume`]: follow-ups an opt-out cancelled, given back when consent is granted again.

pub mod apply;
pub mod assume_delivered;
pub mod read;
pub mod resume;
pub mod status;

pub use status::OrderStatus;
